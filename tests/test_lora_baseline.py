"""The LoRA row of benchmarks/distill_quality.py: same trainable count as the liquid blocks,
on the same layers, starting exactly at the base model."""

import pytest
import torch
from bench_helpers import load_benchmark
from tiny_models import VOCAB, tiny_model

pytest.importorskip("peft")


def _bench():
    return load_benchmark("distill_quality")


def test_lora_rank_matches_the_parameter_budget_and_starts_at_the_base():
    bench = _bench()
    ids = torch.randint(0, VOCAB, (2, 12))
    base = tiny_model("llama")
    with torch.no_grad():
        before = base(input_ids=ids).logits
    model, rank = bench.lora_model(base, [1], 5000, bench.LORA_TARGETS)
    lora = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert lora and all("lora_" in n for n in lora)
    assert all(".layers.1." in n for n in lora)  # only the layers that the liquid rows replace
    per_rank = sum(p.numel() for p in lora.values()) // rank
    assert abs(sum(p.numel() for p in lora.values()) - 5000) <= per_rank / 2 + 1
    with torch.no_grad():  # LoRA's B starts at zero: the row starts at the base model
        assert torch.allclose(model(input_ids=ids).logits, before, atol=1e-6)
    with pytest.raises(ValueError, match="no .* Linear modules"):
        bench.lora_model(tiny_model("llama"), [7], 5000, bench.LORA_TARGETS)

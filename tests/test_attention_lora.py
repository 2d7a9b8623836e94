"""The attention LoRA of the liquified blocks (LiquidConfig.attention_lora, LoLCATs): starts as
the model it wraps, trains with the liquid blocks at its own rate, travels in the adapter."""

import copy
import json

import pytest
import torch
from safetensors.torch import load_file
from tiny_models import VOCAB, greedy, padded_prompts, tiny_model

from liquidcare.surgery import (
    AdapterError,
    LiquidConfig,
    LiquidConfigError,
    LoRALinear,
    liquid_state_dict,
    liquify,
    load_liquid,
    lora_modules,
    read_adapter_config,
    save_liquid,
)
from liquidcare.train import DistillConfig, StageConfig, capture, evaluate, stage2
from liquidcare.train.distill import _optimizer

LORA = {"r": 4, "alpha": 8}
CFG = LiquidConfig(cell="cfc", wiring="ncp", units=16, layers="last:1", linear_skip=True,
                   attention_lora=LORA)


def _logits(model):
    ids, mask = padded_prompts()
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits


def _moved(model, scale: float = 0.05):
    with torch.no_grad():  # stand-in for training: every trainable weight off its init
        for p in model.parameters():
            if p.requires_grad:
                p.add_(scale * torch.randn_like(p))
    return model


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gpt2"])
def test_zero_init_leaves_the_logits_of_the_unmodified_model(arch):
    # parallel placement starts at the base too, so any change would be the LoRA's
    base = tiny_model(arch)
    cfg = LiquidConfig(units=16, placement="parallel", attention_lora=LORA)
    model = liquify(tiny_model(arch), cfg)
    assert torch.equal(_logits(model), _logits(base))
    wrapped = lora_modules(model)
    assert set(wrapped) == set(model.liquid_info.lora_targets) and len(wrapped) >= 4
    for m in wrapped.values():
        assert m.lora_B.abs().sum() == 0 and m.lora_A.abs().sum() > 0 and m.scale == 2.0
    # and once B moves, the logits do
    with torch.no_grad():
        next(iter(wrapped.values())).lora_B.fill_(0.1)
    assert not torch.allclose(_logits(model), _logits(base))


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_cached_generate_with_a_trained_lora_equals_full_recompute(arch):
    model = _moved(liquify(tiny_model(arch), LiquidConfig(units=16, attention_lora=LORA)))
    ids, mask = padded_prompts()
    assert torch.equal(greedy(model, ids, mask, use_cache=True),
                       greedy(model, ids, mask, use_cache=False))


def test_lora_linear_computes_the_base_plus_the_scaled_low_rank_update():
    base = torch.nn.Linear(6, 5)
    lora = LoRALinear(base, r=2, alpha=6.0)
    with torch.no_grad():
        lora.lora_B.normal_()
    x = torch.randn(3, 4, 6)
    want = base(x) + 3.0 * (x @ lora.lora_A.T @ lora.lora_B.T)
    torch.testing.assert_close(lora(x), want)
    assert lora.weight is base.weight and not lora.weight.requires_grad  # the same, frozen
    with pytest.raises(LiquidConfigError, match="not Embedding"):
        LoRALinear(torch.nn.Embedding(4, 4), r=2, alpha=2.0)


def test_only_the_liquified_layers_get_a_lora_and_only_added_parameters_train():
    base = tiny_model("llama")
    model = liquify(copy.deepcopy(base), CFG)  # last:1 of 2 layers
    assert model.liquid_info.lora_targets == [f"model.layers.1.self_attn.{p}_proj"
                                              for p in "qkvo"]
    assert not any(isinstance(m, LoRALinear) for m in model.model.layers[0].modules())
    frozen = dict(base.named_parameters())
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and not trainable & set(frozen)  # the base's own names stay frozen
    assert all(".liquid." in n or ".lora_" in n for n in trainable)
    assert {n for n in trainable if ".lora_" in n} == {
        f"model.layers.1.self_attn.{p}_proj.lora_{m}" for p in "qkvo" for m in "AB"}
    assert set(liquid_state_dict(model)) == trainable
    # the base's weights keep their names under the wrapper
    assert "model.layers.1.self_attn.q_proj.weight" in dict(model.named_parameters())


def test_the_optimizer_gives_the_lora_its_own_rate():
    model = liquify(tiny_model("llama"), CFG)
    opt = _optimizer(model, StageConfig(lr=3e-2, skip_lr_scale=0.5, lora_lr=2e-4))
    lora = {id(p) for n, p in model.named_parameters() if ".lora_" in n}
    rates = {}
    for group in opt.param_groups:
        for p in group["params"]:
            rates[id(p)] = group["lr"]
    assert {rates[i] for i in lora} == {2e-4}
    assert set(rates.values()) == {3e-2, 1.5e-2, 2e-4}
    assert StageConfig().lora_lr == 1e-3
    with pytest.raises(LiquidConfigError, match="lora_lr"):
        StageConfig(lora_lr=0)


def test_save_then_load_gives_identical_logits_and_carries_the_lora(tmp_path):
    model = _moved(liquify(tiny_model("llama"), CFG))
    out = save_liquid(model, tmp_path / "adapter")
    saved = load_file(str(out / "liquid_model.safetensors"))
    assert {k for k in saved if ".lora_" in k} == {
        f"model.layers.1.self_attn.{p}_proj.lora_{m}" for p in "qkvo" for m in "AB"}
    # no frozen base weight: everything else is a liquid block's
    assert all(".lora_" in k or ".mlp.liquid." in k for k in saved)
    meta = json.loads((out / "liquid_config.json").read_text())
    assert meta["liquid_config"]["attention_lora"] == {
        "r": 4, "alpha": 8.0, "targets": CFG.attention_lora["targets"]}
    assert read_adapter_config(out)["liquid_config"] == CFG
    torch.manual_seed(123)  # another random init of A: the file must overwrite it
    loaded = load_liquid(tiny_model("llama"), out)
    assert torch.equal(_logits(loaded), _logits(model))


def test_an_adapter_without_lora_still_loads_and_has_none(tmp_path):
    cfg = LiquidConfig(cell="cfc", wiring="ncp", units=16, layers="last:1")
    out = save_liquid(_moved(liquify(tiny_model("llama"), cfg)), tmp_path / "a")
    meta = json.loads((out / "liquid_config.json").read_text())
    del meta["liquid_config"]["attention_lora"]  # as adapters written before the option
    (out / "liquid_config.json").write_text(json.dumps(meta))
    loaded = load_liquid(tiny_model("llama"), out)
    assert loaded.liquid_info.config.attention_lora is None and not lora_modules(loaded)


@pytest.mark.parametrize("edit,message", [
    (lambda lora: lora.update(r=8), r"lora_A has shape \(4, 32\), the model expects \(8, 32\)"),
    (lambda lora: lora.update(targets=["q_proj"]), r"unexpected \['model.layers.1.self_attn.k"),
    (lambda lora: lora.update(rank=4), r"attention_lora: unknown key\(s\) \['rank'\]"),
])
def test_a_mismatched_lora_config_is_refused_by_name(tmp_path, edit, message):
    out = save_liquid(_moved(liquify(tiny_model("llama"), CFG)), tmp_path / "a")
    meta = json.loads((out / "liquid_config.json").read_text())
    edit(meta["liquid_config"]["attention_lora"])
    (out / "liquid_config.json").write_text(json.dumps(meta))
    with pytest.raises(AdapterError, match=message):
        load_liquid(tiny_model("llama"), out)


def test_lora_weights_missing_from_the_file_are_refused(tmp_path):
    cfg = LiquidConfig(cell="cfc", wiring="ncp", units=16, layers="last:1")
    out = save_liquid(_moved(liquify(tiny_model("llama"), cfg)), tmp_path / "a")
    meta = json.loads((out / "liquid_config.json").read_text())
    meta["liquid_config"]["attention_lora"] = LORA  # the config says LoRA, the file has none
    (out / "liquid_config.json").write_text(json.dumps(meta))
    with pytest.raises(AdapterError, match=r"missing \['model.layers.1.self_attn.k_proj.lora_A"):
        load_liquid(tiny_model("llama"), out)


@pytest.mark.parametrize("spec,message", [
    ({"rank": 8}, r"unknown key\(s\) \['rank'\]"),
    ({"r": 0}, r"attention_lora.r=0: expected a positive int"),
    ({"r": True}, r"attention_lora.r=True"),
    ({"r": 4, "alpha": -1}, r"attention_lora.alpha=-1"),
    ({"targets": []}, r"attention_lora.targets=\[\]"),
    ({"targets": [3]}, r"attention_lora.targets=\[3\]"),
    (8, r"attention_lora=8: expected None or a mapping"),
])
def test_bad_attention_lora_values_are_refused_by_name(spec, message):
    with pytest.raises(LiquidConfigError, match=message):
        LiquidConfig(attention_lora=spec)
    with pytest.raises(LiquidConfigError, match=message):
        LiquidConfig.from_dict({"attention_lora": spec})


def test_the_config_fills_in_defaults_and_round_trips():
    cfg = LiquidConfig(attention_lora={"r": 6, "targets": "q_proj"})
    assert cfg.attention_lora == {"r": 6, "alpha": 12.0, "targets": ["q_proj"]}
    assert LiquidConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert LiquidConfig().attention_lora is None


def test_gpt2_wraps_its_conv1d_attention_and_names_the_architecture_when_nothing_matches():
    model = liquify(tiny_model("gpt2"), LiquidConfig(units=16, layers="last:1",
                                                     attention_lora=LORA))
    # attention's c_attn and c_proj; the MLP's own c_proj (gone with the MLP) is not touched
    assert model.liquid_info.lora_targets == ["transformer.h.1.attn.c_attn",
                                              "transformer.h.1.attn.c_proj"]
    assert all(m.transposed for m in lora_modules(model).values())
    with pytest.raises(LiquidConfigError, match=r"GPT2LMHeadModel.*'attn.c_attn'"):
        liquify(tiny_model("gpt2"), LiquidConfig(units=16, attention_lora={
            "targets": ["q_proj", "v_proj"]}))
    with pytest.raises(LiquidConfigError, match="is a GPT2Attention, not a Linear"):
        liquify(tiny_model("gpt2"), LiquidConfig(units=16, attention_lora={"targets": ["attn"]}))


def test_a_short_stage2_moves_the_lora_with_the_liquid_blocks_and_nothing_else():
    base = tiny_model("llama")
    g = torch.Generator().manual_seed(0)
    train = capture(base, torch.randint(3, VOCAB, (16, 32), generator=g), CFG, progress=False)
    val = capture(base, torch.randint(3, VOCAB, (4, 32), generator=g), CFG, progress=False)
    torch.manual_seed(0)
    model = liquify(copy.deepcopy(base), CFG)
    surgery = evaluate(model, val)["kl"]
    cfg = DistillConfig(stage2=StageConfig(steps=30, lr=1e-2, lora_lr=1e-2), kl_positions=32)
    stage2(model, train, cfg, progress=False)
    assert evaluate(model, val)["kl"] < surgery
    for name, m in lora_modules(model).items():
        assert m.lora_B.abs().max() > 0, f"{name}: B never left zero"
    frozen = dict(base.named_parameters())
    for name, p in model.named_parameters():
        if name in frozen:
            assert torch.equal(p, frozen[name]), f"{name} moved"


def test_the_federated_wire_carries_the_lora_tensors():
    from liquidcare.federated.params import WireError, liquid_arrays, load_arrays

    model = _moved(liquify(tiny_model("llama"), CFG))
    arrays = liquid_arrays(model)
    assert sum(".lora_" in k for k in arrays) == 8
    other = liquify(tiny_model("llama"), CFG)
    load_arrays(other, arrays)
    assert torch.equal(_logits(other), _logits(model))
    plain = liquify(tiny_model("llama"), LiquidConfig(cell="cfc", wiring="ncp", units=16,
                                                      layers="last:1", linear_skip=True))
    with pytest.raises(WireError, match="unexpected"):
        load_arrays(plain, arrays)


def test_a_run_config_with_attention_lora_trains_it_and_its_adapter_carries_it(tmp_path):
    """The pipeline's `liquid:` mapping takes attention_lora and `stage2:` takes lora_lr; the run
    folder's adapter reloads with the trained LoRA, and fine-tuning from it moves the LoRA too."""
    import random

    from tiny_models import save_tiny

    from liquidcare.surgery import load_model
    from liquidcare.train.pipeline import RunConfig, run

    rng = random.Random(0)
    corpus = tmp_path / "docs.txt"
    corpus.write_text("\n\n".join(" ".join(f"w{rng.randrange(VOCAB - 3)}"
                                           for _ in range(rng.randrange(20, 60)))
                                  for _ in range(60)))
    tiny = save_tiny(tmp_path / "tiny")
    common = dict(base=str(tiny), corpus=str(corpus), layers="last:1", block_size=16,
                  max_train_tokens=480, max_val_tokens=160, kl_positions=16, samples=0,
                  output_dir=str(tmp_path / "runs"), device="cpu", ood_corpus=None,
                  test_split=None)
    run(RunConfig.from_dict({**common, "name": "d", "liquid": {
        "linear_skip": True, "units": 16, "attention_lora": {"r": 2}},
        "stage2": {"steps": 6, "lr": 1e-2, "lora_lr": 1e-2}}), progress=False)
    model, _ = load_model(str(tmp_path / "runs" / "d"), device="cpu")
    assert model.liquid_info.config.attention_lora["r"] == 2
    trained = {n: m.lora_B.detach().clone() for n, m in lora_modules(model).items()}
    assert len(trained) == 4 and all(b.abs().max() > 0 for b in trained.values())

    run(RunConfig.from_dict({**common, "name": "f", "mode": "finetune",
                             "adapter": str(tmp_path / "runs" / "d"),
                             "finetune": {"steps": 3, "lr": 1e-2, "lora_lr": 1e-2}}),
        progress=False)
    tuned, _ = load_model(str(tmp_path / "runs" / "f"), device="cpu")
    assert any(not torch.equal(m.lora_B, trained[n]) for n, m in lora_modules(tuned).items())


def test_liquify_on_the_command_line_takes_attn_lora(tmp_path, capsys):
    from tiny_models import save_tiny

    from liquidcare import cli
    from liquidcare.surgery import load_model

    tiny = save_tiny(tmp_path / "tiny")
    out = tmp_path / "a"
    assert cli.main(["liquify", "--base", str(tiny), "--units", "16", "--layers", "last:1",
                     "--attn-lora", "3", "--out", str(out), "--device", "cpu"]) == 0
    model, _ = load_model(str(out), device="cpu")
    assert model.liquid_info.config.attention_lora["r"] == 3
    assert {m.r for m in lora_modules(model).values()} == {3}
    assert cli.main(["liquify", "--base", str(tiny), "--attn-lora", "-1", "--out",
                     str(tmp_path / "b")]) == 1
    assert "attention_lora.r=-1" in capsys.readouterr().err

import copy
import math

import pytest
import torch
from tiny_models import VOCAB, tiny_model

from liquidcare.surgery import LiquidConfig, liquid_blocks, liquify
from liquidcare.train import (
    DistillConfig,
    StageConfig,
    capture,
    evaluate,
    final_hidden,
    init_least_squares,
    layer_errors,
    logit_gram,
    perplexity,
    stage1,
    stage2,
    supports_suffix,
)

CFG = LiquidConfig(cell="cfc", wiring="ncp", units=16, layers="last:1", linear_skip=True)


def _blocks(n=6, T=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, VOCAB, (n, T), generator=g)


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_capture_keeps_what_the_teacher_computes(arch):
    base = tiny_model(arch)
    blocks = _blocks()
    acts = capture(base, blocks, LiquidConfig(layers="all"), batch_size=4, progress=False)
    assert acts.layers == [0, 1] and acts.start.shape == (6, 16, 32)
    with torch.no_grad():
        out = base(input_ids=blocks, output_hidden_states=True)
    torch.testing.assert_close(acts.final, out.hidden_states[-1])
    torch.testing.assert_close(acts.start, out.hidden_states[0])
    mlp = base.model.layers[1].mlp if arch == "llama" else base.transformer.h[1].mlp
    torch.testing.assert_close(acts.mlp_out[1], mlp(acts.mlp_in[1]))


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_the_suffix_forward_equals_the_whole_model(arch):
    base = tiny_model(arch)
    blocks = _blocks()
    acts = capture(base, blocks, CFG, progress=False)
    model = liquify(copy.deepcopy(base), CFG)
    assert supports_suffix(model) == (arch == "llama")
    with torch.no_grad():
        want = model(input_ids=blocks, output_hidden_states=True).hidden_states[-1]
        got = final_hidden(model, acts.first_layer, acts.start, blocks)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_least_squares_init_reproduces_a_linear_mlp_exactly():
    base = tiny_model("llama")
    w = torch.randn(32, 32) * 0.1
    for layer in base.model.layers:  # make every MLP linear: least squares must recover it
        layer.mlp = torch.nn.Linear(32, 32)
        with torch.no_grad():
            layer.mlp.weight.copy_(w)
    acts = capture(base, _blocks(n=12, T=32), CFG, progress=False)
    model = liquify(copy.deepcopy(base), CFG)
    residual = init_least_squares(model, acts, ridge=1e-9)
    assert residual[1] < 1e-8
    ffn = liquid_blocks(model)["model.layers.1.mlp"].liquid
    x = acts.mlp_in[1][:2]
    torch.testing.assert_close(ffn(x), acts.mlp_out[1][:2], atol=1e-4, rtol=1e-3)


def test_least_squares_needs_the_skip_and_distillation_refuses_parallel():
    base = tiny_model("llama")
    acts = capture(base, _blocks(), CFG, progress=False)
    with pytest.raises(ValueError, match="linear_skip=True"):
        init_least_squares(liquify(copy.deepcopy(base), CFG.replace(linear_skip=False)), acts)
    with pytest.raises(ValueError, match="parallel"):
        stage1(liquify(copy.deepcopy(base), CFG.replace(placement="parallel")), acts,
               StageConfig(steps=1), progress=False)


def test_logit_gram_gives_the_mean_squared_logit_difference():
    model = tiny_model("llama")
    a, b = torch.randn(5, 32), torch.randn(5, 32)
    head = model.get_output_embeddings()
    la, lb = head(a), head(b)
    want = ((la - la.mean(-1, keepdim=True)) - (lb - lb.mean(-1, keepdim=True))).pow(2).mean(-1)
    d = a - b
    got = ((d @ logit_gram(model)) * d).sum(-1)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_teacher_perplexity_is_the_base_models():
    base = tiny_model("llama")
    blocks = _blocks()
    acts = capture(base, blocks, CFG, progress=False)
    with torch.no_grad():
        loss = base(input_ids=blocks, labels=blocks).loss
    assert perplexity(base, acts, teacher=True) == pytest.approx(math.exp(loss.item()), rel=1e-5)


def test_perplexity_without_the_kl_is_the_same_figure():
    # held-out scoring skips the teacher's logits: the perplexity must not change with it
    base, _, val = _setup()
    model = liquify(copy.deepcopy(base), CFG)
    full, plain = evaluate(model, val), evaluate(model, val, kl=False)
    assert "kl" in full and full["kl"] > 0 and "kl" not in plain
    assert plain["ppl"] == pytest.approx(full["ppl"], rel=1e-6)


def test_scoring_in_chunks_of_rows_gives_the_same_figures(monkeypatch):
    # the liquified blocks run SUFFIX_BATCH rows at a time when scoring: chunks that do not
    # divide the set must give the figures of one pass
    from liquidcare.train import evaluation

    base, _, val = _setup()
    model = liquify(copy.deepcopy(base), CFG)
    whole = evaluate(model, val)
    monkeypatch.setattr(evaluation, "SUFFIX_BATCH", 3)
    chunked = evaluate(model, val)
    assert chunked["ppl"] == pytest.approx(whole["ppl"], rel=1e-5)
    assert chunked["kl"] == pytest.approx(whole["kl"], rel=1e-4)


def _setup():
    base = tiny_model("llama")
    train = capture(base, _blocks(n=16, T=32), CFG, progress=False)
    val = capture(base, _blocks(n=4, T=32, seed=1), CFG, progress=False)
    return base, train, val


def test_least_squares_and_stage1_bring_each_block_towards_its_mlp():
    base, train, val = _setup()
    model = liquify(copy.deepcopy(base), CFG)
    surgery = evaluate(model, val)["kl"]
    init_least_squares(model, train)
    before = layer_errors(model, train)[1]
    stage1(model, train, StageConfig(steps=40, lr=3e-3), progress=False)
    assert layer_errors(model, train)[1] < before
    assert evaluate(model, val)["kl"] < surgery


def test_stage2_brings_the_student_towards_the_teacher_and_moves_only_liquid_weights():
    base, train, val = _setup()
    model = liquify(copy.deepcopy(base), CFG)
    surgery = evaluate(model, val)["kl"]
    cfg = DistillConfig(stage2=StageConfig(steps=40, lr=1e-3), kl_positions=32)
    losses = stage2(model, train, cfg, progress=False)
    assert sum(losses[-5:]) < sum(losses[:5])
    assert evaluate(model, val)["kl"] < surgery  # KL(teacher ‖ student) on held-out blocks
    frozen = dict(base.named_parameters())
    for name, p in model.named_parameters():
        if name in frozen:
            assert torch.equal(p, frozen[name]), f"{name} moved"


def test_the_local_term_keeps_blocks_nearer_their_mlps_in_stage2():
    """Stage 2 with the local term: each block ends closer to its MLP than with stage 2 alone
    (same steps, same data), and the term is what stage 1 measures."""
    from liquidcare.train.local import local_term

    base, train, val = _setup()
    runs = {}
    for weight in (0.0, 5.0):
        torch.manual_seed(0)
        model = liquify(copy.deepcopy(base), CFG)
        init_least_squares(model, train)
        cfg = DistillConfig(stage2=StageConfig(steps=30, lr=1e-2), kl_positions=32,
                            local_weight=weight)
        stage2(model, train, cfg, progress=False, local=train.head(8))
        runs[weight] = layer_errors(model, val)[1]
        term, value = local_term(model, train)(torch.arange(train.n_total))
        assert term.requires_grad and value == pytest.approx(term.item()) and value > 0
    assert runs[5.0] < runs[0.0]
    with pytest.raises(ValueError, match="per-MLP caches of layers"):
        local_term(model, capture(base, _blocks(n=2, T=8), CFG, progress=False, mlp_rows=0))

import copy

import pytest
import torch
from tiny_models import ARCHS, generate_with_logits, greedy, padded_prompts, tiny_model
from torch import nn

from liquidcare.surgery import (
    PRESETS,
    LiquidConfig,
    LiquidConfigError,
    LiquidMLP,
    LiquidStateError,
    TargetNotFoundError,
    find_mlps,
    liquid_blocks,
    liquid_state_dict,
    liquify,
    masked_sequence,
    preset,
    trainable_summary,
)

CELLS_WIRINGS = [(c, w) for c in ("cfc", "ltc", "scan") for w in ("fc", "ncp")]


# --- config ----------------------------------------------------------------------------------
def test_config_refuses_unknown_keys_and_bad_values():
    with pytest.raises(LiquidConfigError, match=r"unknown LiquidConfig key\(s\) \['unit'\]"):
        LiquidConfig.from_dict({"unit": 64})
    with pytest.raises(LiquidConfigError, match="cell='gru'"):
        LiquidConfig(cell="gru")
    with pytest.raises(LiquidConfigError, match="units"):
        LiquidConfig(units=0)
    with pytest.raises(LiquidConfigError, match="layers"):
        LiquidConfig(layers="most")
    with pytest.raises(LiquidConfigError, match="unknown preset 'cfc-gpt5'"):
        preset("cfc-gpt5")


def test_config_round_trips_and_layer_specs():
    cfg = preset("cfc-ncp", layers="last:1", units=16)
    assert LiquidConfig.from_dict(cfg.to_dict()) == cfg
    assert LiquidConfig(layers="3, 1,1").layers == [1, 3]
    model = tiny_model("llama")
    assert [t.layer for t in find_mlps(model, LiquidConfig(layers="last:1"))] == [1]
    assert [t.layer for t in find_mlps(model, LiquidConfig(layers="first:1"))] == [0]
    assert [t.layer for t in find_mlps(model, LiquidConfig(layers=[0, 1]))] == [0, 1]
    with pytest.raises(LiquidConfigError, match="out of range"):
        find_mlps(model, LiquidConfig(layers=[5]))
    with pytest.raises(LiquidConfigError, match="N must be in 1..2"):
        find_mlps(model, LiquidConfig(layers="last:3"))


# --- finding the MLPs -------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ARCHS)
def test_finds_the_mlp_of_every_decoder_block(arch):
    targets = find_mlps(tiny_model(arch))
    assert [t.layer for t in targets] == [0, 1]
    assert all(t.name.endswith(f"{t.layer}.mlp") for t in targets)
    if arch == "gpt2":  # Conv1D c_fc / c_proj
        assert {n for n, _ in targets[0].module.named_children()} >= {"c_fc", "c_proj"}


class _OddBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.Identity()
        self.dense_ff = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))

    def forward(self, x):
        return x + self.dense_ff(x)


class _OddLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.config = type("Cfg", (), {"hidden_size": 16})()
        self.blocks = nn.ModuleList([_OddBlock(), _OddBlock()])

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x


def test_unknown_architecture_lists_candidates_and_target_modules_points_at_them():
    with pytest.raises(TargetNotFoundError) as err:
        find_mlps(_OddLM())
    assert "blocks.N.dense_ff" in str(err.value) and "target_modules" in str(err.value)
    model = liquify(_OddLM(), LiquidConfig(target_modules=["dense_ff"], units=8, mode="token"))
    assert sorted(liquid_blocks(model)) == ["blocks.0.dense_ff", "blocks.1.dense_ff"]
    assert model(torch.randn(2, 5, 16)).shape == (2, 5, 16)


# --- placement, freezing ----------------------------------------------------------------------
@pytest.mark.parametrize("cell,wiring", CELLS_WIRINGS)
def test_parallel_placement_starts_at_the_base_models_logits(cell, wiring):
    base = tiny_model("llama")
    reference = copy.deepcopy(base)
    model = liquify(base, LiquidConfig(cell=cell, wiring=wiring, units=16, placement="parallel"))
    ids, mask = padded_prompts()
    with torch.no_grad():
        want = reference(input_ids=ids, attention_mask=mask).logits
        got = model(input_ids=ids, attention_mask=mask).logits
    assert torch.equal(got, want)


def test_replace_swaps_the_mlp_and_freezes_the_base(capsys):
    model = tiny_model("llama")
    total_before = sum(p.numel() for p in model.parameters())
    mlp_params = sum(p.numel() for t in find_mlps(model) for p in t.module.parameters())
    liquify(model, LiquidConfig(units=16, layers="last:1"))
    blocks = liquid_blocks(model)
    assert list(blocks) == ["model.layers.1.mlp"] and blocks["model.layers.1.mlp"].mlp is None
    assert not isinstance(model.model.layers[0].mlp, LiquidMLP)
    liquid = sum(p.numel() for p in blocks["model.layers.1.mlp"].parameters())
    summary = trainable_summary(model)
    assert "trainable params" in capsys.readouterr().out
    assert summary.trainable == liquid
    assert summary.total == total_before - mlp_params // 2 + liquid
    assert all(n.startswith("model.layers.1.mlp.liquid.") for n in liquid_state_dict(model))


def test_train_norms_unfreezes_only_the_liquified_blocks_norms():
    model = liquify(tiny_model("llama"), LiquidConfig(units=16, layers="last:1", train_norms=True))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "model.layers.1.input_layernorm.weight" in trainable
    assert "model.layers.1.post_attention_layernorm.weight" in trainable
    assert "model.layers.0.input_layernorm.weight" not in trainable
    assert "model.norm.weight" not in trainable


def test_liquify_twice_is_refused():
    model = liquify(tiny_model("llama"), LiquidConfig(units=16))
    with pytest.raises(ValueError, match="already liquified"):
        liquify(model, LiquidConfig(units=16))


# --- the presets on their architectures: forward, backward, generate ---------------------------
PRESET_ARCH = {
    "cfc-fc-gpt2": "gpt2",
    "cfc-ncp-gpt2": "gpt2",
    "ltc-fc-gpt2": "gpt2",
    "ltc-ncp-gpt2": "gpt2",
    "cfc-fc-mistral": "mistral",
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_trains_and_generates_on_a_tiny_model_of_its_architecture(name):
    arch = PRESET_ARCH.get(name, "llama")
    model = liquify(tiny_model(arch), preset(name))
    ids, mask = padded_prompts((6, 4))
    out = model(input_ids=ids, attention_mask=mask, labels=ids)
    out.loss.backward()
    for n, p in model.named_parameters():
        if ".liquid." in n:
            assert p.grad is not None and torch.isfinite(p.grad).all(), n
        else:
            assert p.grad is None, n
    tokens = greedy(model, ids, mask, new_tokens=3)
    assert tokens.shape == (2, 3)


# --- cached decoding --------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["llama", "gpt2"])
@pytest.mark.parametrize("cell,wiring", CELLS_WIRINGS)
def test_cached_generate_equals_full_recompute_and_each_prompt_alone(arch, cell, wiring):
    model = liquify(tiny_model(arch), LiquidConfig(cell=cell, wiring=wiring, units=16))
    ids, mask = padded_prompts()
    cached, cached_logits = generate_with_logits(model, ids, mask, use_cache=True)
    recomputed, recomputed_logits = generate_with_logits(model, ids, mask, use_cache=False)
    assert torch.equal(cached, recomputed)
    torch.testing.assert_close(cached_logits, recomputed_logits, atol=1e-5, rtol=1e-4)
    for row in range(ids.shape[0]):
        # padding must not reach the liquid state: a padded prompt decodes as if run alone
        alone = ids[row : row + 1, mask[row].bool()]
        tokens, logits = generate_with_logits(model, alone, torch.ones_like(alone))
        assert torch.equal(tokens[0], cached[row])
        torch.testing.assert_close(logits[0], cached_logits[row], atol=1e-5, rtol=1e-4)


def test_cached_generate_with_mixed_memory_and_token_mode_and_beams():
    for cfg in (
        LiquidConfig(units=16, cell_options={"mixed_memory": True}),
        LiquidConfig(units=16, mode="token"),
    ):
        model = liquify(tiny_model("llama"), cfg)
        ids, mask = padded_prompts()
        assert torch.equal(greedy(model, ids, mask), greedy(model, ids, mask, use_cache=False))
    model = liquify(tiny_model("llama"), LiquidConfig(units=16))
    beams = {}
    for use_cache in (True, False):
        beams[use_cache] = model.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=8, min_new_tokens=8, num_beams=3,
            do_sample=False, pad_token_id=0, use_cache=use_cache, output_scores=True,
            return_dict_in_generate=True,
        )
    assert torch.equal(beams[True].sequences, beams[False].sequences)
    torch.testing.assert_close(
        beams[True].sequences_scores, beams[False].sequences_scores, atol=1e-5, rtol=1e-4
    )


def test_decoding_feeds_each_liquid_block_one_token_per_step():
    model = liquify(tiny_model("llama"), LiquidConfig(units=16))
    seen: list[int] = []
    block = liquid_blocks(model)["model.layers.0.mlp"].liquid
    block.register_forward_hook(lambda m, args, out: seen.append(args[0].shape[1]))
    ids, mask = padded_prompts((9,))
    greedy(model, ids, mask, new_tokens=5)
    assert seen == [9, 1, 1, 1, 1]


def test_a_cache_the_liquid_model_did_not_fill_is_refused():
    base = tiny_model("llama")
    model = liquify(copy.deepcopy(base), LiquidConfig(units=16))
    ids = torch.randint(3, 96, (1, 5))
    cache = base(input_ids=ids, use_cache=True).cache
    with pytest.raises(LiquidStateError, match="holds 5 tokens"):
        model(input_ids=ids[:, :1], cache=cache)


def test_a_forward_with_use_cache_can_be_continued_by_hand():
    model = liquify(tiny_model("llama"), LiquidConfig(units=16))
    ids = torch.randint(3, 96, (2, 8))
    with torch.no_grad():
        full = model(input_ids=ids).logits
        first = model(input_ids=ids[:, :5], use_cache=True)
        rest = model(input_ids=ids[:, 5:], cache=first.cache, use_cache=True).logits
    torch.testing.assert_close(rest, full[:, 5:], atol=1e-5, rtol=1e-5)


def test_masked_sequence_leaves_the_state_alone_on_padding():
    from liquidcare.liquid import LiquidFFN

    ffn = LiquidFFN(16, "cfc", units=8)
    x = torch.randn(2, 6, 16)
    mask = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=torch.bool)
    y, state = masked_sequence(ffn, x, None, mask)
    alone0, s0 = ffn(x[:1, 2:], return_state=True)
    alone1, s1 = ffn(x[1:, :3], return_state=True)
    torch.testing.assert_close(y[0, 2:], alone0[0])
    torch.testing.assert_close(y[1, :3], alone1[0])
    assert (y[0, :2] == 0).all() and (y[1, 3:] == 0).all()
    torch.testing.assert_close(state, torch.cat([s0, s1]))

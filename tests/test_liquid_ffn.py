"""LiquidFFN: the MLP's interface, causal, resumable decode state, token mode, zero init."""

import itertools

import pytest
import torch

from liquidcare.liquid import LiquidFFN

COMBOS = list(itertools.product(["cfc", "ltc", "scan"], ["fc", "ncp"]))


@pytest.mark.parametrize("cell,wiring", COMBOS)
@pytest.mark.parametrize("mode", ["sequence", "token"])
def test_shape_and_gradients(cell, wiring, mode):
    block = LiquidFFN(32, cell, wiring, units=16, mode=mode)
    x = torch.randn(2, 7, 32, requires_grad=True)
    y = block(x)
    assert y.shape == x.shape
    y.square().mean().backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in block.parameters() if p.requires_grad)


@pytest.mark.parametrize("cell,wiring", COMBOS)
def test_sequence_mode_resumes_from_its_state(cell, wiring):
    """Prefill then token-by-token decode with the carried state == one pass over everything:
    the property cached decoding rests on."""
    block = LiquidFFN(24, cell, wiring, units=16)
    x = torch.randn(3, 9, 24)
    full = block(x)
    y, state = block(x[:, :5], return_state=True)
    outs = [y]
    for t in range(5, 9):
        y, state = block(x[:, t : t + 1], state, return_state=True)
        outs.append(y)
    assert torch.allclose(torch.cat(outs, 1), full, atol=1e-5)


@pytest.mark.parametrize("cell,wiring", COMBOS)
def test_causal(cell, wiring):
    block = LiquidFFN(16, cell, wiring, units=12)
    x = torch.randn(2, 8, 16)
    x2 = x.clone()
    x2[:, 4:] = torch.randn(2, 4, 16)
    assert torch.allclose(block(x)[:, :4], block(x2)[:, :4], atol=1e-6)


@pytest.mark.parametrize("cell", ["cfc", "ltc", "scan"])
def test_token_mode_treats_each_token_alone(cell):
    block = LiquidFFN(16, cell, units=12, mode="token")
    x = torch.randn(2, 6, 16)
    perm = torch.randperm(6)
    assert torch.allclose(block(x)[:, perm], block(x[:, perm]), atol=1e-6)
    assert block.init_state(2) is None


@pytest.mark.parametrize("cell", ["cfc", "ltc", "scan"])
def test_zero_init_outputs_exact_zero_and_still_learns(cell):
    block = LiquidFFN(16, cell, units=12, zero_init=True)
    x = torch.randn(2, 5, 16)
    y = block(x)
    assert torch.equal(y, torch.zeros_like(y))
    (y - x).square().mean().backward()
    assert block.out_proj.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"cell": "gru"}, "cell"),
        ({"wiring": "random"}, "wiring"),
        ({"units": 0}, "units"),
        ({"mode": "bidirectional"}, "mode"),
        ({"wiring": "ncp", "units": 4, "motor_neurons": 3}, "NCP"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LiquidFFN(16, **kwargs)


def test_wrong_width_is_named():
    with pytest.raises(ValueError, match="16"):
        LiquidFFN(16)(torch.randn(1, 3, 8))


@pytest.mark.parametrize("cell", ["cfc", "ltc", "scan"])
def test_decode_weight_memo_follows_parameter_updates(cell):
    """Without grad, masked/concatenated weights are memoised for decoding; an optimizer step
    (in-place on the parameters) must invalidate them."""
    ffn = LiquidFFN(16, cell, "ncp", units=12)
    x = torch.randn(2, 1, 16)
    with torch.no_grad():
        before = ffn(x)
        for p in ffn.liquid.parameters():
            p.add_(0.1)
        after = ffn(x)
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, ffn(x).detach())  # grad-enabled path, no memo


def test_linear_skip_starts_as_a_no_op_and_adds_a_linear_map():
    plain = LiquidFFN(16, "cfc", units=8)
    skipped = LiquidFFN(16, "cfc", units=8, linear_skip=True)
    skipped.load_state_dict({**plain.state_dict(), **{
        k: v for k, v in skipped.state_dict().items() if k.startswith("skip.")}})
    x = torch.randn(2, 5, 16)
    torch.testing.assert_close(skipped(x), plain(x))
    with torch.no_grad():
        skipped.skip.weight.copy_(torch.eye(16))
    torch.testing.assert_close(skipped(x), plain(x) + x)
    y, state = skipped(x[:, :3], return_state=True)  # the skip is stateless: decoding still works
    y2, _ = skipped(x[:, 3:], state, return_state=True)
    torch.testing.assert_close(torch.cat([y, y2], 1), skipped(x))

"""LTC: exact against ncps.torch, recomputing backward == plain backprop, memory bounded."""

import pytest
import torch
from ncps.torch import LTC as NcpsLTC
from ncps.wirings import AutoNCP

from liquidcare.liquid import LTC

TOL = 1e-5

CONFIGS = [
    ("fc", {}),
    ("fc-explicit-constraints", {"implicit_param_constraints": False}),
    ("fc-mixed", {"mixed_memory": True}),
    ("fc-linear-maps", {"input_mapping": "linear", "output_mapping": "none"}),
    ("fc-3-unfolds", {"ode_unfolds": 3}),
    ("ncp", {"wiring": True}),
    ("ncp-mixed", {"wiring": True, "mixed_memory": True}),
]


def _pair(cfg: dict, input_size: int = 6, units: int = 12):
    cfg = dict(cfg)
    wired = cfg.pop("wiring", False)
    ref = NcpsLTC(input_size, AutoNCP(units, 4) if wired else units, **cfg)
    return ref, LTC.from_ncps(ref)


@pytest.mark.parametrize("with_ts", [False, True], ids=["dt1", "timespans"])
@pytest.mark.parametrize("name,cfg", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_matches_ncps_outputs_and_plain_backprop_gradients(name, cfg, with_ts):
    """ncps stores every unfold for backprop; ours recomputes. Same outputs, same gradients."""
    ref, ours = _pair(cfg)
    batch = 1 if with_ts else 3  # ncps broadcasts timespans right only for batch 1
    x = torch.randn(batch, 7, 6, requires_grad=True)
    ts = torch.rand(batch, 7, 1) + 0.5 if with_ts else None
    y_ref, _ = ref(x, timespans=ts)
    y, _ = ours(x, timespans=ts)
    assert (y - y_ref).abs().max() <= TOL
    names = [n for n, p in ref.named_parameters() if p.requires_grad]
    ref_p, our_p = dict(ref.named_parameters()), dict(ours.named_parameters())
    g_ref = torch.autograd.grad(y_ref.square().sum(), [x] + [ref_p[n] for n in names])
    g = torch.autograd.grad(
        y.square().sum(), [x] + [our_p[n.replace("rnn_cell.", "")] for n in names]
    )
    for n, a, b in zip(["input"] + names, g_ref, g, strict=True):
        assert (a - b).abs().max() <= TOL * max(1.0, a.abs().max().item()), n


@pytest.mark.parametrize("cfg", [{}, {"wiring": True}], ids=["fc", "ncp"])
def test_batched_timespans_equal_per_sample_runs(cfg):
    _, ours = _pair(cfg)
    x = torch.randn(12, 5, 6)  # batch == units: ncps would mix samples here
    ts = torch.rand(12, 5) + 0.3
    y, _ = ours(x, timespans=ts)
    for b in range(12):
        assert torch.allclose(y[b], ours(x[b : b + 1], timespans=ts[b : b + 1])[0][0], atol=1e-6)


@pytest.mark.parametrize("name,cfg", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_forward_equals_repeated_step(name, cfg):
    _, ours = _pair(cfg)
    x = torch.randn(2, 6, 6)
    ts = torch.rand(2, 6) + 0.5
    y, _ = ours(x, timespans=ts)
    state = None
    for t in range(6):
        y_t, state = ours.step(x[:, t], state, timespan=ts[:, t])
        assert torch.allclose(y_t, y[:, t], atol=1e-6)


def test_causal():
    _, ours = _pair({"wiring": True})
    x = torch.randn(2, 9, 6)
    x2 = x.clone()
    x2[:, 5:] = torch.randn(2, 4, 6)
    y, y2 = ours(x)[0], ours(x2)[0]
    assert torch.equal(y[:, :5], y2[:, :5]) and not torch.allclose(y[:, 5:], y2[:, 5:])


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gradients_finite(dtype):
    _, ours = _pair({"wiring": True})
    ours = ours.to(dtype)
    x = torch.randn(3, 16, 6, dtype=dtype, requires_grad=True)
    ours(x, timespans=torch.rand(3, 16, dtype=dtype) + 0.5)[0].float().square().mean().backward()
    grads = [x.grad] + [p.grad for p in ours.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def _saved_bytes(module, x) -> int:
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(x)[0].sum()
    return total


def test_memory_grows_with_state_not_with_units_squared_times_time():
    """What backward keeps: O(time × unfolds × batch × units) — no (units × units) per step."""
    B, F, H, K = 2, 8, 48, 6
    ours = LTC(F, H, ode_unfolds=K)
    short = _saved_bytes(ours, torch.randn(B, 10, F))
    long = _saved_bytes(ours, torch.randn(B, 40, F))
    per_step = (long - short) / 30
    # Potentials and denominators per unfold, states, inputs and cm: a few (B, H) rows per step.
    assert per_step <= (2 * K + 4) * B * (H + F) * 4
    # ncps keeps several (B, H, H) synapse tensors per unfold: far more than ours.
    assert per_step * 10 < K * B * H * H * 4


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"input_size": 4, "units": 0}, "units"),
        ({"input_size": 4, "units": 8, "ode_unfolds": 0}, "ode_unfolds"),
        ({"input_size": 4, "units": 8, "input_mapping": "cubic"}, "input_mapping"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LTC(**kwargs)


def test_wiring_built_for_other_input_size():
    wiring = AutoNCP(12, 4)
    wiring.build(9)
    with pytest.raises(ValueError, match="input_size"):
        LTC(6, wiring)

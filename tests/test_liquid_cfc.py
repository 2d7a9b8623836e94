"""CfC: exact against ncps.torch (the oracle), forward == step, causal, any batch with timespans."""

import pytest
import torch
from conftest import max_grad_diff, ncps_to_ours_name
from ncps.torch import CfC as NcpsCfC
from ncps.wirings import AutoNCP, FullyConnected

from liquidcare.liquid import CfC

TOL = 1e-5

CONFIGS = [
    ("fc-default", {}),
    ("fc-pure", {"mode": "pure"}),
    ("fc-no_gate", {"mode": "no_gate"}),
    ("fc-no-backbone", {"backbone_layers": 0}),
    ("fc-deep-backbone", {"backbone_layers": 2, "backbone_units": 24}),
    ("fc-gelu", {"activation": "gelu"}),
    ("fc-mixed", {"mixed_memory": True}),
    ("fc-proj", {"proj_size": 5}),
    ("ncp-default", {"wiring": True}),
    ("ncp-pure", {"wiring": True, "mode": "pure"}),
    ("ncp-no_gate", {"wiring": True, "mode": "no_gate"}),
    ("ncp-mixed-proj", {"wiring": True, "mixed_memory": True, "proj_size": 3}),
]


def _pair(cfg: dict, input_size: int = 6, units: int = 16):
    cfg = dict(cfg)
    wired = cfg.pop("wiring", False)
    ncps_module = NcpsCfC(input_size, AutoNCP(units, 5) if wired else units, **cfg)
    return ncps_module, CfC.from_ncps(ncps_module)


@pytest.mark.parametrize("with_ts", [False, True], ids=["dt1", "timespans"])
@pytest.mark.parametrize("name,cfg", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_matches_ncps_outputs_and_gradients(name, cfg, with_ts):
    ref, ours = _pair(cfg)
    # ncps broadcasts timespans right only for batch 1 (its issues #81-#83), so compare there.
    batch = 1 if with_ts else 3
    x = torch.randn(batch, 9, 6, requires_grad=True)
    ts = torch.rand(batch, 9, 1) + 0.3 if with_ts else None
    y_ref, h_ref = ref(x, timespans=ts)
    y, h = ours(x, timespans=ts)
    assert (y - y_ref).abs().max() <= TOL
    h_ref0, h0 = (h_ref[0], h[0]) if isinstance(h, tuple) else (h_ref, h)
    assert (h0 - h_ref0).abs().max() <= TOL
    named = [(n, p) for n, p in ref.named_parameters() if p.requires_grad]
    ours_params = dict(ours.named_parameters())
    diff = max_grad_diff(
        y_ref.square().sum(), [x] + [p for _, p in named],
        y.square().sum(), [x] + [ours_params[ncps_to_ours_name(ref, n)] for n, _ in named],
    )
    assert diff <= TOL


def test_initial_state_and_return_last():
    ref, ours = _pair({"return_sequences": False})
    x = torch.randn(2, 5, 6)
    h0 = torch.randn(2, 16)
    y_ref, _ = ref(x, h0)
    y, _ = ours(x, h0)
    assert y.shape == (2, 16)
    assert (y - y_ref).abs().max() <= TOL


def test_time_major_and_unbatched_layouts_match_ncps():
    ref, ours = _pair({"batch_first": False})
    x = torch.randn(7, 2, 6)
    assert (ours(x)[0] - ref(x)[0]).abs().max() <= TOL
    ref, ours = _pair({})
    x1 = torch.randn(7, 6)
    y, h = ours(x1)
    assert y.shape == (7, 16) and h.shape == (16,)
    assert (y - ref(x1)[0]).abs().max() <= TOL


@pytest.mark.parametrize("cfg", [{}, {"wiring": True, "mode": "pure"}], ids=["fc", "ncp-pure"])
def test_batched_timespans_equal_per_sample_runs(cfg):
    """Each sample keeps its own Δt — the case ncps gets wrong for batch > 1."""
    _, ours = _pair(cfg, units=16)
    x = torch.randn(16, 6, 6)  # batch 16 == units: where ncps silently mixes samples
    ts = torch.rand(16, 6, 1) + 0.2
    y, _ = ours(x, timespans=ts)
    for b in range(16):
        yb, _ = ours(x[b : b + 1], timespans=ts[b : b + 1])
        assert torch.allclose(y[b], yb[0], atol=1e-6)


@pytest.mark.parametrize("name,cfg", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_forward_equals_repeated_step(name, cfg):
    _, ours = _pair(cfg)
    x = torch.randn(3, 8, 6)
    ts = torch.rand(3, 8) + 0.5
    y, final = ours(x, timespans=ts)
    state = None
    for t in range(8):
        y_t, state = ours.step(x[:, t], state, timespan=ts[:, t])
        assert torch.allclose(y_t, y[:, t], atol=1e-6)
    final_h, step_h = (final[0], state[0]) if isinstance(final, tuple) else (final, state)
    assert torch.allclose(final_h, step_h, atol=1e-6)


@pytest.mark.parametrize("cfg", [{}, {"wiring": True}], ids=["fc", "ncp"])
def test_causal(cfg):
    _, ours = _pair(cfg)
    x = torch.randn(2, 10, 6)
    y = ours(x)[0]
    x2 = x.clone()
    x2[:, 6:] += torch.randn(2, 4, 6)
    y2 = ours(x2)[0]
    assert torch.equal(y[:, :6], y2[:, :6])
    assert not torch.allclose(y[:, 6:], y2[:, 6:])


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("cfg", [{}, {"wiring": True}, {"mode": "pure"}], ids=["fc", "ncp", "pure"])
def test_gradients_finite(cfg, dtype):
    _, ours = _pair(cfg)
    ours = ours.to(dtype)
    x = torch.randn(4, 32, 6, dtype=dtype, requires_grad=True)
    y, _ = ours(x, timespans=torch.rand(4, 32, dtype=dtype) + 0.5)
    y.float().square().mean().backward()
    grads = [x.grad] + [p.grad for p in ours.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_fused_forward_equals_autograd_step_path_gradients():
    """forward runs the fused recurrence (hand-written backward); step runs plain autograd."""
    ours = CfC(6, 12, backbone_layers=2, backbone_units=10, proj_size=4)
    x = torch.randn(3, 7, 6, requires_grad=True)
    y_fused = ours(x)[0]
    y_plain = torch.stack([ours.step(x[:, t], s)[0] for t, s in _states(ours, x)], dim=1)
    params = list(ours.parameters())
    diff = max_grad_diff(y_fused.sum(), [x] + params, y_plain.sum(), [x] + params)
    assert torch.allclose(y_fused, y_plain, atol=1e-6) and diff <= TOL


def test_dropout_in_training_uses_the_autograd_path():
    ours = CfC(6, 12, backbone_layers=2, backbone_dropout=0.5)
    x = torch.randn(2, 5, 6)
    ours.train()
    assert not torch.equal(ours(x)[0], ours(x)[0])  # dropout masks differ
    ours.eval()
    assert torch.equal(ours(x)[0], ours(x)[0])


def _states(layer, x):
    state = None
    for t in range(x.shape[1]):
        yield t, state
        _, state = layer.step(x[:, t], state)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"input_size": 4, "units": 8, "mode": "fast"}, "mode"),
        ({"input_size": 4, "units": 0}, "units"),
        ({"input_size": 4, "units": 8, "activation": "swish"}, "activation"),
        ({"input_size": 4, "units": FullyConnected(8), "backbone_units": 4}, "backbone_units"),
        ({"input_size": 0, "units": 8}, "input_size"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CfC(**kwargs)


def test_wiring_built_for_other_input_size():
    wiring = AutoNCP(12, 4)
    wiring.build(10)
    with pytest.raises(ValueError, match="input_size"):
        CfC(6, wiring)


def test_wrong_input_features_and_timespans_shape():
    layer = CfC(6, 8)
    with pytest.raises(ValueError, match="input_size=6"):
        layer(torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match="timespans"):
        layer(torch.randn(2, 5, 6), timespans=torch.ones(3, 5))

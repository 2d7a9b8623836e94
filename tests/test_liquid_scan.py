"""LiquidScan: parallel (chunked) scan == sequential recurrence, exact step solution, stable."""

import pytest
import torch
from ncps.wirings import AutoNCP

from liquidcare.liquid import LinearScan, LiquidScan
from liquidcare.liquid.scan import _chunked_scan


def _sequential(a, b, h0):
    h, out = h0, []
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]
        out.append(h)
    return torch.stack(out)


@pytest.mark.parametrize("chunk", [1, 3, 8, 37, 100])
def test_chunked_scan_equals_sequential(chunk):
    a = torch.rand(37, 2, 5, dtype=torch.float64)
    b = torch.randn(37, 2, 5, dtype=torch.float64)
    h0 = torch.randn(2, 5, dtype=torch.float64)
    assert torch.allclose(_chunked_scan(a, b, h0, chunk), _sequential(a, b, h0), atol=1e-12)


def test_linear_scan_gradients_are_exact():
    a = torch.rand(19, 2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(19, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, h0: LinearScan.apply(a, b, h0, 4), (a, b, h0))


@pytest.mark.parametrize("units", [16, "ncp"])
def test_forward_equals_the_exact_recurrence_and_step(units):
    layer = LiquidScan(6, AutoNCP(16, 4) if units == "ncp" else units, proj_size=3, chunk_size=4)
    x = torch.randn(2, 11, 6)
    ts = torch.rand(2, 11) + 0.5
    y, h_last = layer(x, timespans=ts)
    # The definition, step by step: h_t = a_t h_{t-1} + b_t with the closed-form a_t, b_t.
    h = torch.zeros(2, layer.state_size)
    state = None
    for t in range(11):
        a, b = layer.coefficients(x[:, t], ts[:, t : t + 1])
        h = a * h + b
        y_t, state = layer.step(x[:, t], state, timespan=ts[:, t])
        assert torch.allclose(y_t, y[:, t], atol=1e-6)
        assert torch.allclose(state, h, atol=1e-6)
    assert torch.allclose(h_last, h, atol=1e-6)


def test_step_solves_the_ode_exactly():
    """For constant input the exact step equals a fine Euler integration of the ODE."""
    layer = LiquidScan(4, 6)
    x = torch.randn(1, 4)
    h0 = torch.randn(1, 6)
    _, h1 = layer.step(x, h0, timespan=1.0)
    w = layer.in_proj.weight
    f_pre, A = torch.nn.functional.linear(x, w, layer.in_proj.bias).chunk(2, dim=-1)
    f = torch.nn.functional.softplus(f_pre)
    inv_tau = torch.nn.functional.softplus(layer.leak)
    h, n = h0.double(), 20000
    for _ in range(n):
        h = h + (-(inv_tau + f) * h + f * A).double() / n
    assert torch.allclose(h1.double(), h, atol=1e-4)


def test_causal_and_carries_state_across_calls():
    layer = LiquidScan(5, 8)
    x = torch.randn(3, 12, 5)
    y, _ = layer(x)
    x2 = x.clone()
    x2[:, 7:] += 1.0
    assert torch.equal(layer(x2)[0][:, :7], y[:, :7])
    y_a, h = layer(x[:, :5])
    y_b, _ = layer(x[:, 5:], h)
    assert torch.allclose(torch.cat([y_a, y_b], 1), y, atol=1e-6)


def test_ncp_wiring_masks_the_input_projection():
    wiring = AutoNCP(12, 3, sparsity_level=0.8)
    layer = LiquidScan(20, wiring)
    mask = layer.input_mask
    assert 0 < mask.sum() < mask.numel()
    layer(torch.randn(2, 4, 20))[0].sum().backward()
    grad = layer.in_proj.weight.grad
    assert torch.all(grad[mask.repeat(2, 1) == 0] == 0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gradients_finite_even_for_large_inputs(dtype):
    layer = LiquidScan(8, 16).to(dtype)
    x = (50 * torch.randn(2, 64, 8)).to(dtype).requires_grad_()
    y, _ = layer(x, timespans=torch.full((2, 64), 3.0, dtype=dtype))
    y.float().square().mean().backward()
    assert torch.isfinite(y).all()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize(
    "kwargs,match",
    [({"input_size": 4, "units": 0}, "units"), ({"input_size": 4, "units": 4, "chunk_size": 0},
                                                "chunk_size")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LiquidScan(**kwargs)


def test_compiled_coefficients_equal_eager():
    layer = LiquidScan(6, 8)
    x = torch.randn(2, 5, 6, requires_grad=True)
    y_eager = layer(x)[0]
    g_eager = torch.autograd.grad(y_eager.sum(), [x, layer.leak])
    layer.compile = True
    y_comp = layer(x)[0]
    g_comp = torch.autograd.grad(y_comp.sum(), [x, layer.leak])
    assert torch.allclose(y_eager, y_comp, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(g_eager, g_comp, strict=True))

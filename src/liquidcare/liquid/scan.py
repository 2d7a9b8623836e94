"""The liquid scan: an LTC neuron whose conductance depends on the input only, so that its ODE
is linear in the state and has an exact solution over each step.

    dh/dt = −(1/τ + f(x_t)) · h + f(x_t) · A(x_t)

With f_t ≥ 0 the synaptic conductance and A_t the reversal potential (both read from the input
at step t; a constant A is the special case of a zero input weight), holding x_t over a step of
length Δt gives exactly

    h_t = a_t · h_{t−1} + b_t,  a_t = exp(−(1/τ + f_t) Δt),  b_t = (1 − a_t) f_t A_t / (1/τ + f_t)

The recurrence is linear, so `forward` runs it as a chunked parallel scan (every factor a_t is
in (0, 1]: no exponent ever grows, so it is stable without log-space tricks), and `step` runs it
one token at a time for decoding. The liquid part is the time constant 1/(1/τ + f_t), which the
input sets at every step, as in an LTC.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._common import check_positive_int, derived
from .base import LiquidSequence
from .wiring import Wiring, build_wiring


def _chunked_scan(a: Tensor, b: Tensor, h0: Tensor, chunk: int) -> Tensor:
    """h_t = a_t h_{t−1} + b_t over dim 0 of (T, B, U) tensors, in O(T) work and O(√T) depth.

    1. inside each chunk, scan from a zero state, all chunks at once (C sequential steps);
    2. carry the chunks' final states across chunks (T / C sequential steps);
    3. add each chunk's carried-in state times the running product of a inside the chunk.
    """
    T = a.shape[0]
    C = max(1, min(chunk, T))
    n = math.ceil(T / C)
    pad = n * C - T
    if pad:  # a = 1, b = 0 after the end: the state passes through unchanged
        a = torch.cat([a, a.new_ones(pad, *a.shape[1:])])
        b = torch.cat([b, b.new_zeros(pad, *b.shape[1:])])
    a = a.reshape(n, C, *a.shape[1:])
    b = b.reshape(n, C, *b.shape[1:])
    h = torch.empty_like(b)
    prod = torch.empty_like(a)
    h[:, 0], prod[:, 0] = b[:, 0], a[:, 0]
    for i in range(1, C):
        torch.addcmul(b[:, i], a[:, i], h[:, i - 1], out=h[:, i])
        torch.mul(a[:, i], prod[:, i - 1], out=prod[:, i])
    carry = h0
    carries = []
    for c in range(n):
        carries.append(carry)
        carry = torch.addcmul(h[c, -1], prod[c, -1], carry)
    h.addcmul_(prod, torch.stack(carries).unsqueeze(1))
    return h.reshape(n * C, *h.shape[2:])[:T]


class LinearScan(torch.autograd.Function):
    """h = scan(a, b, h0) with the backward as a reverse scan of the same kind:
    dh_t = g_t + a_{t+1} dh_{t+1},  db_t = dh_t,  da_t = dh_t h_{t−1},  dh0 = a_1 dh_1."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor, chunk: int) -> Tensor:
        h = _chunked_scan(a, b, h0, chunk)
        ctx.chunk = chunk
        ctx.save_for_backward(a, h0, h)
        return h

    @staticmethod
    def backward(ctx, g: Tensor):
        a, h0, h = ctx.saved_tensors
        a_next = torch.cat([a[1:], a.new_zeros(1, *a.shape[1:])])
        dh = _chunked_scan(a_next.flip(0), g.flip(0), torch.zeros_like(h0), ctx.chunk).flip(0)
        h_prev = torch.cat([h0.unsqueeze(0), h[:-1]])
        return dh * h_prev, dh, a[0] * dh[0], None


def exact_step_coefficients(
    f_pre: Tensor, A: Tensor, leak: Tensor, ts: Tensor | None
) -> tuple[Tensor, Tensor]:
    """a = exp(−(1/τ + f)Δt) and b = (1 − a) f A / (1/τ + f), with f = softplus(f_pre) ≥ 0 and
    1/τ = softplus(leak) > 0."""
    f = nn.functional.softplus(f_pre)
    rate = nn.functional.softplus(leak) + f
    dt_rate = rate if ts is None else rate * ts
    a = torch.exp(-dt_rate)
    # 1 − a via expm1 keeps precision when the rate is small.
    b = -torch.expm1(-dt_rate) * f * A / rate
    return a, b


_compiled_coefficients = None


def _compiled():
    """The coefficient maths fused by torch.compile: ~10 elementwise passes (and their backward)
    become one generated kernel each way. Compiled once per process, on first use."""
    global _compiled_coefficients
    if _compiled_coefficients is None:
        _compiled_coefficients = torch.compile(exact_step_coefficients, dynamic=True)
    return _compiled_coefficients


def reachable_inputs(wiring: Wiring) -> Tensor:
    """(inputs, neurons) mask: which input features reach each neuron along the wiring's paths.

    A scan neuron has no synapses from other neurons (its recurrence is diagonal), so an NCP
    wiring is applied to the input projections through its reachability: a neuron sees the
    sensory features that could drive it through the inter → command → motor circuit.
    """
    sensory = torch.as_tensor(wiring.sensory_adjacency_matrix).abs().gt(0).float()
    adjacency = torch.as_tensor(wiring.adjacency_matrix).abs().gt(0).float()
    reach = sensory
    for _ in range(wiring.num_layers + 1):
        reach = ((reach + reach @ adjacency) > 0).float()
    return reach


class LiquidScan(LiquidSequence):
    """The liquid scan as a sequence layer: ``forward(x, state=None, timespans=None) -> (y, h)``.

    ``units`` is a number of neurons or an ``ncps.wirings`` wiring (masks on the input
    projections; the output is the motor neurons). ``proj_size`` adds a linear readout.
    ``compile=True`` fuses the elementwise maths with torch.compile (a few times faster for
    training on a CPU; the first call spends ~20 s compiling); decoding steps stay eager.
    """

    def __init__(
        self,
        input_size: int,
        units: int | Wiring,
        proj_size: int | None = None,
        return_sequences: bool = True,
        batch_first: bool = True,
        chunk_size: int = 32,
        compile: bool = False,
    ) -> None:
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.chunk_size = check_positive_int("chunk_size", chunk_size)
        self.compile = compile
        self.return_sequences = return_sequences
        self.batch_first = batch_first
        if isinstance(units, Wiring):
            self.wiring = build_wiring(units, input_size)
            self.state_size, self.output_size = self.wiring.units, self.wiring.output_dim
            self.register_buffer("input_mask", reachable_inputs(self.wiring).t().contiguous())
        else:
            self.wiring = None
            self.state_size = self.output_size = check_positive_int("units", units)
            self.register_buffer("input_mask", None)
        U = self.state_size
        # One matmul gives both the conductance (pre-softplus) and the reversal potential.
        self.in_proj = nn.Linear(input_size, 2 * U)
        # 1/τ = softplus(leak): a positive leak rate per neuron, initialised to time constants
        # spread over 1..100 steps so that some neurons remember and some forget.
        taus = torch.logspace(0, 2, U)
        self.leak = nn.Parameter(torch.log(torch.expm1(1.0 / taus)))
        if proj_size is not None:
            check_positive_int("proj_size", proj_size)
            self.fc: nn.Module = nn.Linear(self.output_size, proj_size)
        else:
            self.fc = nn.Identity()
        self.proj_size = proj_size

    def coefficients(self, x: Tensor, ts: Tensor | None) -> tuple[Tensor, Tensor]:
        """a_t and b_t of the exact step for inputs x (..., input_size)."""
        w = self.in_proj.weight
        if self.input_mask is not None:
            mask = self.input_mask
            w = derived(self, "w", lambda: w * mask.repeat(2, 1), [w, mask])
        f_pre, A = nn.functional.linear(x, w, self.in_proj.bias).chunk(2, dim=-1)
        fn = _compiled() if self.compile and x.dim() == 3 else exact_step_coefficients
        return fn(f_pre, A, self.leak, ts)

    def _readout(self, h: Tensor) -> Tensor:
        return self.fc(h[..., : self.output_size])  # ncps numbers the motor neurons first

    def _sequence(self, x: Tensor, h0: Tensor, c: None, ts: Tensor | None):
        a, b = self.coefficients(x.transpose(0, 1), ts)
        h = LinearScan.apply(a, b, h0, self.chunk_size).transpose(0, 1)
        return h, h[:, -1], None

    def _advance(self, x_t: Tensor, h: Tensor, c: None, ts: Tensor | None):
        a, b = self.coefficients(x_t, ts)
        return torch.addcmul(b, a, h), None

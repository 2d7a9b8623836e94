"""The LTC recurrence as one autograd node whose backward recomputes instead of storing.

``ncps`` keeps, for every time step and every ODE unfold, several (batch, units, units) synapse
tensors for backprop: memory grows with time × unfolds × units². Here the forward keeps only the
neuron potentials before each unfold and the denominators — (time, unfolds, batch, units) — and
the backward recomputes each synapse tensor from them when it needs it, in reused buffers. Peak
memory then grows with the state, not with units² × time.

A "synapse bank" maps source potentials v (batch, S) to the conductance-weighted sums that one
fused-Euler step of the LTC needs, over all synapses i → j:

    s_ij = sigmoid(σ_ij · (v_i − μ_ij))
    N_j  = Σ_i W_ij · E_ij · s_ij          (W = positive weight · mask, E = reversal potential)
    D_j  = Σ_i W_ij · s_ij

The same bank serves the sensory synapses (sources: the mapped inputs, once per step) and the
recurrent synapses (sources: the neurons, once per unfold).
"""

from __future__ import annotations

import torch
from torch import Tensor


class _Bank:
    """Forward and backward of one synapse bank, with gradient accumulators."""

    def __init__(self, sigma: Tensor, mu: Tensor, w: Tensor, we: Tensor, batch: int) -> None:
        self.sigma, self.mu, self.w, self.we = sigma, mu, w, we
        S, H = sigma.shape
        self.buf = sigma.new_empty(batch, S, H)
        self.tmp = sigma.new_empty(batch, S, H)
        # Accumulated over all steps; turned into parameter gradients in `grads`.
        self.p_n = torch.zeros_like(sigma)  # Σ s · dN
        self.p_d = torch.zeros_like(sigma)  # Σ s · dD
        self.q0 = torch.zeros_like(sigma)  # Σ dx
        self.r = torch.zeros_like(sigma)  # Σ dx · v_i

    def activation(self, v: Tensor) -> Tensor:
        s = torch.sub(v.unsqueeze(-1), self.mu, out=self.buf)
        s.mul_(self.sigma)
        return s.sigmoid_()

    def forward(self, v: Tensor) -> tuple[Tensor, Tensor]:
        s = self.activation(v)
        n = torch.mul(s, self.we, out=self.tmp).sum(1)
        d = torch.mul(s, self.w, out=self.tmp).sum(1)
        return n, d

    def backward(self, v: Tensor, dn: Tensor, dd: Tensor) -> Tensor:
        s = self.activation(v)
        dn3, dd3 = dn.unsqueeze(1), dd.unsqueeze(1)
        self.p_n += torch.mul(s, dn3, out=self.tmp).sum(0)
        self.p_d += torch.mul(s, dd3, out=self.tmp).sum(0)
        # ds = E·W·dN + W·dD, then through the sigmoid: dx = ds · s · (1 − s)
        ds = torch.mul(self.we, dn3, out=self.tmp)
        ds.addcmul_(self.w, dd3)
        ds.mul_(s)
        s.neg_().add_(1.0)
        dx = ds.mul_(s)
        self.q0 += dx.sum(0)
        dv = torch.mul(dx, self.sigma, out=self.buf).sum(2)
        self.r += dx.mul_(v.unsqueeze(-1)).sum(0)
        return dv

    def grads(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Gradients of (σ, μ, W, W·E): x = σ (v − μ) gives dσ = Σ dx·v − μ Σ dx, dμ = −σ Σ dx."""
        return self.r - self.mu * self.q0, -self.sigma * self.q0, self.p_d, self.p_n


class LTCScan(torch.autograd.Function):
    """Inputs (time-major): x (T, B, I) mapped inputs, v0 (B, H), cm_t (T, B, H) = C_m / (Δt/K),
    leak conductance g_l (H) and potential v_l (H), recurrent σ, μ, W, W·E (H, H), sensory σ, μ,
    W, W·E (I, H). Returns the potentials after every step, (T, B, H).

    Each step unfolds the LTC ODE K times with the fused (semi-implicit) Euler solver:

        v ← (c_m/Δt' · v + g_l v_l + N_rec(v) + N_sens) / (c_m/Δt' + g_l + D_rec(v) + D_sens + ε)
    """

    @staticmethod
    def forward(ctx, unfolds: int, eps: float, x, v0, cm_t, gl, vl, *params):
        T, B = x.shape[0], x.shape[1]
        rec = _Bank(*params[:4], batch=B)
        sens = _Bank(*params[4:], batch=B)
        V = v0.new_empty(T, B, v0.shape[1])
        Vk = v0.new_empty(T, unfolds, B, v0.shape[1])  # potential before each unfold
        Den = torch.empty_like(Vk)
        leak = gl * vl
        v = v0
        for t in range(T):
            ns, ds = sens.forward(x[t])
            num_in = leak + ns
            den_in = ds + gl + eps
            c = cm_t[t]
            for k in range(unfolds):
                Vk[t, k] = v
                n, d = rec.forward(v)
                den = torch.add(den_in, c).add_(d)
                Den[t, k] = den
                v = torch.addcmul(num_in, c, v).add_(n).div_(den)
            V[t] = v
        ctx.unfolds, ctx.eps = unfolds, eps
        ctx.save_for_backward(x, v0, cm_t, gl, vl, V, Vk, Den, *params)
        return V

    @staticmethod
    def backward(ctx, dV):
        x, v0, cm_t, gl, vl, V, Vk, Den, *params = ctx.saved_tensors
        K = ctx.unfolds
        T, B = x.shape[0], x.shape[1]
        rec = _Bank(*params[:4], batch=B)
        sens = _Bank(*params[4:], batch=B)
        dx = torch.empty_like(x)
        dcm = torch.empty_like(V)
        dgl_rows = torch.zeros_like(v0)  # Σ over unfolds and steps, per (batch, neuron)
        dnum_rows = torch.zeros_like(v0)
        carry = torch.zeros_like(v0)
        for t in range(T - 1, -1, -1):
            dv = carry + dV[t]
            c = cm_t[t]
            dns = torch.zeros_like(v0)
            dds = torch.zeros_like(v0)
            dc = torch.zeros_like(v0)
            for k in range(K - 1, -1, -1):
                v_k = Vk[t, k]
                v_next = Vk[t, k + 1] if k + 1 < K else V[t]
                dnum = dv / Den[t, k]
                dden = -dnum * v_next
                dc += dnum * v_k + dden
                dns += dnum
                dds += dden
                dv = dnum * c + rec.backward(v_k, dnum, dden)
            dgl_rows += dds
            dnum_rows += dns
            dcm[t] = dc
            dx[t] = sens.backward(x[t], dns, dds)
            carry = dv
        # num = c·v + g_l·v_l + …, den = c + g_l + …: the leak sees every unfold's dnum and dden.
        d_gl = (dgl_rows + dnum_rows * vl).sum(0)
        d_vl = (dnum_rows * gl).sum(0)
        return (None, None, dx, carry, dcm, d_gl, d_vl, *rec.grads(), *sens.grads())

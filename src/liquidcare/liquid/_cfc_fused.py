"""The CfC recurrence as one autograd node with a hand-written backward.

Why a custom ``autograd.Function``: the cost of a CfC on a CPU is not its arithmetic but the
number of small tensor operations per time step, and ordinary autograd doubles that number in
the backward pass and stores every intermediate. Here

* the input projections are hoisted out of the loop by the caller (one large matmul);
* the forward loop runs ~8 small ops per step and keeps only the pre-activations;
* the backward loop runs ~5 small ops per step, because the CfC gate is *linear in the incoming
  gradient*: dg_t = C_t ⊙ tile(dh_t), with the coefficients C computed for all steps at once;
* every weight gradient is one large matmul over all (time × batch) rows after the loop.

A "sub-layer" is one CfC cell of the stack: the only one for a fully connected CfC, one per
wiring layer (inter, command, motor) for an NCP. Sub-layer l > 0 reads the new state of
sub-layer l − 1 at the same time step.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ._common import get_activation

# Tensors per sub-layer, in this order:
#   wx, wh, b        first matrix (input part, hidden part, bias); wx and b are None for l = 0,
#                    whose input part arrives pre-computed for all steps
#   (W_k, b_k) * deep   extra backbone layers
#   hw, hb           heads after a backbone (None without backbone)
#   A, w_tau         the "pure" mode's parameters (None otherwise)
FIXED_TENSORS = 7


class SubSpec(NamedTuple):
    hidden: int
    heads: int  # 4 gates (ff1, ff2, time_a, time_b), or 1 in pure mode (ff1 only)
    mode: str  # "default" | "no_gate" | "pure"
    activation: str | None  # backbone activation, None when the cell has no backbone
    deep: int  # backbone layers after the first


def tensors_per_layer(spec: SubSpec) -> int:
    return FIXED_TENSORS + 2 * spec.deep


def _unpack(spec: SubSpec, flat: tuple) -> dict:
    wx, wh, b = flat[0:3]
    deep = [(flat[3 + 2 * k], flat[4 + 2 * k]) for k in range(spec.deep)]
    o = 3 + 2 * spec.deep
    return {
        "wx": wx, "wh": wh, "b": b, "deep": deep,
        "hw": flat[o], "hb": flat[o + 1], "A": flat[o + 2], "w_tau": flat[o + 3],
    }


def cfc_gate(g: Tensor, ts: Tensor | None, spec: SubSpec, A: Tensor | None, w_tau: Tensor | None):
    """The closed-form solution, given the head pre-activations g = [ff1, ff2, t_a, t_b].

    default:  h = ff1 · (1 − σ) + σ · ff2,   σ = sigmoid(t_a · Δt + t_b)
    no_gate:  h = ff1 + σ · ff2
    pure:     h = −A · exp(−Δt · (|w_τ| + |ff1|)) · ff1 + A      (the direct CfC solution)
    """
    H = spec.hidden
    if spec.mode == "pure":
        f1 = g
        decay = (w_tau.abs() + f1.abs()) if ts is None else ts * (w_tau.abs() + f1.abs())
        return A - A * torch.exp(-decay) * f1
    ff = torch.tanh(g[..., : 2 * H])
    ff1, ff2 = ff[..., :H], ff[..., H:]
    t_a, t_b = g[..., 2 * H : 3 * H], g[..., 3 * H :]
    sigma = torch.sigmoid(t_b + t_a if ts is None else torch.addcmul(t_b, t_a, ts))
    if spec.mode == "no_gate":
        return torch.addcmul(ff1, sigma, ff2)
    return torch.lerp(ff1, ff2, sigma)


def _gate_coefficients(G: Tensor, ts: Tensor | None, spec: SubSpec, A, w_tau):
    """dg = C ⊙ tile(dh): the gate's Jacobian, which is diagonal per head, for all steps."""
    H = spec.hidden
    if spec.mode == "pure":
        f1 = G
        decay = w_tau.abs() + f1.abs()
        e = torch.exp(-(decay if ts is None else ts * decay))
        t_abs = f1.abs() if ts is None else ts * f1.abs()
        coef = -A * e * (1.0 - t_abs)
        return coef.unsqueeze(-2), (f1, e)
    ff = torch.tanh(G[..., : 2 * H])
    ff1, ff2 = ff[..., :H], ff[..., H:]
    t_a, t_b = G[..., 2 * H : 3 * H], G[..., 3 * H :]
    sigma = torch.sigmoid(t_b + t_a if ts is None else torch.addcmul(t_b, t_a, ts))
    dsig = sigma * (1.0 - sigma)
    if spec.mode == "no_gate":
        c1 = 1.0 - ff1 * ff1
        c_b = ff2 * dsig
    else:
        c1 = (1.0 - sigma) * (1.0 - ff1 * ff1)
        c_b = (ff2 - ff1) * dsig
    c2 = sigma * (1.0 - ff2 * ff2)
    c_a = c_b if ts is None else c_b * ts
    return torch.stack([c1, c2, c_a, c_b], dim=-2), None


def _activation_and_slope(name: str, Z: Tensor) -> tuple[Tensor, Tensor]:
    """act(Z) and act'(Z) for a whole buffer at once (all backbone activations are elementwise)."""
    with torch.enable_grad():
        z = Z.detach().requires_grad_(True)
        a = get_activation(name)(z)
        (slope,) = torch.autograd.grad(a, z, torch.ones_like(a))
    return a.detach(), slope


class CfCScan(torch.autograd.Function):
    """Runs a stack of CfC sub-layers over time. Inputs are time-major: pre0 (T, B, P0) is the
    hoisted input part of sub-layer 0, h0 (B, ΣH) the initial state, ts (T, B, 1) or None the
    elapsed times (treated as data: no gradient). Returns the states of every sub-layer at every
    step, one (T, B, H_l) tensor per sub-layer."""

    @staticmethod
    def forward(ctx, specs: tuple[SubSpec, ...], pre0: Tensor, h0: Tensor, ts, *flat):
        T, B = pre0.shape[0], pre0.shape[1]
        layers, pos = [], 0
        for spec in specs:
            n = tensors_per_layer(spec)
            layers.append(_unpack(spec, flat[pos : pos + n]))
            pos += n
        h = list(h0.split([s.hidden for s in specs], dim=1))
        states = [pre0.new_empty(T, B, s.hidden) for s in specs]
        # Z: the first matrix's output; without a backbone it *is* the head pre-activation g.
        Z = [pre0.new_empty(T, B, L["wh"].shape[0]) for L in layers]
        deepZ = [[pre0.new_empty(T, B, W.shape[0]) for W, _ in L["deep"]] for L in layers]
        G = [
            pre0.new_empty(T, B, L["hw"].shape[0]) if s.activation else Z[i]
            for i, (s, L) in enumerate(zip(specs, layers, strict=True))
        ]
        whT = [L["wh"].t() for L in layers]
        wxT = [None if L["wx"] is None else L["wx"].t() for L in layers]
        deepT = [[W.t() for W, _ in L["deep"]] for L in layers]
        hwT = [None if L["hw"] is None else L["hw"].t() for L in layers]
        acts = [get_activation(s.activation) if s.activation else None for s in specs]
        for t in range(T):
            ts_t = None if ts is None else ts[t]
            u = None
            for i, (spec, L) in enumerate(zip(specs, layers, strict=True)):
                if i == 0:
                    z = torch.addmm(pre0[t], h[0], whT[0], out=Z[0][t])
                else:
                    z = torch.addmm(L["b"], u, wxT[i], out=Z[i][t])
                    z.addmm_(h[i], whT[i])
                if spec.activation:
                    a = acts[i](z)
                    for k, (_, bk) in enumerate(L["deep"]):
                        a = acts[i](torch.addmm(bk, a, deepT[i][k], out=deepZ[i][k][t]))
                    g = torch.addmm(L["hb"], a, hwT[i], out=G[i][t])
                else:
                    g = z
                h[i] = cfc_gate(g, ts_t, spec, L["A"], L["w_tau"])
                states[i][t] = h[i]
                u = h[i]
        ctx.specs = specs
        ctx.n_flat = len(flat)
        ctx.has_ts = ts is not None
        ctx.save_for_backward(h0, *([ts] if ts is not None else []), *flat, *states, *Z,
                              *[z for zs in deepZ for z in zs], *G)
        return tuple(states)

    @staticmethod
    def backward(ctx, *d_states):
        specs = ctx.specs
        saved = list(ctx.saved_tensors)
        h0 = saved.pop(0)
        ts = saved.pop(0) if ctx.has_ts else None
        flat, saved = saved[: ctx.n_flat], saved[ctx.n_flat :]
        n_layers = len(specs)
        states, saved = saved[:n_layers], saved[n_layers:]
        Z, saved = saved[:n_layers], saved[n_layers:]
        deepZ = []
        for spec in specs:
            deepZ.append(saved[: spec.deep])
            saved = saved[spec.deep :]
        G = [saved[i] if s.activation else Z[i] for i, s in enumerate(specs)]
        layers, pos = [], 0
        for spec in specs:
            n = tensors_per_layer(spec)
            layers.append(_unpack(spec, tuple(flat[pos : pos + n])))
            pos += n

        T, B = states[0].shape[0], states[0].shape[1]
        coef, pure_aux, slopes, acts_out = [], [], [], []
        for i, (spec, L) in enumerate(zip(specs, layers, strict=True)):
            c, aux = _gate_coefficients(G[i], ts, spec, L["A"], L["w_tau"])
            coef.append(c.contiguous())
            pure_aux.append(aux)
            if spec.activation:
                outs = [_activation_and_slope(spec.activation, Z[i])]
                outs += [_activation_and_slope(spec.activation, dz) for dz in deepZ[i]]
                acts_out.append([a for a, _ in outs])
                slopes.append([s for _, s in outs])
            else:
                acts_out.append(None)
                slopes.append(None)

        dZ = [torch.empty_like(z) for z in Z]
        dG = [torch.empty_like(G[i]) if s.activation else dZ[i] for i, s in enumerate(specs)]
        ddeep = [[torch.empty_like(z) for z in zs] for zs in deepZ]
        dH = [torch.empty_like(s) if spec.mode == "pure" else None
              for s, spec in zip(states, specs, strict=True)]
        carry = [h0.new_zeros(B, s.hidden) for s in specs]
        d_states = [d if d is not None else None for d in d_states]
        for t in range(T - 1, -1, -1):
            du = None
            for i in range(n_layers - 1, -1, -1):
                spec, L = specs[i], layers[i]
                dh = carry[i]
                if d_states[i] is not None:
                    dh = dh + d_states[i][t]
                if du is not None:
                    dh = dh + du
                if dH[i] is not None:
                    dH[i][t] = dh
                dg = dG[i][t]
                torch.mul(coef[i][t], dh.unsqueeze(-2), out=dg.view(B, spec.heads, spec.hidden))
                if spec.activation:
                    da = dg @ L["hw"]
                    for k in range(spec.deep - 1, -1, -1):
                        dzk = torch.mul(da, slopes[i][k + 1][t], out=ddeep[i][k][t])
                        da = dzk @ L["deep"][k][0]
                    dz = torch.mul(da, slopes[i][0][t], out=dZ[i][t])
                else:
                    dz = dg
                carry[i] = dz @ L["wh"]
                du = dz @ L["wx"] if i > 0 else None

        # Weight gradients: one large matmul each over all (time × batch) rows.
        grads: list[Tensor | None] = []
        h0_parts = h0.split([s.hidden for s in specs], dim=1)
        d_pre0 = None
        for i, (spec, L) in enumerate(zip(specs, layers, strict=True)):
            rows = T * B
            h_prev = torch.cat([h0_parts[i].unsqueeze(0), states[i][:-1]], dim=0)
            dz2 = dZ[i].reshape(rows, -1)
            g_wh = dz2.t() @ h_prev.reshape(rows, -1)
            if i == 0:
                d_pre0 = dZ[0]
                g_wx = g_b = None
            else:
                g_wx = dz2.t() @ states[i - 1].reshape(rows, -1)
                g_b = dz2.sum(0)
            g_deep: list[Tensor] = []
            g_hw = g_hb = None
            if spec.activation:
                a_list = acts_out[i]
                for k in range(spec.deep):
                    dk = ddeep[i][k].reshape(rows, -1)
                    g_deep += [dk.t() @ a_list[k].reshape(rows, -1), dk.sum(0)]
                dg2 = dG[i].reshape(rows, -1)
                g_hw = dg2.t() @ a_list[-1].reshape(rows, -1)
                g_hb = dg2.sum(0)
            g_A = g_wt = None
            if spec.mode == "pure":
                f1, e = pure_aux[i]
                dh = dH[i]
                g_A = (dh * (1.0 - e * f1)).sum(dim=(0, 1)).reshape_as(L["A"])
                ts_f = 1.0 if ts is None else ts
                g_wt = (dh * L["A"] * f1 * e * ts_f).sum(dim=(0, 1)).reshape_as(L["w_tau"])
                g_wt = g_wt * torch.sign(L["w_tau"])
            grads += [g_wx, g_wh, g_b, *g_deep, g_hw, g_hb, g_A, g_wt]
        d_h0 = torch.cat(carry, dim=1)
        return (None, d_pre0, d_h0, None, *grads)

"""Closed-form Continuous-time (CfC) networks — Hasani et al., "Closed-form continuous-time
neural networks", Nature Machine Intelligence 2022 (arXiv 2106.13898).

A CfC replaces the ODE solver of a liquid time-constant network by an approximation of its
closed-form solution. With x = backbone([input, h]):

    ff1 = tanh(W1 x),  ff2 = tanh(W2 x),  σ = sigmoid(W_a x · Δt + W_b x)
    h'  = ff1 · (1 − σ) + σ · ff2                      (mode "default")
    h'  = ff1 + σ · ff2                                (mode "no_gate")
    h'  = −A · exp(−Δt (|w_τ| + |W1 x|)) · W1 x + A    (mode "pure": the direct solution)

`CfC` takes the constructor arguments of ``ncps.torch.CfC`` and computes the same function for
the same weights (`CfC.from_ncps` copies them), but runs its time loop through `CfCScan`, a
fused recurrence with a hand-written backward.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._cfc_fused import CfCScan, SubSpec, cfc_gate
from ._common import check_choice, check_positive_int, derived, get_activation
from .base import LiquidSequence
from .lstm import MixedMemoryLSTM
from .wiring import Wiring, build_wiring, layer_masks

MODES = ("default", "pure", "no_gate")


class CfCCell(nn.Module):
    """One CfC cell: an optional backbone MLP on [input, h], then the gate heads.

    Parameter names follow ``ncps.torch.CfCCell`` (ff1, ff2, time_a, time_b, w_tau, A) so that
    weights map one to one. ``sparsity_mask`` (hidden, input + hidden) restricts ff1 and ff2 to
    the synapses of a wiring layer.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        mode: str = "default",
        activation: str = "lecun_tanh",
        backbone_units: int = 128,
        backbone_layers: int = 1,
        backbone_dropout: float = 0.0,
        sparsity_mask: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("units", hidden_size)
        self.mode = check_choice("mode", mode, MODES)
        self.activation = activation
        self._act = get_activation(activation)
        if backbone_layers < 0:
            raise ValueError(f"backbone_layers must be >= 0, got {backbone_layers}")
        if backbone_layers > 0:
            check_positive_int("backbone_units", backbone_units)
        if not 0.0 <= backbone_dropout < 1.0:
            raise ValueError(f"backbone_dropout must be in [0, 1), got {backbone_dropout}")
        self.backbone_layers = backbone_layers
        self.backbone_dropout = backbone_dropout
        cat = input_size + hidden_size
        self.backbone = nn.ModuleList()
        if backbone_layers > 0:
            self.backbone.append(nn.Linear(cat, backbone_units))
            for _ in range(1, backbone_layers):
                self.backbone.append(nn.Linear(backbone_units, backbone_units))
        head_in = backbone_units if backbone_layers > 0 else cat
        self.ff1 = nn.Linear(head_in, hidden_size)
        if mode == "pure":
            self.w_tau = nn.Parameter(torch.zeros(1, hidden_size))
            self.A = nn.Parameter(torch.ones(1, hidden_size))
        else:
            self.ff2 = nn.Linear(head_in, hidden_size)
            self.time_a = nn.Linear(head_in, hidden_size)
            self.time_b = nn.Linear(head_in, hidden_size)
        if sparsity_mask is not None and tuple(sparsity_mask.shape) != (hidden_size, head_in):
            raise ValueError(
                f"sparsity_mask must have shape {(hidden_size, head_in)}, "
                f"got {tuple(sparsity_mask.shape)}"
            )
        self.register_buffer("sparsity_mask", sparsity_mask)
        for w in self.parameters():  # Xavier on matrices, as the CfC reference code does
            if w.dim() == 2 and w.requires_grad and w.shape[0] > 1:
                nn.init.xavier_uniform_(w)

    @property
    def spec(self) -> SubSpec:
        return SubSpec(
            hidden=self.hidden_size,
            heads=1 if self.mode == "pure" else 4,
            mode=self.mode,
            activation=self.activation if self.backbone_layers > 0 else None,
            deep=max(self.backbone_layers - 1, 0),
        )

    def head_weights(self) -> tuple[Tensor, Tensor]:
        """All heads as one matrix (heads·hidden, in): one matmul per step instead of four."""
        names = ["ff1"] if self.mode == "pure" else ["ff1", "ff2", "time_a", "time_b"]
        weights, biases = [], []
        for name in names:
            lin: nn.Linear = getattr(self, name)
            w = lin.weight
            if self.sparsity_mask is not None and name in ("ff1", "ff2"):
                w = w * self.sparsity_mask
            weights.append(w)
            biases.append(lin.bias)
        return torch.cat(weights, 0), torch.cat(biases, 0)

    def fused_tensors(self) -> list[Tensor | None]:
        """This cell's tensors in `CfCScan`'s order (see ``_cfc_fused``)."""
        hw, hb = self.head_weights()
        if self.backbone_layers > 0:
            first_w, first_b = self.backbone[0].weight, self.backbone[0].bias
            deep = [t for lin in self.backbone[1:] for t in (lin.weight, lin.bias)]
            heads = [hw, hb]
        else:
            first_w, first_b, deep, heads = hw, hb, [], [None, None]
        wx, wh = first_w[:, : self.input_size], first_w[:, self.input_size :]
        pure = [self.A, self.w_tau] if self.mode == "pure" else [None, None]
        return [wx, wh, first_b, *deep, *heads, *pure]

    def forward(self, x: Tensor, h: Tensor, ts: Tensor | None = None) -> Tensor:
        """One step: (batch, input), (batch, hidden) → new hidden state. Plain autograd."""
        sources = [self.sparsity_mask, *self.parameters()]
        hw, hb = derived(self, "heads", self.head_weights, sources)
        z = torch.cat([x, h], dim=-1)
        if self.backbone_layers > 0:
            z = self._act(self.backbone[0](z))
            for lin in self.backbone[1:]:
                z = self._act(lin(z))
                if self.backbone_dropout > 0:
                    z = nn.functional.dropout(z, self.backbone_dropout, self.training)
        g = nn.functional.linear(z, hw, hb)
        pure = (self.A, self.w_tau) if self.mode == "pure" else (None, None)
        return cfc_gate(g, ts, self.spec, *pure)


class CfC(LiquidSequence):
    """A CfC sequence layer with the arguments of ``ncps.torch.CfC``.

    ``units`` is a number of neurons (fully connected, with a backbone MLP) or an
    ``ncps.wirings`` wiring (e.g. ``AutoNCP``): then one backbone-free sub-cell runs per wiring
    layer and the output is the motor neurons. ``forward(x, state=None, timespans=None)`` returns
    ``(y, state)``; ``step(x_t, state)`` advances one step for decoding.
    """

    def __init__(
        self,
        input_size: int,
        units: int | Wiring,
        proj_size: int | None = None,
        return_sequences: bool = True,
        batch_first: bool = True,
        mixed_memory: bool = False,
        mode: str = "default",
        activation: str = "lecun_tanh",
        backbone_units: int | None = None,
        backbone_layers: int | None = None,
        backbone_dropout: float | None = None,
    ) -> None:
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        check_choice("mode", mode, MODES)
        get_activation(activation)
        self.mode = mode
        self.proj_size = proj_size
        self.return_sequences = return_sequences
        self.batch_first = batch_first
        self.mixed_memory = mixed_memory
        self.cells = nn.ModuleList()
        if isinstance(units, Wiring):
            for name, value in (("backbone_units", backbone_units),
                                ("backbone_layers", backbone_layers),
                                ("backbone_dropout", backbone_dropout)):
                if value is not None:
                    raise ValueError(
                        f"{name} cannot be used with a wiring (wired cells have no backbone)"
                    )
            self.wiring = build_wiring(units, input_size)
            for lm in layer_masks(self.wiring):
                self.cells.append(CfCCell(lm.inputs, lm.hidden, mode, "lecun_tanh", 0, 0, 0.0,
                                          sparsity_mask=lm.mask))
            self.state_size = self.wiring.units
            self.output_size = self.wiring.output_dim
        else:
            self.wiring = None
            check_positive_int("units", units)
            self.cells.append(CfCCell(
                input_size, units, mode, activation,
                128 if backbone_units is None else backbone_units,
                1 if backbone_layers is None else backbone_layers,
                0.0 if backbone_dropout is None else backbone_dropout,
            ))
            self.state_size = units
            self.output_size = units
        self.lstm = MixedMemoryLSTM(input_size, self.state_size) if mixed_memory else None
        if proj_size is not None:
            check_positive_int("proj_size", proj_size)
            self.fc: nn.Module = nn.Linear(self.output_size, proj_size)
        else:
            self.fc = nn.Identity()

    # --- state -------------------------------------------------------------------------------
    def initial_state(self, batch: int, device=None, dtype=None):
        h = torch.zeros(batch, self.state_size, device=device, dtype=dtype)
        return (h, torch.zeros_like(h)) if self.mixed_memory else h

    # --- the recurrence ----------------------------------------------------------------------
    def _cell_stack(self, x_t: Tensor, h: Tensor, ts: Tensor | None) -> Tensor:
        parts = list(h.split([c.hidden_size for c in self.cells], dim=1))
        u = x_t
        for i, cell in enumerate(self.cells):
            parts[i] = cell(u, parts[i], ts)
            u = parts[i]
        return torch.cat(parts, dim=1)

    def _fused_ok(self, ts: Tensor | None) -> bool:
        dropout = any(c.backbone_dropout > 0 and c.backbone_layers > 1 for c in self.cells)
        return (not self.mixed_memory and not (dropout and self.training)
                and not (ts is not None and ts.requires_grad))

    def _sequence(self, x: Tensor, h: Tensor, c: Tensor | None, ts: Tensor | None):
        if self._fused_ok(ts):
            tensors = [t for cell in self.cells for t in cell.fused_tensors()]
            wx0, b0 = tensors[0], tensors[2]
            # Hoisted: the input part of sub-cell 0 for every step in one matmul.
            pre0 = nn.functional.linear(x.transpose(0, 1), wx0, b0)
            tensors[0] = tensors[2] = None
            specs = tuple(cell.spec for cell in self.cells)
            states = CfCScan.apply(specs, pre0, h, ts, *tensors)
            seq = torch.cat(states, dim=-1).transpose(0, 1)
            return seq, seq[:, -1], c
        outs = []
        for t in range(x.shape[1]):
            if self.lstm is not None:
                h, c = self.lstm(x[:, t], (h, c))
            h = self._cell_stack(x[:, t], h, None if ts is None else ts[t])
            outs.append(h)
        return torch.stack(outs, dim=1), h, c

    def _readout(self, states: Tensor) -> Tensor:
        # ncps orders wired neurons by layer; the last layer's neurons are the motor outputs.
        return self.fc(states[..., self.state_size - self.output_size :])

    def _advance(self, x_t: Tensor, h: Tensor, c: Tensor | None, ts: Tensor | None):
        if self.lstm is not None:
            h, c = self.lstm(x_t, (h, c))
        return self._cell_stack(x_t, h, ts), c

    # --- interoperability ----------------------------------------------------------------------
    @classmethod
    def from_ncps(cls, module: nn.Module) -> CfC:
        """A `CfC` that computes what the given ``ncps.torch.CfC`` computes (weights copied)."""
        from ncps.torch import CfC as NcpsCfC

        if not isinstance(module, NcpsCfC):
            raise TypeError(f"from_ncps expects an ncps.torch.CfC, got {type(module).__name__}")
        cell = module.rnn_cell
        wired = getattr(module, "wired_mode", False)
        if wired:
            first = cell._layers[0]
            ours = cls(module.input_size, module.wiring, module.proj_size,
                       module.return_sequences, module.batch_first, module.use_mixed, first.mode)
            sources = list(cell._layers)
        else:
            linears = [m for m in (cell.backbone or []) if isinstance(m, nn.Linear)]
            dropouts = [m.p for m in (cell.backbone or []) if isinstance(m, nn.Dropout)]
            act = _ncps_activation_name(cell)
            ours = cls(module.input_size, module.state_size, module.proj_size,
                       module.return_sequences, module.batch_first, module.use_mixed, cell.mode,
                       act, linears[0].out_features if linears else 0, len(linears),
                       dropouts[0] if dropouts else 0.0)
            sources = [cell]
        with torch.no_grad():
            for dst, src in zip(ours.cells, sources, strict=True):
                src_linears = [m for m in (src.backbone or []) if isinstance(m, nn.Linear)]
                for d, s in zip(dst.backbone, src_linears, strict=True):
                    d.load_state_dict(s.state_dict())
                names = ["ff1"] if src.mode == "pure" else ["ff1", "ff2", "time_a", "time_b"]
                for name in names:
                    getattr(dst, name).load_state_dict(getattr(src, name).state_dict())
                if src.mode == "pure":
                    dst.w_tau.copy_(src.w_tau)
                    dst.A.copy_(src.A)
                if src.sparsity_mask is not None:
                    dst.sparsity_mask.copy_(src.sparsity_mask)
            if ours.lstm is not None:
                ours.lstm.load_state_dict(module.lstm.state_dict())
            if module.proj_size is not None:
                ours.fc.load_state_dict(module.fc.state_dict())
        return ours


def _ncps_activation_name(cell: nn.Module) -> str:
    from ncps.torch.cfc_cell import LeCun

    kinds = {LeCun: "lecun_tanh", nn.Tanh: "tanh", nn.ReLU: "relu", nn.SiLU: "silu",
             nn.GELU: "gelu"}
    for m in cell.backbone or []:
        for kind, name in kinds.items():
            if type(m) is kind:
                return name
    return "lecun_tanh"

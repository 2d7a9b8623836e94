"""`LiquidFFN`: the drop-in replacement for a transformer's MLP block.

    x (batch, time, d_model) → [in-projection] → liquid layer → out-projection → same shape

``mode="sequence"`` runs the liquid layer across the tokens: causal, and it carries a state from
one token to the next (the decode state, which `generate()` has to carry like a KV cache).
``mode="token"`` treats every token on its own — one step from a zero state — which makes the
block a closed-form feed-forward map, stateless like the MLP it replaces.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ._common import check_choice, check_positive_int
from .cfc import CfC
from .ltc import LTC
from .scan import LiquidScan
from .wiring import make_wiring

CELLS = ("cfc", "ltc", "scan")
WIRINGS = ("fc", "ncp")
MODES = ("sequence", "token")


class LiquidFFN(nn.Module):
    """A liquid block with the MLP's interface.

    Args:
        d_model: the transformer's width (input and output features).
        cell: "cfc", "ltc" or "scan".
        wiring: "fc" (fully connected) or "ncp" (an AutoNCP circuit of ``units`` neurons whose
            motor neurons, ``motor_neurons`` of them, feed the out-projection).
        units: liquid neurons.
        mode: "sequence" (recurrent over tokens) or "token" (each token alone).
        in_features: width of an input projection in front of the liquid layer; default none for
            CfC and the scan (their own input weights are hoisted matmuls), ``units`` for LTC,
            whose per-synapse sigmoids cost batch × time × inputs × units.
        zero_init: start the out-projection at zero, so the block's output is exactly 0 (for a
            residual branch beside a frozen MLP).
        linear_skip: add a linear map d_model → d_model beside the liquid path. A pretrained
            MLP is partly linear (nearly all of it in a model's last layers); the skip carries
            that part — it can be set by least squares from the MLP's own activations — and the
            liquid layer learns the rest.
        **cell_kwargs: passed to the cell (e.g. ``backbone_units``, ``mode`` for CfC as
            ``cfc_mode``, ``ode_unfolds`` for LTC, ``chunk_size`` for the scan).
    """

    def __init__(
        self,
        d_model: int,
        cell: str = "cfc",
        wiring: str = "fc",
        units: int = 128,
        mode: str = "sequence",
        in_features: int | None = None,
        motor_neurons: int | None = None,
        zero_init: bool = False,
        linear_skip: bool = False,
        **cell_kwargs: Any,
    ) -> None:
        super().__init__()
        self.d_model = check_positive_int("d_model", d_model)
        self.cell = check_choice("cell", cell, CELLS)
        self.wiring_kind = check_choice("wiring", wiring, WIRINGS)
        self.units = check_positive_int("units", units)
        self.mode = check_choice("mode", mode, MODES)
        if in_features is None and cell == "ltc":
            in_features = min(units, d_model)
        if in_features is not None:
            check_positive_int("in_features", in_features)
        self.in_proj: nn.Module = (
            nn.Linear(d_model, in_features, bias=False) if in_features else nn.Identity()
        )
        d_in = in_features or d_model
        units_or_wiring: Any = units
        if wiring == "ncp":
            motor = motor_neurons if motor_neurons is not None else max(1, units // 4)
            units_or_wiring = make_wiring("ncp", units, check_positive_int("motor_neurons", motor))
        if cell == "cfc":
            if "cfc_mode" in cell_kwargs:
                cell_kwargs["mode"] = cell_kwargs.pop("cfc_mode")
            self.liquid: nn.Module = CfC(d_in, units_or_wiring, **cell_kwargs)
        elif cell == "ltc":
            self.liquid = LTC(d_in, units_or_wiring, **cell_kwargs)
        else:
            self.liquid = LiquidScan(d_in, units_or_wiring, **cell_kwargs)
        self.out_proj = nn.Linear(self.liquid.output_size, d_model)
        if zero_init:
            nn.init.zeros_(self.out_proj.weight)
            nn.init.zeros_(self.out_proj.bias)
        self.skip: nn.Linear | None = None
        if linear_skip:
            self.skip = nn.Linear(d_model, d_model)
            nn.init.zeros_(self.skip.weight)  # a no-op until set (least squares) or trained
            nn.init.zeros_(self.skip.bias)

    @property
    def stateful(self) -> bool:
        """Whether the block carries a decode state between tokens."""
        return self.mode == "sequence"

    def init_state(self, batch: int, device=None, dtype=None):
        """The zero decode state for ``batch`` sequences (None in token mode)."""
        if not self.stateful:
            return None
        ref = self.out_proj.weight
        device = device or ref.device
        dtype = dtype or ref.dtype
        h = torch.zeros(batch, self.liquid.state_size, device=device, dtype=dtype)
        return (h, torch.zeros_like(h)) if getattr(self.liquid, "mixed_memory", False) else h

    def forward(self, x: Tensor, state=None, return_state: bool = False):
        """x (batch, time, d_model) → y of the same shape; with ``return_state`` also the state
        after the last token, to continue from (``state``) on the next call."""
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError(
                f"LiquidFFN expects (batch, time, {self.d_model}), got {tuple(x.shape)}"
            )
        B, T, _ = x.shape
        u = self.in_proj(x)
        if self.mode == "token":
            if state is not None:
                raise ValueError("a token-mode LiquidFFN has no state to continue from")
            y, _ = self._recurrence(self.liquid, u.reshape(B * T, 1, -1), None)
            out = self._skip(x, self.out_proj(y.reshape(B, T, -1)))
            return (out, None) if return_state else out
        if T == 1:
            # one decoding step: the cell's `step` skips the sequence machinery (layouts, the
            # fused time loop), which dominates the cost of a single token
            y, new_state = self._recurrence(self.liquid.step, u[:, 0], state)
            y = y[:, None]
        else:
            y, new_state = self._recurrence(self.liquid, u, state)
        out = self._skip(x, self.out_proj(y))
        return (out, new_state) if return_state else out

    def _recurrence(self, fn, u: Tensor, state):
        """Run the liquid layer (``fn``: its forward or step) on ``u``.

        Under autocast the projections run in bf16/fp16, but the recurrence runs in its weights'
        own dtype: the fused time loop writes into preallocated buffers, which autocast does
        not cover, and a long recurrence is where low-precision rounding compounds."""
        kind = u.device.type
        if not torch.is_autocast_enabled(kind):
            return fn(u, state)
        dtype = next(self.liquid.parameters()).dtype
        with torch.autocast(kind, enabled=False):
            return fn(u.to(dtype), state)

    def _skip(self, x: Tensor, out: Tensor) -> Tensor:
        return out if self.skip is None else out + self.skip(x)

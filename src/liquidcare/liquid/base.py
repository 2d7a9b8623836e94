"""`LiquidSequence`: what every liquid sequence layer shares — the uniform interface.

    forward(x, state=None, timespans=None) -> (y, state)   over (batch, time, features)
    step(x_t, state=None, timespan=None)   -> (y_t, state)  one token, for decoding

Layouts (batch-first, time-first, unbatched), state checks and timespans are handled here once;
a layer supplies only its recurrence (`_sequence`, `_advance`) and its readout (`_readout`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._common import (
    add_batch_dim,
    drop_batch_dim,
    from_batch_time,
    split_state,
    time_major_timespans,
    to_batch_time,
)


class LiquidSequence(nn.Module):
    input_size: int
    state_size: int
    batch_first: bool = True
    return_sequences: bool = True
    mixed_memory: bool = False

    # --- what a layer supplies -----------------------------------------------------------------
    def _sequence(self, x: Tensor, h: Tensor, c: Tensor | None, ts: Tensor | None):
        """x (batch, time, in), ts (time, batch, 1) or None → (states (batch, time, state),
        final h, final c)."""
        raise NotImplementedError

    def _advance(self, x_t: Tensor, h: Tensor, c: Tensor | None, ts: Tensor | None):
        """One step: x_t (batch, in), ts (batch, 1) or None → (h, c)."""
        raise NotImplementedError

    def _readout(self, states: Tensor) -> Tensor:
        raise NotImplementedError

    # --- the shared interface ------------------------------------------------------------------
    def _split_state(self, state, batch: int, ref: Tensor):
        name = type(self).__name__
        return split_state(state, batch, self.state_size, self.mixed_memory, ref, name)

    def _packed_state(self, h: Tensor, c: Tensor | None):
        return (h, c) if self.mixed_memory else h

    def forward(self, x: Tensor, state=None, timespans=None):
        x, batched = to_batch_time(x, self.batch_first, self.input_size, type(self).__name__)
        B, T = x.shape[0], x.shape[1]
        if state is not None and not batched:
            state = add_batch_dim(state)
        h, c = self._split_state(state, B, x)
        ts = time_major_timespans(timespans, B, T, batched, self.batch_first)
        if ts is not None:
            ts = ts.to(device=x.device, dtype=x.dtype)
        states, h, c = self._sequence(x, h, c, ts)
        y = self._readout(states if self.return_sequences else states[:, -1])
        y = from_batch_time(y, batched, self.batch_first, self.return_sequences)
        new_state = self._packed_state(h, c)
        return y, (new_state if batched else drop_batch_dim(new_state))

    def step(self, x_t: Tensor, state=None, timespan: Tensor | float | None = None):
        """One decoding step: x_t (batch, input) → (y_t (batch, out), state)."""
        if x_t.dim() != 2 or x_t.shape[-1] != self.input_size:
            raise ValueError(f"step expects (batch, {self.input_size}), got {tuple(x_t.shape)}")
        B = x_t.shape[0]
        h, c = self._split_state(state, B, x_t)
        ts = None
        if timespan is not None:
            ts = torch.as_tensor(timespan, dtype=x_t.dtype, device=x_t.device)
            ts = ts.reshape(-1, 1).expand(B, 1)
        h, c = self._advance(x_t, h, c, ts)
        return self._readout(h), self._packed_state(h, c)

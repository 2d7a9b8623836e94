"""Shared plumbing of the liquid layers: activations, argument checks, layouts, timespans.

Everything here is small and boring on purpose, so that ``cfc.py``, ``ltc.py`` and ``scan.py``
can read like the papers' equations.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

# The CfC paper's backbone default, LeCun's scaled tanh: 1.7159 * tanh(0.666 * x).
LECUN_SCALE = 1.7159
LECUN_SLOPE = 0.666


def lecun_tanh(x: Tensor) -> Tensor:
    return LECUN_SCALE * torch.tanh(LECUN_SLOPE * x)


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "lecun_tanh": lecun_tanh,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "silu": nn.functional.silu,
    "gelu": nn.functional.gelu,
}


def get_activation(name: str) -> Callable[[Tensor], Tensor]:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {list(choices)}")
    return value  # type: ignore[return-value]


def to_batch_time(
    x: Tensor, batch_first: bool, input_size: int, layer: str
) -> tuple[Tensor, bool]:
    """Returns x as (batch, time, features) and whether the caller passed a batch at all."""
    if x.dim() not in (2, 3):
        raise ValueError(
            f"{layer} expects input of shape (batch, time, {input_size}) or (time, {input_size}),"
            f" got {tuple(x.shape)}"
        )
    if x.shape[-1] != input_size:
        raise ValueError(
            f"{layer} was built for input_size={input_size} but the input has "
            f"{x.shape[-1]} features (shape {tuple(x.shape)})"
        )
    batched = x.dim() == 3
    if not batched:
        x = x.unsqueeze(0)
    elif not batch_first:
        x = x.transpose(0, 1)
    return x, batched


def from_batch_time(y: Tensor, batched: bool, batch_first: bool, sequences: bool) -> Tensor:
    """Undoes `to_batch_time` for an output (batch, time, f) or, without sequences, (batch, f)."""
    if not batched:
        return y.squeeze(0)
    if sequences and not batch_first:
        return y.transpose(0, 1)
    return y


def time_major_timespans(
    timespans: Tensor | float | None, batch: int, steps: int, batched: bool, batch_first: bool
) -> Tensor | None:
    """Normalises the elapsed time of every step to shape (time, batch, 1), or None for Δt = 1.

    Unlike ``ncps`` (whose ``squeeze()`` only broadcasts right for batch 1), each sample keeps
    its own Δt: accepted shapes are a scalar, (time,), (batch, time) and (batch, time, 1) in the
    layer's layout.
    """
    if timespans is None:
        return None
    ts = torch.as_tensor(timespans)
    if ts.dim() == 0:
        return ts.reshape(1, 1, 1).expand(steps, batch, 1)
    if not batched:
        ts = ts.unsqueeze(0)
    elif not batch_first and ts.dim() >= 2:
        ts = ts.transpose(0, 1)
    if ts.dim() == 1 and ts.shape[0] == steps:
        ts = ts.unsqueeze(0).expand(batch, steps)
    if ts.dim() == 3 and ts.shape[-1] == 1:
        ts = ts.squeeze(-1)
    if ts.dim() != 2 or ts.shape[0] != batch or ts.shape[1] != steps:
        raise ValueError(
            f"timespans must be a scalar, (time,), (batch, time) or (batch, time, 1) for an input"
            f" of batch {batch} and {steps} steps; got {tuple(torch.as_tensor(timespans).shape)}"
        )
    return ts.transpose(0, 1).unsqueeze(-1)


def split_state(state, batch: int, size: int, mixed_memory: bool, ref: Tensor, layer: str):
    """Checks a recurrent layer's state and returns (h, c); zeros when ``state`` is None.

    With ``mixed_memory`` the state is the tuple (h, c) of the memory cell, as in ``ncps``.
    """
    if state is None:
        h = ref.new_zeros(batch, size)
        return h, (torch.zeros_like(h) if mixed_memory else None)
    if mixed_memory:
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise ValueError(f"a {layer} with mixed_memory=True takes its state as a tuple (h, c)")
        h, c = state
    else:
        h, c = state, None
    if not isinstance(h, Tensor) or h.shape != (batch, size):
        got = tuple(h.shape) if isinstance(h, Tensor) else type(h).__name__
        raise ValueError(f"{layer} state must have shape {(batch, size)}, got {got}")
    return h, c


def add_batch_dim(state):
    """An unbatched state (h or (h, c)) as a batch of one."""
    if isinstance(state, (tuple, list)):
        return tuple(s.unsqueeze(0) for s in state)
    return state.unsqueeze(0)


def drop_batch_dim(state):
    if isinstance(state, (tuple, list)):
        return tuple(s.squeeze(0) for s in state)
    return state.squeeze(0)


def derived(module: nn.Module, key: str, compute, sources: list[Tensor]):
    """``compute()`` — weights derived from parameters (masked, concatenated) — memoised while
    autograd is off.

    A decoding step is a handful of tiny matmuls, so rebuilding a masked or concatenated weight
    matrix every token costs more than using it. With grad enabled the result must stay in the
    autograd graph, so it is recomputed each call; without grad it is kept until any source
    tensor is modified in place (its version counter moves) or replaced (a new object).
    """
    if torch.is_grad_enabled():
        return compute()
    store = module.__dict__.setdefault("_derived_cache", {})
    stamp = tuple((id(t), t._version, t.device, t.dtype) for t in sources if t is not None)
    hit = store.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    value = compute()
    store[key] = (stamp, value)
    return value

"""Carrying each liquid block's state through `generate()`, beside the KV cache.

In ``sequence`` mode a liquid block is recurrent over tokens. When `generate()` decodes with a
cache it feeds the model only the new token, so each liquid block must continue from its state
after the previous tokens — the recurrent counterpart of the keys and values that attention keeps.
Like transformers' hybrid models (LFM2 keeps convolution states in its cache), the state belongs
to one generation: we key it on the cache object itself, so two generations never mix and the
state dies with its cache.

The blocks are called by the decoder as ``mlp(hidden_states)``, without the cache or the attention
mask. A forward pre-hook on the liquified model reads both for the call that is starting; the
blocks read that context, and a forward hook stores their new states under the cache once the
call has updated it.

Padding: a position whose attention mask is 0 leaves a block's state unchanged and gives output
0. With left padding (how decoder-only models batch prompts) the pads come first, so each
sequence starts its recurrence from the zero state at its first real token — exactly as if it had
been run alone; that is what makes the cached and the recomputing generation give the same tokens.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from liquidcare.liquid import LiquidFFN

State = Any  # a Tensor (batch, state) or, for mixed-memory cells, a tuple of two


class LiquidStateError(RuntimeError):
    """The liquid states and the KV cache disagree (the cache was cropped, reused or re-batched)."""


def _index_state(state: State, rows: Tensor) -> State:
    if isinstance(state, tuple):
        return tuple(s.index_select(0, rows) for s in state)
    return state.index_select(0, rows)


def _put_state(dst: State, rows: Tensor, src: State) -> State:
    if isinstance(dst, tuple):
        return tuple(d.index_copy(0, rows, s) for d, s in zip(dst, src, strict=True))
    return dst.index_copy(0, rows, src)


def _detach(state: State) -> State:
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def _batch_of(state: State) -> int:
    return (state[0] if isinstance(state, tuple) else state).shape[0]


def _runs(pattern: Tensor) -> list[tuple[int, int]]:
    """Start and end of each run of ones in a 0/1 row."""
    padded = torch.cat([pattern.new_zeros(1), pattern.to(torch.int8), pattern.new_zeros(1)])
    edges = torch.diff(padded.to(torch.int8)).nonzero().flatten().tolist()
    return list(zip(edges[0::2], edges[1::2], strict=True))


def masked_sequence(ffn: LiquidFFN, x: Tensor, state: State | None, mask: Tensor):
    """Run ``ffn`` over x (batch, time, d) where mask (batch, time) is 1 on real tokens.

    Rows that share a mask pattern run together, one call per run of real tokens, so a batch of
    left-padded prompts costs one call per distinct prompt length.
    """
    B, T, _ = x.shape
    if state is None:
        state = ffn.init_state(B, device=x.device, dtype=x.dtype)
    out = x.new_zeros(B, T, ffn.d_model)
    patterns, inverse = torch.unique(mask.to(torch.int8), dim=0, return_inverse=True)
    new_state = state
    for g in range(patterns.shape[0]):
        rows = (inverse == g).nonzero().flatten()
        s = _index_state(state, rows)
        for start, end in _runs(patterns[g]):
            y, s = ffn(x[rows, start:end], s, return_state=True)
            out = out.index_put((rows[:, None], torch.arange(start, end, device=x.device)), y)
        new_state = _put_state(new_state, rows, s)
    return out, new_state


@dataclass
class _Call:
    """What one forward call of the liquified model needs to know."""

    cache: Any
    past: int
    tokens: int
    mask: Tensor | None
    states: dict[int, State]
    new_states: dict[int, State] = field(default_factory=dict)


@dataclass
class _Saved:
    length: int
    states: dict[int, State]


def _find_cache(kwargs: dict[str, Any]) -> Any:
    for key in ("cache", "past_key_values"):
        value = kwargs.get(key)
        if value is not None and hasattr(value, "get_seq_length"):
            return value
    return None


class LiquidRuntime:
    """One per liquified model: the per-call context and the states kept per KV cache."""

    def __init__(self) -> None:
        self._saved: weakref.WeakKeyDictionary[Any, _Saved] = weakref.WeakKeyDictionary()
        self._call: _Call | None = None
        self._handles: list[Any] = []
        self.stateful = False

    # --- hooks on the liquified model ----------------------------------------------------------
    def attach(self, model: nn.Module, stateful: bool) -> None:
        self.stateful = stateful
        if not stateful or self._handles:
            return
        self._handles = [
            model.register_forward_pre_hook(self._pre_hook, with_kwargs=True),
            model.register_forward_hook(self._post_hook, with_kwargs=True, always_call=True),
        ]
        # generate()'s beam search calls `model._reorder_cache(cache, beam_idx)` when the model
        # has one; ours reorders the liquid states with the keys and values.
        model._reorder_cache = self.reorder_cache

    def detach(self, model: nn.Module) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if model.__dict__.get("_reorder_cache") == self.reorder_cache:
            del model._reorder_cache

    def _pre_hook(self, module: nn.Module, args: tuple, kwargs: dict[str, Any]):
        self._call = None
        tokens_in = kwargs.get("input_ids")
        if tokens_in is None and args and isinstance(args[0], Tensor):
            tokens_in = args[0]
        if tokens_in is None:
            tokens_in = kwargs.get("inputs_embeds")
        if tokens_in is None or tokens_in.dim() < 2:
            return None
        T = tokens_in.shape[1]
        cache = _find_cache(kwargs)
        past = cache.get_seq_length() if cache is not None else 0
        states: dict[int, State] = {}
        if past > 0:
            saved = self._saved.get(cache)
            if saved is None or saved.length != past:
                covered = "no liquid state" if saved is None else f"{saved.length} tokens"
                raise LiquidStateError(
                    f"the KV cache holds {past} tokens but the liquid layers' state covers "
                    f"{covered}: a liquified model in sequence mode can only continue a cache "
                    "that it filled itself, token by token (cropping, e.g. by assisted "
                    "decoding, and caches filled by another model are not supported)"
                )
            states = saved.states
        mask = kwargs.get("attention_mask")
        if mask is not None:
            if not isinstance(mask, Tensor) or mask.dim() != 2 or mask.shape[1] < T:
                raise ValueError(
                    "a liquified model in sequence mode needs attention_mask as a "
                    "(batch, past + new tokens) 0/1 tensor; got "
                    f"{getattr(mask, 'shape', type(mask).__name__)}"
                )
            mask = mask[:, -T:].bool()
            if bool(mask.all()):
                mask = None
        self._call = _Call(cache, past, T, mask, states)
        return None

    def _post_hook(self, module: nn.Module, args: tuple, kwargs: dict[str, Any], output: Any):
        call, self._call = self._call, None
        if call is None or not call.new_states:
            return None
        cache = call.cache
        if cache is None:
            # the model made its own cache (use_cache=True without one): it is in the output
            # (read `cache` only: the old name `past_key_values` is a deprecated alias in 5.x)
            cache = getattr(output, "cache", None)
        if cache is None or not hasattr(cache, "get_seq_length"):
            return None
        if cache.get_seq_length() == call.past + call.tokens:
            states = {k: _detach(v) for k, v in call.new_states.items()}
            self._saved[cache] = _Saved(call.past + call.tokens, states)
        return None

    def reorder_cache(self, cache: Any, beam_idx: Tensor) -> Any:
        cache.reorder_cache(beam_idx)
        saved = self._saved.get(cache)
        if saved is not None:
            for layer, state in saved.states.items():
                ref = state[0] if isinstance(state, tuple) else state
                saved.states[layer] = _index_state(state, beam_idx.to(ref.device))
        return cache

    # --- what a liquid block calls -----------------------------------------------------------
    def run(self, layer: int, ffn: LiquidFFN, x: Tensor) -> Tensor:
        call = self._call
        if not ffn.stateful or call is None:
            return ffn(x)
        state = call.states.get(layer)
        if state is not None and _batch_of(state) != x.shape[0]:
            raise LiquidStateError(
                f"layer {layer}: the liquid state is for a batch of {_batch_of(state)} but the "
                f"call has {x.shape[0]} sequences"
            )
        if call.mask is None:
            y, new_state = ffn(x, state, return_state=True)
        else:
            if call.mask.shape[0] != x.shape[0]:
                raise ValueError(
                    f"attention_mask has {call.mask.shape[0]} rows for {x.shape[0]} sequences"
                )
            y, new_state = masked_sequence(ffn, x, state, call.mask.to(x.device))
        call.new_states[layer] = new_state
        return y

"""Running only the decoder blocks from layer k on, from the cached residual stream.

The blocks before the first liquified one are frozen and unchanged, so their output on a given
text is the teacher's, already captured. For the Llama family (Llama, Mistral, SmolLM2, Qwen2,
Phi-3: rotary positions computed inside, no position embedding added to ``inputs_embeds``) the
decoder's layer list is cut to ``layers[k:]`` for the call and the cached stream goes in as
``inputs_embeds``: same positions, same causal mask, same final norm, a fraction of the cost.
Other architectures (GPT-2 adds learned position embeddings to ``inputs_embeds``) run the whole
model on the token ids instead — slower, same result.
"""

from __future__ import annotations

from contextlib import contextmanager

from torch import Tensor, nn


def _decoder(model: nn.Module) -> nn.Module | None:
    inner = getattr(model, "model", None)
    if inner is None or not isinstance(getattr(inner, "layers", None), nn.ModuleList):
        return None
    if not hasattr(inner, "embed_tokens") or hasattr(inner, "embed_positions"):
        return None
    return inner


def supports_suffix(model: nn.Module) -> bool:
    return _decoder(model) is not None


@contextmanager
def _only_layers_from(inner: nn.Module, first: int):
    full = inner.layers
    inner.layers = nn.ModuleList(list(full)[first:])
    try:
        yield
    finally:
        inner.layers = full


def final_hidden(model: nn.Module, first: int, start: Tensor, input_ids: Tensor) -> Tensor:
    """The final normed hidden state (batch, T, d) of ``model`` on a packed block whose stream
    entering decoder block ``first`` is ``start`` (used when supported) — else from the ids."""
    inner = _decoder(model)
    if inner is None:
        out = model(input_ids=input_ids, output_hidden_states=True, use_cache=False)
        return out.hidden_states[-1]
    with _only_layers_from(inner, first):
        return inner(inputs_embeds=start, use_cache=False).last_hidden_state

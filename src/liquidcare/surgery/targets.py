"""Finding the MLP of every decoder block, by walking `named_modules()` like PEFT does.

Every causal LM family we know names its feed-forward block ``…<layer index>.mlp`` (GPT-2's
``transformer.h.3.mlp`` with Conv1D ``c_fc``/``c_proj``; Llama, Mistral, SmolLM2, Qwen2 and Phi's
``model.layers.3.mlp``), and calls it with the hidden states alone — so one rule finds them, and
the block that replaces it needs no knowledge of the architecture. Anything else is pointed at
with ``LiquidConfig.target_modules``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from torch import nn

from .config import LiquidConfig, LiquidConfigError, select_layers

# Last component of a feed-forward module's name in the families we know.
DEFAULT_MLP_NAMES = ("mlp", "feed_forward", "ffn")
_LAYER_INDEX = re.compile(r"(?:^|\.)(\d+)\.[^.]+$")
_CANDIDATE_HINT = re.compile(r"(mlp|ffn|feed|fc|dense|mixer|expert)", re.IGNORECASE)


class TargetNotFoundError(LookupError):
    """No MLP module matched; the message lists the candidate names."""


@dataclass(frozen=True)
class Target:
    """One MLP to liquify: its module path, the index of its decoder block, its parent."""

    name: str
    layer: int
    module: nn.Module


def hidden_size(model: nn.Module) -> int:
    """The transformer's width, from the model's config."""
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "get_text_config"):
        config = config.get_text_config(decoder=True)
    for key in ("hidden_size", "n_embd", "d_model", "dim"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    raise LiquidConfigError(
        "cannot tell the model's width: its config has none of hidden_size / n_embd / d_model"
    )


def _layer_of(name: str) -> int | None:
    match = _LAYER_INDEX.search(name)
    return int(match.group(1)) if match else None


def _matches(name: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if name == pattern or name.endswith("." + pattern):
            return True
        try:
            if re.fullmatch(pattern, name):
                return True
        except re.error:
            continue
    return False


def _candidates(model: nn.Module) -> list[str]:
    """Module-name patterns (layer index as N) that might be a feed-forward block."""
    seen: list[str] = []
    for name, _ in model.named_modules():
        if name and _CANDIDATE_HINT.search(name.rsplit(".", 1)[-1]):
            pattern = re.sub(r"\.\d+(\.|$)", r".N\1", name)
            if pattern not in seen:
                seen.append(pattern)
    return seen


def find_mlps(model: nn.Module, config: LiquidConfig | None = None) -> list[Target]:
    """The MLP modules of the decoder blocks selected by ``config.layers``, in layer order."""
    config = config or LiquidConfig()
    explicit = config.target_modules
    found: dict[int, Target] = {}
    for name, module in model.named_modules():
        if not name:
            continue
        if explicit is not None:
            hit = _matches(name, explicit)
        else:
            hit = name.rsplit(".", 1)[-1] in DEFAULT_MLP_NAMES
        if not hit:
            continue
        layer = _layer_of(name)
        if layer is None or layer in found:
            # an MLP outside a numbered block (or nested inside one already found) is not a
            # decoder block's feed-forward; skip it rather than replacing something else
            continue
        found[layer] = Target(name, layer, module)
    if not found:
        listed = "\n  ".join(_candidates(model)[:40]) or "(no module name looks like one)"
        how = (
            "LiquidConfig(target_modules=[...]) / --target-modules with the name (or a regular "
            "expression) of the feed-forward module of each decoder block, e.g. "
            "'model.layers.N.mlp' → target_modules=['mlp']"
        )
        what = f"target_modules={explicit}" if explicit else f"a module named {DEFAULT_MLP_NAMES}"
        raise TargetNotFoundError(
            f"no decoder-block MLP found in {type(model).__name__} ({what} under a numbered "
            f"layer). Candidate modules:\n  {listed}\nPoint at the right one with {how}."
        )
    n_layers = max(found) + 1
    return [found[i] for i in select_layers(config.layers, n_layers) if i in found]

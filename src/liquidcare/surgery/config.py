"""`LiquidConfig`: which liquid cell goes where, and the presets for the research's variants.

The config is a plain dataclass so that it round-trips through JSON (`liquid_config.json` of an
adapter) and YAML (`configs/*.yaml`). Unknown keys are refused by name: a typo such as ``unit=``
must not silently fall back to a default and train the wrong model for hours.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

CELLS = ("cfc", "ltc", "scan")
WIRINGS = ("fc", "ncp")
MODES = ("sequence", "token")
PLACEMENTS = ("replace", "parallel")
# attention_lora: the keys it takes, and the projections it wraps when `targets` is not given —
# Llama/Mistral/SmolLM2/Qwen2 (q/k/v/o_proj), Phi-3 (qkv_proj), Phi (self_attn.dense), GPT-2
# (Conv1D attn.c_attn and attn.c_proj; the MLP's own c_proj is never wrapped, see `lora`)
LORA_KEYS = ("r", "alpha", "targets")
DEFAULT_LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "qkv_proj", "self_attn.dense",
                        "attn.c_attn", "attn.c_proj"]
_LAYER_SPEC = re.compile(r"^(all|(first|last):\d+|\d+(\s*,\s*\d+)*)$")


class LiquidConfigError(ValueError):
    """A LiquidConfig field (or a key given for one) is not valid."""


@dataclass
class LiquidConfig:
    """What `liquify` builds.

    Args:
        cell: "cfc" (closed-form continuous-time), "ltc" (liquid time-constant, ODE solver) or
            "scan" (our parallel-scan liquid layer).
        wiring: "fc" (fully connected) or "ncp" (a Neural Circuit Policy: sparse sensory →
            inter → command → motor neurons).
        units: liquid neurons per block.
        mode: "sequence" — recurrent over the tokens, causal, carries a decode state that
            `generate()` keeps beside the KV cache; "token" — every token alone, stateless.
        layers: which decoder blocks: "all", "last:N", "first:N", "3,5,7" or a list of indices.
        placement: "replace" swaps the MLP for the liquid block (the research's design);
            "parallel" keeps the frozen MLP and adds a zero-initialised liquid branch beside it,
            so the model starts exactly at the base model's quality.
        motor_neurons: NCP output neurons feeding the out-projection (default units // 4).
        in_features: width of an input projection in front of the liquid layer (default: none
            for CfC and scan, ``min(units, d_model)`` for LTC).
        target_modules: names (or regular expressions) of the MLP modules, for architectures
            whose MLP is not found automatically; matched against the end of the module name.
        train_norms: also train the RMS/LayerNorm weights of the liquified blocks.
        linear_skip: add a trainable linear map beside each liquid layer (see `LiquidFFN`);
            distillation sets it by least squares from the MLP it replaces.
        cell_options: passed to the cell (e.g. ``backbone_units``, ``ode_unfolds``,
            ``chunk_size``).
        attention_lora: None (off), or ``{"r": 8, "alpha": 16, "targets": [...]}``: a low-rank
            adapter on the attention projections of the liquified blocks, trained with the
            liquid blocks to absorb the error they leave (LoLCATs). ``alpha`` defaults to 2r,
            ``targets`` to `DEFAULT_LORA_TARGETS`; B starts at zero, so the model's outputs
            are unchanged at init.
    """

    cell: str = "cfc"
    wiring: str = "fc"
    units: int = 128
    mode: str = "sequence"
    layers: str | list[int] = "all"
    placement: str = "replace"
    motor_neurons: int | None = None
    in_features: int | None = None
    target_modules: list[str] | None = None
    train_norms: bool = False
    linear_skip: bool = False
    cell_options: dict[str, Any] = field(default_factory=dict)
    attention_lora: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        for name, choices in (
            ("cell", CELLS),
            ("wiring", WIRINGS),
            ("mode", MODES),
            ("placement", PLACEMENTS),
        ):
            value = getattr(self, name)
            if value not in choices:
                raise LiquidConfigError(f"LiquidConfig.{name}={value!r}: choose one of {choices}")
        for name in ("units", "motor_neurons", "in_features"):
            value = getattr(self, name)
            if value is None and name != "units":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise LiquidConfigError(f"LiquidConfig.{name}={value!r}: expected a positive int")
        if self.wiring == "ncp" and self.units < 8:
            raise LiquidConfigError(
                f"LiquidConfig.units={self.units}: an NCP wiring needs at least 8 neurons"
            )
        self.layers = _normalise_layers(self.layers)
        if self.target_modules is not None:
            if isinstance(self.target_modules, str):
                self.target_modules = [self.target_modules]
            if not self.target_modules or not all(isinstance(t, str) for t in self.target_modules):
                raise LiquidConfigError(
                    f"LiquidConfig.target_modules={self.target_modules!r}: expected module names"
                )
        if not isinstance(self.cell_options, dict):
            raise LiquidConfigError("LiquidConfig.cell_options must be a mapping")
        self.attention_lora = _normalise_lora(self.attention_lora)

    # --- (de)serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LiquidConfig:
        """Build from a mapping, refusing unknown keys by name."""
        if not isinstance(data, dict):
            raise LiquidConfigError(f"a liquid config must be a mapping, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LiquidConfigError(
                f"unknown LiquidConfig key(s) {unknown}; known keys: {sorted(known)}"
            )
        return cls(**data)

    def replace(self, **changes: Any) -> LiquidConfig:
        """A copy with some fields changed (None values are ignored, as from unset CLI flags)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return LiquidConfig.from_dict({**self.to_dict(), **changes})


def _normalise_layers(layers: str | list[int] | tuple[int, ...]) -> str | list[int]:
    if isinstance(layers, (list, tuple)):
        if not layers or not all(isinstance(i, int) and not isinstance(i, bool) for i in layers):
            raise LiquidConfigError(f"LiquidConfig.layers={layers!r}: expected layer indices")
        return sorted(set(int(i) for i in layers))
    if not isinstance(layers, str) or not _LAYER_SPEC.match(layers.strip()):
        raise LiquidConfigError(
            f"LiquidConfig.layers={layers!r}: use 'all', 'last:N', 'first:N' or '3,5,7'"
        )
    layers = layers.strip()
    if layers[0].isdigit():
        return sorted({int(p) for p in layers.split(",")})
    return layers


def _normalise_lora(spec: Any) -> dict[str, Any] | None:
    """``attention_lora`` with every key filled in (so the adapter's JSON says what was built),
    or None; a bad key or value is named."""
    if spec is None:
        return None
    where = "LiquidConfig.attention_lora"
    if not isinstance(spec, dict):
        raise LiquidConfigError(f"{where}={spec!r}: expected None or a mapping with keys "
                                f"{list(LORA_KEYS)}")
    unknown = sorted(set(spec) - set(LORA_KEYS))
    if unknown:
        raise LiquidConfigError(f"{where}: unknown key(s) {unknown}; known keys: {list(LORA_KEYS)}")
    r = spec.get("r", 8)
    if isinstance(r, bool) or not isinstance(r, int) or r <= 0:
        raise LiquidConfigError(f"{where}.r={r!r}: expected a positive int (the rank)")
    alpha = spec.get("alpha", 2 * r)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
        raise LiquidConfigError(f"{where}.alpha={alpha!r}: expected a positive number")
    targets = spec.get("targets", DEFAULT_LORA_TARGETS)
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(targets, (list, tuple)) or not targets or \
            not all(isinstance(t, str) and t for t in targets):
        raise LiquidConfigError(f"{where}.targets={targets!r}: expected projection names, "
                                "e.g. ['q_proj', 'v_proj']")
    return {"r": r, "alpha": float(alpha), "targets": list(targets)}


def select_layers(layers: str | list[int], n_layers: int) -> list[int]:
    """The decoder-block indices that ``layers`` names in a model with ``n_layers`` blocks."""
    if isinstance(layers, list):
        bad = [i for i in layers if not 0 <= i < n_layers]
        if bad:
            raise LiquidConfigError(
                f"LiquidConfig.layers: {bad} out of range; the model has layers 0..{n_layers - 1}"
            )
        return list(layers)
    if layers == "all":
        return list(range(n_layers))
    kind, count = layers.split(":")
    n = int(count)
    if not 1 <= n <= n_layers:
        raise LiquidConfigError(
            f"LiquidConfig.layers={layers!r}: N must be in 1..{n_layers} for this model"
        )
    return list(range(n)) if kind == "first" else list(range(n_layers - n, n_layers))


# The research's five variants (GPT-2 with CfC-FC, CfC-NCP, LTC-FC, LTC-NCP; Mistral with
# CfC-FC; all replacing every MLP and recurrent over tokens) and our own. LTC gets fewer neurons:
# its ODE solver costs ``ode_unfolds`` full synapse passes per token, which is what ran the
# research out of memory.
PRESETS: dict[str, dict[str, Any]] = {
    "cfc-fc-gpt2": {"cell": "cfc", "wiring": "fc", "units": 256},
    "cfc-ncp-gpt2": {"cell": "cfc", "wiring": "ncp", "units": 256},
    "ltc-fc-gpt2": {"cell": "ltc", "wiring": "fc", "units": 64},
    "ltc-ncp-gpt2": {"cell": "ltc", "wiring": "ncp", "units": 64},
    "cfc-fc-mistral": {"cell": "cfc", "wiring": "fc", "units": 512},
    # ours, for any base model
    "cfc-fc": {"cell": "cfc", "wiring": "fc", "units": 256},
    "cfc-ncp": {"cell": "cfc", "wiring": "ncp", "units": 256},
    "ltc-fc": {"cell": "ltc", "wiring": "fc", "units": 64},
    "ltc-ncp": {"cell": "ltc", "wiring": "ncp", "units": 64},
    "scan-fc": {"cell": "scan", "wiring": "fc", "units": 512},
    "scan-ncp": {"cell": "scan", "wiring": "ncp", "units": 512},
}


def preset(name: str, **overrides: Any) -> LiquidConfig:
    """The config of a named preset, with ``overrides`` (e.g. ``layers="last:6"``) applied."""
    if name not in PRESETS:
        raise LiquidConfigError(f"unknown preset {name!r}; presets: {sorted(PRESETS)}")
    return LiquidConfig.from_dict(dict(PRESETS[name])).replace(**overrides)

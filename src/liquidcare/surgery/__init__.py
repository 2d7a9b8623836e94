"""Model surgery: find a causal LM's MLPs, put liquid blocks in their place, save only those.

    model = liquify(model, LiquidConfig(cell="cfc", wiring="ncp", layers="last:6"))
    trainable_summary(model)
    save_liquid(model, "runs/care")            # liquid_config.json + liquid_model.safetensors
    model = load_liquid(fresh_base, "runs/care")
"""

from .adapter import (
    AdapterError,
    is_adapter_dir,
    load_liquid,
    load_model,
    model_version,
    read_adapter_config,
    save_liquid,
)
from .config import PRESETS, LiquidConfig, LiquidConfigError, preset, select_layers
from .decoding import LiquidRuntime, LiquidStateError, masked_sequence
from .liquify import (
    LiquidInfo,
    LiquidMLP,
    ParameterSummary,
    base_model_id,
    fingerprint,
    is_liquified,
    liquid_blocks,
    liquid_state_dict,
    liquify,
    trainable_summary,
)
from .lora import LoRALinear, add_attention_lora, lora_modules
from .targets import Target, TargetNotFoundError, find_mlps, hidden_size

__all__ = [
    "PRESETS",
    "AdapterError",
    "LiquidConfig",
    "LiquidConfigError",
    "LiquidInfo",
    "LiquidMLP",
    "LiquidRuntime",
    "LiquidStateError",
    "LoRALinear",
    "ParameterSummary",
    "Target",
    "TargetNotFoundError",
    "add_attention_lora",
    "base_model_id",
    "find_mlps",
    "fingerprint",
    "hidden_size",
    "is_adapter_dir",
    "is_liquified",
    "liquid_blocks",
    "liquid_state_dict",
    "model_version",
    "liquify",
    "load_liquid",
    "load_model",
    "lora_modules",
    "masked_sequence",
    "preset",
    "read_adapter_config",
    "save_liquid",
    "select_layers",
    "trainable_summary",
]

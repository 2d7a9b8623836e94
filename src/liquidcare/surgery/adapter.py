"""Liquid adapters: only the liquid weights, plus the config that rebuilds them on a base model.

    DIR/liquid_config.json        what `liquify` was given, the base model's id and fingerprint,
                                  the library version, and the weights file's size and SHA-256
    DIR/liquid_model.safetensors  the liquid parameters only (PEFT's adapter_model.safetensors)

The directory is written beside its final place and renamed into it, so a crash mid-write leaves
either the old adapter or the new one, never a mixture. Loading checks, in this order, that the
config is readable and has only known keys, that the weights file is whole (size and hash), and
that the base model is the one the adapter was trained on.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from liquidcare import __version__

from .config import LiquidConfig, LiquidConfigError
from .liquify import INFO_ATTR, fingerprint, is_liquified, liquid_state_dict, liquify

CONFIG_NAME = "liquid_config.json"
WEIGHTS_NAME = "liquid_model.safetensors"
FORMAT = "liquidcare-adapter"
FORMAT_VERSION = 1
_KEYS = {
    "format",
    "format_version",
    "library_version",
    "base_model",
    "base_fingerprint",
    "d_model",
    "targets",
    "liquid_config",
    "weights",
}


class AdapterError(ValueError):
    """An adapter directory cannot be used; the message says which file and why."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_liquid(model: nn.Module, directory: str | os.PathLike[str]) -> Path:
    """Write the adapter of a liquified model to ``directory`` (atomically); returns the path."""
    if not is_liquified(model):
        raise ValueError("save_liquid needs a liquified model (see liquidcare.surgery.liquify)")
    info = getattr(model, INFO_ATTR)
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        tensors = {k: v.contiguous().cpu() for k, v in liquid_state_dict(model).items()}
        save_file(tensors, str(tmp / WEIGHTS_NAME), metadata={"format": "pt"})
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "library_version": __version__,
            "base_model": info.base_model,
            "base_fingerprint": info.base_fingerprint,
            "d_model": info.d_model,
            "targets": info.targets,
            "liquid_config": info.config.to_dict(),
            "weights": {
                "file": WEIGHTS_NAME,
                "bytes": (tmp / WEIGHTS_NAME).stat().st_size,
                "sha256": _sha256(tmp / WEIGHTS_NAME),
            },
        }
        (tmp / CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n")
        for name in (WEIGHTS_NAME, CONFIG_NAME):
            with open(tmp / name, "rb") as f:
                os.fsync(f.fileno())
        # swap directories: the old adapter stays in place until the new one is complete
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, old / "adapter")
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def read_adapter_config(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The adapter's `liquid_config.json`, checked: known keys, a valid LiquidConfig."""
    path = Path(directory) / CONFIG_NAME
    if not Path(directory).is_dir():
        raise AdapterError(f"{directory}: no such adapter directory")
    if not path.is_file():
        raise AdapterError(f"{path} is missing: {directory} is not a liquid adapter")
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AdapterError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise AdapterError(f"{path} is not a liquidcare adapter config (format != {FORMAT!r})")
    unknown = sorted(set(meta) - _KEYS)
    if unknown:
        raise AdapterError(f"{path}: unknown config key(s) {unknown}; known: {sorted(_KEYS)}")
    missing = sorted(_KEYS - set(meta))
    if missing:
        raise AdapterError(f"{path}: missing config key(s) {missing}")
    if meta["format_version"] > FORMAT_VERSION:
        raise AdapterError(
            f"{path}: format version {meta['format_version']} is newer than this liquidcare "
            f"({__version__}) reads ({FORMAT_VERSION}); upgrade liquidcare"
        )
    try:
        meta["liquid_config"] = LiquidConfig.from_dict(meta["liquid_config"])
    except (LiquidConfigError, TypeError) as err:
        raise AdapterError(f"{path}: liquid_config: {err}") from None
    return meta


def load_liquid(base_model: nn.Module, directory: str | os.PathLike[str]) -> nn.Module:
    """Rebuild a liquified model: liquify ``base_model`` as the adapter says, load its weights.

    Refuses (AdapterError) a base model other than the one the adapter was trained on, a
    truncated or corrupt weights file, and configs with unknown keys — before touching the model.
    """
    meta = read_adapter_config(directory)
    weights = Path(directory) / meta["weights"]["file"]
    if not weights.is_file():
        raise AdapterError(f"{weights} is missing")
    size = weights.stat().st_size
    if size != meta["weights"]["bytes"]:
        raise AdapterError(
            f"{weights} is truncated or was replaced: {size} bytes, the config says "
            f"{meta['weights']['bytes']}"
        )
    if _sha256(weights) != meta["weights"]["sha256"]:
        raise AdapterError(f"{weights} is corrupt: its SHA-256 does not match the config")
    found = fingerprint(base_model)
    if found != meta["base_fingerprint"]:
        raise AdapterError(
            f"this adapter was trained on base model {meta['base_model']!r} (fingerprint "
            f"{meta['base_fingerprint']}), but the model given has fingerprint {found}; load "
            f"{meta['base_model']!r} as the base"
        )
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as err:
        raise AdapterError(f"{weights} cannot be read: {err}") from None
    model = liquify(base_model, meta["liquid_config"])
    params = dict(model.named_parameters())
    expected = set(liquid_state_dict(model))
    missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
    if missing or unexpected:
        raise AdapterError(
            f"{weights} does not fit the model the config builds: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    for name, value in tensors.items():
        if params[name].shape != value.shape:
            raise AdapterError(
                f"{weights}: {name} has shape {tuple(value.shape)}, the model expects "
                f"{tuple(params[name].shape)}"
            )
        with torch.no_grad():  # copy_ on the parameter itself bumps its version counter
            params[name].copy_(value.to(params[name].device, params[name].dtype))
    getattr(model, INFO_ATTR).base_model = meta["base_model"]
    return model


def is_adapter_dir(path: str | os.PathLike[str]) -> bool:
    return (Path(path) / CONFIG_NAME).is_file()


def load_model(name_or_dir: str, device: str = "auto", dtype: Any = None):
    """A base model by name (see `liquidcare.models.load_base`), a liquid adapter directory, or
    a run directory holding one in ``adapter/``: the adapter's base model is loaded and
    liquified as the adapter says. Returns (model, tokenizer)."""
    from liquidcare.models import load_base

    if not is_adapter_dir(name_or_dir) and is_adapter_dir(Path(name_or_dir) / "adapter"):
        name_or_dir = str(Path(name_or_dir) / "adapter")

    if is_adapter_dir(name_or_dir):
        meta = read_adapter_config(name_or_dir)
        base, tokenizer = load_base(meta["base_model"], device=device, dtype=dtype)
        return load_liquid(base, name_or_dir), tokenizer
    return load_base(name_or_dir, device=device, dtype=dtype)


def model_version(name_or_dir: str | os.PathLike[str]) -> str:
    """A short name for *which weights* wrote a reply: the store keeps it beside every message.

    A base model is named as given (``"smollm2"``). An adapter is ``RUN@SHA12``: the run's folder
    name and the first 12 hex digits of the adapter weights' SHA-256, so that two retrained
    versions of one run never share a name even if they share a folder.
    """
    path = Path(name_or_dir)
    if not is_adapter_dir(path) and is_adapter_dir(path / "adapter"):
        path = path / "adapter"
    if not is_adapter_dir(path):
        return str(name_or_dir)
    meta = read_adapter_config(path)
    run = path.parent.name if path.name == "adapter" else path.name
    return f"{run}@{meta['weights']['sha256'][:12]}"

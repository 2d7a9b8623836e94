"""The training state on disk, so that a killed run continues where it stopped.

``runs/NAME/checkpoint.pt`` holds, per stage, the step reached, the trainable weights, the
optimizer's and the scheduler's state and the losses so far, and the run's config. Resuming
checks all of it before any work is done (the teacher pass takes minutes on the embedded model):

- ``--resume`` with no checkpoint is an error, not a silent fresh start — a mistyped ``--name``
  would otherwise cost a whole run and look like a resume;
- a truncated or damaged file is named as such (it is written atomically, so this means it was
  damaged after it was written, or is not ours);
- a config that differs from the one the checkpoint was written with, in anything that shapes
  the training, is refused with the keys that changed (only where the run goes and how it is
  watched may change: ``RESUMABLE``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from liquidcare.atomic import write_with
from liquidcare.errors import UserError

from . import parallel

# run-config keys a resume may change: they decide where the run lives, on what device and in
# what precision it continues, and how it is watched, not what it learns
RESUMABLE = frozenset({"name", "output_dir", "device", "precision", "checkpoint_every",
                       "samples", "sample_tokens"})
_STAGE_KEYS = ("step", "trainable", "optimizer", "scheduler", "losses")


class CheckpointError(UserError):
    """A checkpoint to resume from is missing, damaged, or from another config."""


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_changes(saved: dict[str, Any], current: dict[str, Any],
                   defaults: dict[str, Any] | None = None) -> list[str]:
    """``key old -> new`` for every setting (nested keys dotted) outside ``RESUMABLE`` that
    differs between the two configs. A key the saved config lacks that ``current`` holds at
    its value in ``defaults`` is not a change: a setting that a later version added (such as
    ``stage2.lora_lr``), left at its default, changes nothing the interrupted run did."""
    old, new = _flatten(saved), _flatten(current)
    default = _flatten(defaults or {})
    changes = []
    for key in sorted(set(old) | set(new)):
        if key.split(".")[0] in RESUMABLE:
            continue
        if key not in old and key in default and new.get(key) == default[key]:
            continue
        if old.get(key, "<unset>") != new.get(key, "<unset>"):
            changes.append(f"{key} {old.get(key, '<unset>')!r} -> {new.get(key, '<unset>')!r}")
    return changes


class Checkpointer:
    """Writes the training state every ``every`` steps to ``path`` (atomically, so a kill
    mid-write leaves the previous checkpoint), and hands it back to resume from. In a
    data-parallel run every process reads it and only the main one writes it. ``config`` (the
    run's, as a plain mapping) is stored with it and, on resume, compared."""

    def __init__(self, path: str | os.PathLike[str], every: int = 50, resume: bool = False,
                 config: dict[str, Any] | None = None,
                 defaults: dict[str, Any] | None = None):
        self.path = Path(path)
        self.every = every
        self.config = config
        self.defaults = defaults  # the config class's defaults (`config_changes`)
        self.state: dict | None = None
        if resume:
            self.state = self._load()

    def _load(self) -> dict:
        if not self.path.is_file():
            raise CheckpointError(f"--resume: there is no checkpoint at {self.path}, so nothing "
                                  "to resume (run without --resume to start afresh)")
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as err:  # a damaged checkpoint must not pass for a fresh start
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(f"cannot resume: {self.path} is truncated or damaged ({reason});"
                                  " move it away to start afresh") from None
        stages = state.get("stages") if isinstance(state, dict) else None
        if not isinstance(stages, dict) or not all(
                isinstance(s, dict) and all(k in s for k in _STAGE_KEYS) for s in stages.values()):
            raise CheckpointError(f"cannot resume: {self.path} is not a liquidcare training "
                                  "checkpoint (no stages with step, weights and optimizer)")
        saved = state.get("config")
        if self.config is not None and isinstance(saved, dict):
            changes = config_changes(saved, self.config, self.defaults)
            if changes:
                raise CheckpointError(
                    f"cannot resume {self.path}: the config changed since it was written: "
                    f"{', '.join(changes)} (resume with the old settings, or start a fresh run "
                    "without --resume or under another --name)")
        return state

    def start_of(self, name: str, model: nn.Module, opt, sched) -> tuple[int, list[float]]:
        """Load the saved state of stage ``name`` if the checkpoint has one."""
        state = self.state
        if state is None or name not in state["stages"]:
            return 0, []
        saved = state["stages"][name]
        params = {k: p for k, p in model.named_parameters() if p.requires_grad}
        unknown = sorted(set(saved["trainable"]) - set(params))
        wrong = sorted(k for k, v in saved["trainable"].items()
                       if k in params and tuple(v.shape) != tuple(params[k].shape))
        if unknown or wrong or set(params) - set(saved["trainable"]):
            raise CheckpointError(
                f"cannot resume {name} from {self.path}: its weights do not fit this model "
                f"(unknown {unknown[:3]}, other shape {wrong[:3]}); it was written by a run "
                "with another model or liquid config")
        with torch.no_grad():
            for key, value in saved["trainable"].items():
                params[key].copy_(value.to(params[key].device, params[key].dtype))
        opt.load_state_dict(saved["optimizer"])
        sched.load_state_dict(saved["scheduler"])
        return saved["step"], list(saved["losses"])

    def save(self, name: str, step: int, model: nn.Module, opt, sched, losses: list[float]):
        state = self.state or {"stages": {}}
        if self.config is not None:
            state["config"] = self.config
        state["stages"][name] = {
            "step": step,
            "trainable": {k: p.detach().cpu() for k, p in model.named_parameters()
                          if p.requires_grad},
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "losses": list(losses),
        }
        self.state = state
        if not parallel.current().main:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_with(self.path, lambda tmp: torch.save(state, tmp))

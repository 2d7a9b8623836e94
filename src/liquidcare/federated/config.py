"""`FedConfig`: every knob of a federated run, as Flower's flat ``run_config`` carries it.

Flower hands a ServerApp and every ClientApp the same ``run_config`` (the ``[tool.flwr.app.config]``
table of the app's pyproject.toml, overridden by ``flwr run --run-config``): a flat mapping of
hyphenated keys to scalars. `FedConfig` is that mapping as a checked dataclass, so a typo such as
``local-step`` is refused by name before any model is loaded.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from liquidcare.errors import UserError

STRATEGIES = ("fedavg", "fedprox", "fedadam")
DP_MODES = ("none", "server", "client")


class FederatedConfigError(UserError):
    """A federated run-config key or value is not valid; the message names it."""


@dataclass
class FedConfig:
    """What a federated run does (keys are the field names with ``_`` written ``-``).

    model: a base model name or folder (``smollm2``) — liquified with ``preset``/``layers``, in
        ``placement="parallel"`` unless given, so round 0 is exactly the base model — or a run or
        adapter directory (``runs/demo``), whose liquid blocks are the starting point.
    corpus: every centre's corpus (``care``: each centre keeps one language, Spanish- and
        English-speaking centres alternate; a .jsonl/.txt path: split by position). A supernode
        may name its own with ``--node-config "corpus='...'"``; ``ratings`` likewise names a
        centre's exported ratings (store `export_training_set` JSONL) for KTO.
    """

    model: str = "smollm2"
    preset: str = "cfc-ncp"
    layers: str = "last:6"
    placement: str = ""  # "" = parallel for a base model, the adapter's own for an adapter
    units: int = 0  # 0 = the preset's
    corpus: str = "care"
    ratings: str = ""
    rounds: int = 3
    local_steps: int = 4
    lr: float = 1e-3
    batch_size: int = 4
    block_size: int = 128
    max_train_tokens: int = 8_000
    max_val_tokens: int = 2_000
    strategy: str = "fedavg"
    proximal_mu: float = 0.01
    server_lr: float = 0.01
    dp: str = "none"
    dp_noise: float = 0.1
    dp_clip: float = 1.0
    secagg: bool = False  # SecAgg+: the server sees only the sum of the centres' updates
    min_clients: int = 2
    baseline_eval: bool = True  # round 0: every centre scores the starting adapter
    kto_steps: int = 2
    kto_beta: float = 0.1
    out: str = "runs/fed"
    device: str = "cpu"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise FederatedConfigError(f"strategy={self.strategy!r}: choose one of {STRATEGIES}")
        if self.dp not in DP_MODES:
            raise FederatedConfigError(f"dp={self.dp!r}: choose one of {DP_MODES}")
        for name in ("rounds", "batch_size", "block_size", "min_clients"):
            if int(getattr(self, name)) < 1:
                raise FederatedConfigError(f"{_key(name)}={getattr(self, name)!r}: must be >= 1")
        for name in ("local_steps", "kto_steps", "units"):
            if int(getattr(self, name)) < 0:
                raise FederatedConfigError(f"{_key(name)}={getattr(self, name)!r}: must be >= 0")
        if self.secagg and (self.strategy not in ("fedavg", "fedprox") or self.dp != "none"):
            raise FederatedConfigError(
                "secagg=true runs Flower's SecAgg+ workflow: the server sees only the mean "
                "update, so it aggregates with fedavg or fedprox and no DP wrapper; got "
                f"strategy={self.strategy!r}, dp={self.dp!r}")
        if self.lr <= 0:
            raise FederatedConfigError(f"lr={self.lr!r}: must be > 0")

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> FedConfig:
        """From Flower's run_config (hyphenated keys) or keyword-style keys; unknown refused."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            name = str(key).replace("-", "_")
            if name not in fields:
                known = sorted(_key(n) for n in fields)
                raise FederatedConfigError(f"unknown federated config key {key!r}; known: {known}")
            kind = type(fields[name].default)
            if kind is bool:
                if isinstance(value, str) and value.lower() in ("true", "false"):
                    value = value.lower() == "true"
                if not isinstance(value, bool):
                    raise FederatedConfigError(f"{key}={value!r}: expected true or false")
            try:
                values[name] = kind(value) if kind is not str else str(value)
            except (TypeError, ValueError):
                raise FederatedConfigError(
                    f"{key}={value!r}: expected a {kind.__name__}") from None
        return cls(**values)

    def to_run_config(self) -> dict[str, Any]:
        return {_key(k): v for k, v in dataclasses.asdict(self).items()}

    def to_json(self) -> str:
        return json.dumps(self.to_run_config(), sort_keys=True)


def _key(name: str) -> str:
    return name.replace("_", "-")

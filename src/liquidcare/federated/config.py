"""`FedConfig`: every knob of a federated run, as Flower's flat ``run_config`` carries it.

Flower hands a ServerApp and every ClientApp the same ``run_config`` (the ``[tool.flwr.app.config]``
table of the app's pyproject.toml, overridden by ``flwr run --run-config``): a flat mapping of
hyphenated keys to scalars. `FedConfig` is that mapping as a pydantic model, so a typo such as
``local-step`` or a value such as ``rounds = "many"`` is refused by name — with the file it came
from — before any model is loaded.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from liquidcare.errors import UserError

STRATEGIES = ("fedavg", "fedprox", "fedadam")
DP_MODES = ("none", "server", "client")
AGGREGATIONS = ("mean", "median", "trimmed-mean", "krum", "multi-krum", "bulyan")
UPDATE_CLIPS = ("none", "median", "fixed")
# where a Flower app's config comes from, for error messages
RUN_CONFIG = "the run config (federated_app/pyproject.toml, flwr run --run-config)"


class FederatedConfigError(UserError):
    """A federated run-config key or value is not valid; the message names it."""


class FedConfig(BaseModel):
    """What a federated run does (keys are the field names with ``_`` written ``-``).

    model: a base model name or folder (``smollm2``) — liquified with ``preset``/``layers``, in
        ``placement="parallel"`` unless given, so round 0 is exactly the base model — or a run or
        adapter directory (``runs/demo``), whose liquid blocks are the starting point.
    corpus: every centre's corpus (``care``: each centre keeps one language, Spanish- and
        English-speaking centres alternate; a .jsonl/.txt path: split by position). A supernode
        may name its own with ``--node-config "corpus='...'"``; ``ratings`` likewise names a
        centre's exported ratings for KTO (`store export --scope federated` JSONL: a centre
        refuses rows exported for another consent scope).
    """

    # extra keys refused; numbers written where text is expected (layers: 3) kept as text
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    model: str = "smollm2"
    preset: str = "cfc-ncp"
    layers: str = "last:6"
    placement: Literal["", "parallel", "replace"] = ""  # "": parallel for a base model, the
    # adapter's own for an adapter
    units: int = Field(0, ge=0)  # 0 = the preset's
    corpus: str = "care"
    ratings: str = ""
    rounds: int = Field(3, ge=1)
    local_steps: int = Field(4, ge=0)
    lr: float = Field(1e-3, gt=0)
    batch_size: int = Field(4, ge=1)
    block_size: int = Field(128, ge=2)
    max_train_tokens: int = Field(8_000, ge=1)
    max_val_tokens: int = Field(2_000, ge=1)
    strategy: Literal["fedavg", "fedprox", "fedadam"] = "fedavg"
    proximal_mu: float = Field(0.01, ge=0)
    server_lr: float = Field(0.01, gt=0)
    dp: Literal["none", "server", "client"] = "none"
    dp_noise: float = Field(0.1, ge=0)
    dp_clip: float = Field(1.0, gt=0)
    # defences against a bad centre (see `robust`): how the centres' updates are combined
    # (mean = the strategy's own) and how long an update may be before it is scaled down.
    # The defaults were chosen by measurement (benchmarks/federated_robust.py, docs/federated.md):
    # clipping to the round's median norm cost nothing honest and held one x50 sign-flipping
    # centre within 5% of the honest perplexity; FedMedian cost 5% honest on non-IID centres.
    aggregation: Literal["mean", "median", "trimmed-mean", "krum", "multi-krum",
                         "bulyan"] = "mean"
    trim_beta: float = Field(0.2, gt=0, lt=0.5)  # trimmed-mean: cut at each end
    assumed_malicious: int = Field(1, ge=0)  # f of Krum, Bulyan, and of the centre checks
    # median by default; none by default with secagg, whose server never sees one update
    update_clip: Literal["none", "median", "fixed"] = "median"
    clip_norm: float = Field(1.0, gt=0)  # update-clip=fixed: the bound
    secagg: bool = False  # SecAgg+: the server sees only the sum of the centres' updates
    min_clients: int = Field(2, ge=1)
    baseline_eval: bool = True  # round 0: every centre scores the starting adapter
    kto_steps: int = Field(2, ge=0)
    kto_beta: float = Field(0.1, gt=0)
    out: str = "runs/fed"
    device: str = "cpu"
    seed: int = 0

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise FederatedConfigError(_describe(err)) from None

    @model_validator(mode="after")
    def _options_fit_together(self) -> FedConfig:
        if self.secagg and "update_clip" not in self.model_fields_set:
            self.update_clip = "none"
        if self.secagg and (self.strategy not in ("fedavg", "fedprox") or self.dp != "none"):
            raise ValueError(
                "secagg=true runs Flower's SecAgg+ workflow: the server sees only the mean "
                "update, so it aggregates with fedavg or fedprox and no DP wrapper; got "
                f"strategy={self.strategy!r}, dp={self.dp!r}")
        if self.secagg and (self.aggregation != "mean" or self.update_clip != "none"):
            raise ValueError(
                "secagg=true: the server sees only the sum of the updates, so it can neither "
                "clip nor robustly aggregate each centre's; set aggregation=mean and "
                f"update-clip=none (got aggregation={self.aggregation!r}, "
                f"update-clip={self.update_clip!r})")
        if self.aggregation != "mean" and (self.strategy == "fedadam" or self.dp != "none"):
            raise ValueError(
                f"aggregation={self.aggregation!r} replaces the mean, which FedAdam's server "
                "optimiser and the DP wrappers' noise are built on; use strategy fedavg or "
                f"fedprox with dp=none (got strategy={self.strategy!r}, dp={self.dp!r})")
        return self

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str | None = None) -> FedConfig:
        """From Flower's run_config (hyphenated keys) or keyword-style keys; unknown keys are
        refused. ``source`` (a file, "the run config") starts every error message."""
        values = {str(key).replace("-", "_"): value for key, value in data.items()}
        try:
            return cls(**values)
        except FederatedConfigError as err:
            raise FederatedConfigError(f"{source}: {err}" if source else str(err)) from None

    def to_run_config(self) -> dict[str, Any]:
        return {_key(k): v for k, v in self.model_dump().items()}

    def to_json(self) -> str:
        return json.dumps(self.to_run_config(), sort_keys=True)


def _key(name: str) -> str:
    return name.replace("_", "-")


def _describe(err: ValidationError) -> str:
    """pydantic's errors as one line naming each key as the run config writes it."""
    parts = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"])
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            known = sorted(_key(n) for n in FedConfig.model_fields)
            parts.append(f"unknown federated config key {_key(field)!r}; known: {known}")
        elif field:
            parts.append(f"{_key(field)}={e['input']!r}: {message[0].lower()}{message[1:]}")
        else:
            parts.append(message)
    return "; ".join(parts)

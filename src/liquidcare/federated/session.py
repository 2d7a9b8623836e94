"""What the federation's server keeps between rounds and between restarts: the model holding
the global adapter, the per-round log of every centre, the round to start after, and the files
that hold all of it (both server paths, Flower's strategies and SecAgg+, share this).

    OUT/adapter/        the global liquid adapter after the last finished round
    OUT/state.json      that round, the run's config, per-round metrics of every centre
    OUT/server_state.pt the server optimiser's moments (FedAdam), so a resume is exact
    OUT/report.md, OUT/perplexity.png
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from logging import INFO
from pathlib import Path
from typing import Any

import numpy as np
import torch
from flwr.app import MetricRecord, RecordDict
from flwr.common import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy import Strategy

from liquidcare.atomic import write_json, write_with

from .config import FedConfig, FederatedConfigError

# keys of the config that decide the model's shape: a resume must not change them
_MODEL_KEYS = ("model", "preset", "layers", "placement", "units")


class RoundLog:
    """Per-round metrics of every centre (numbers only): filled by `Federation` and the
    evaluation metrics' aggregation on the Flower path, by the SecAgg+ strategy on the other."""

    def __init__(self, history: dict[str, Any] | None = None) -> None:
        self.rounds: dict[str, Any] = history or {}
        self.current = 0

    def row(self, server_round: int) -> dict[str, Any]:
        return self.rounds.setdefault(str(server_round), {"clients": {}})

    def client(self, server_round: int, partition: Any) -> dict[str, Any]:
        return self.row(server_round)["clients"].setdefault(str(int(partition)), {})

    def note_train(self, server_round: int, metrics: Mapping[str, Any], examples: int) -> None:
        """One centre's training metrics (its ``partition-id`` among them)."""
        client = self.client(server_round, metrics["partition-id"])
        client["train_loss_first"] = float(metrics["train-loss-first"])
        client["train_loss"] = float(metrics["train-loss"])
        client["train_examples"] = int(examples)
        if "kto-loss" in metrics:
            client["kto_loss"] = float(metrics["kto-loss"])

    def note_evaluate(self, server_round: int,
                      results: list[tuple[Mapping[str, Any], int]]) -> float:
        """Every centre's validation NLL per token and token count; returns (and records as
        ``global_val_ppl``) the pooled figure: every centre's validation tokens together."""
        nll = tokens = 0.0
        for metrics, count in results:
            client = self.client(server_round, metrics["partition-id"])
            client["val_ppl"] = float(np.exp(metrics["val-nll"]))
            client["val_tokens"] = int(count)
            nll += float(metrics["val-nll"]) * int(count)
            tokens += int(count)
        mean = nll / max(tokens, 1)
        self.row(server_round)["global_val_ppl"] = float(np.exp(mean))
        return mean

    def evaluate(self, records: list[RecordDict], weight_key: str) -> MetricRecord:
        from flwr.serverapp.strategy.strategy_utils import aggregate_metricrecords

        self.note_evaluate(self.current, [(r["metrics"], int(r["metrics"]["num-examples"]))
                                          for r in records])
        return aggregate_metricrecords(records, weight_key)


def _base_strategy(strategy: Strategy) -> Strategy:
    while hasattr(strategy, "strategy"):  # Flower's DP wrappers keep the wrapped one here
        strategy = strategy.strategy
    return strategy


def read_state(out: Path) -> dict[str, Any] | None:
    path = out / "state.json"
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise FederatedConfigError(f"cannot resume: {path} is not valid JSON ({err})") from None
    if not (out / "adapter").is_dir():
        raise FederatedConfigError(f"cannot resume: {path} names round {state.get('round')} "
                                   f"but {out / 'adapter'} is missing")
    return state


def save_optimizer(out: Path, strategy: Strategy) -> None:
    base = _base_strategy(strategy)
    moments = {k: getattr(base, k) for k in ("m_t", "v_t") if getattr(base, k, None)}
    if not moments:
        return
    state = {k: {n: torch.from_numpy(np.asarray(a)) for n, a in v.items()}
             for k, v in moments.items()}
    write_with(out / "server_state.pt", lambda tmp: torch.save(state, tmp))


def load_optimizer(out: Path, strategy: Strategy) -> None:
    path = out / "server_state.pt"
    if not path.is_file():
        return
    base = _base_strategy(strategy)
    saved = torch.load(path, map_location="cpu", weights_only=True)
    for key, value in saved.items():
        if hasattr(base, key):
            setattr(base, key, {n: t.numpy() for n, t in value.items()})


def wait_for_nodes(grid: Grid, wanted: int, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        found = len(list(grid.get_node_ids()))
        if found >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


class Session:
    """What both server paths share: the model holding the global adapter, the round to start
    after, the per-round log, and saving all of it after a round."""

    def __init__(self, cfg: FedConfig) -> None:
        from safetensors.torch import load_file

        from liquidcare.surgery import liquid_state_dict

        from .centre import build_model, initial_liquid_state
        from .params import load_arrays

        self.cfg = cfg
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.model, _ = build_model(cfg)
        self.state = read_state(self.out)
        load_arrays(self.model, initial_liquid_state(cfg))
        self.start = 0
        if self.state is not None:
            saved = self.state.get("config", {})
            changed = [k for k in _MODEL_KEYS if str(saved.get(k)) != str(getattr(cfg, k))]
            if changed:
                raise FederatedConfigError(
                    f"cannot resume {self.out}: it was run with a different {changed} "
                    f"({[saved.get(k) for k in changed]}); use another --out")
            weights = self.out / "adapter" / "liquid_model.safetensors"
            try:
                saved_weights = load_file(str(weights))
            except Exception as err:  # truncated, damaged or missing: named, not a traceback
                raise FederatedConfigError(
                    f"cannot resume {self.out}: {weights} is missing or damaged "
                    f"({str(err).strip() or type(err).__name__}); use another --out") from None
            load_arrays(self.model, saved_weights)
            self.start = int(self.state["round"])
            log(INFO, "resuming %s after round %d", self.out, self.start)
        total = sum(p.numel() for p in self.model.parameters())
        liquid = sum(t.numel() for t in liquid_state_dict(self.model).values())
        self.info = {"config": cfg.to_run_config(), "total_params": total,
                     "liquid_params": liquid, "full_model_bytes": 4 * total}
        self.history = RoundLog((self.state or {}).get("rounds"))
        # the round's config carries the run config (no client text): a supernode started
        # with nothing but its data then trains exactly what the server runs
        self.fed_config = json.dumps({k: v for k, v in cfg.to_run_config().items()
                                      if k not in ("out", "ratings", "corpus")})
        self.last_saved = self.start

    @property
    def finished(self) -> bool:
        return self.start >= self.cfg.rounds

    def save(self, server_round: int, strategy: Strategy | None = None) -> dict[str, Any]:
        """The global adapter (atomically), the optimiser's moments, state.json, the report."""
        from liquidcare.surgery import save_liquid


        save_liquid(self.model, self.out / "adapter")
        if strategy is not None:
            save_optimizer(self.out, strategy)
        self.last_saved = server_round
        return self.write_state()

    def write_state(self) -> dict[str, Any]:
        from .report import write_report

        saved = {"round": self.last_saved, **self.info, "rounds": self.history.rounds}
        write_json(self.out / "state.json", saved)
        write_report(self.out, saved)
        return saved

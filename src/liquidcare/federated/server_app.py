"""The federation's server: a Flower `ServerApp` that starts from the shared liquid adapter,
runs a Flower strategy (FedAvg, FedProx or FedAdam, optionally behind Flower's differential
privacy wrappers) for the rounds asked, and after every round saves the global adapter
(atomically, `save_liquid`) with the round it belongs to.

    OUT/adapter/        the global liquid adapter after the last finished round
    OUT/state.json      that round, the run's config, per-round metrics of every centre
    OUT/server_state.pt the server optimiser's moments (FedAdam), so a resume is exact
    OUT/report.md, OUT/perplexity.png

A restarted server with the same OUT resumes after the saved round (the strategy sees the true
round numbers), so a run of ``rounds=5`` killed after round 3 runs rounds 4 and 5 only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from logging import INFO, WARNING
from pathlib import Path
from typing import Any

import numpy as np
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.common import log
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import Strategy

from liquidcare.atomic import write_json, write_with

from .config import FedConfig, FederatedConfigError

# keys of the config that decide the model's shape: a resume must not change them
_MODEL_KEYS = ("model", "preset", "layers", "placement", "units")


class RoundLog:
    """Per-round metrics of every centre, filled by the strategy's metric aggregation."""

    def __init__(self, history: dict[str, Any] | None = None) -> None:
        self.rounds: dict[str, Any] = history or {}
        self.current = 0

    def _row(self, server_round: int) -> dict[str, Any]:
        return self.rounds.setdefault(str(server_round), {"clients": {}})

    def train(self, records: list[RecordDict], weight_key: str) -> MetricRecord:
        from flwr.serverapp.strategy.strategy_utils import aggregate_metricrecords

        row = self._row(self.current)
        for record in records:
            metrics = record["metrics"]
            client = row["clients"].setdefault(str(int(metrics["partition-id"])), {})
            client["train_loss_first"] = float(metrics["train-loss-first"])
            client["train_loss"] = float(metrics["train-loss"])
            client["train_examples"] = int(metrics["num-examples"])
            if "kto-loss" in metrics:
                client["kto_loss"] = float(metrics["kto-loss"])
        return aggregate_metricrecords(records, weight_key)

    def evaluate(self, records: list[RecordDict], weight_key: str) -> MetricRecord:
        from flwr.serverapp.strategy.strategy_utils import aggregate_metricrecords

        row = self._row(self.current)
        nll = tokens = 0.0
        for record in records:
            metrics = record["metrics"]
            client = row["clients"].setdefault(str(int(metrics["partition-id"])), {})
            client["val_ppl"] = float(np.exp(metrics["val-nll"]))
            client["val_tokens"] = int(metrics["num-examples"])
            nll += float(metrics["val-nll"]) * int(metrics["num-examples"])
            tokens += int(metrics["num-examples"])
        # the global perplexity: every centre's validation tokens pooled
        row["global_val_ppl"] = float(np.exp(nll / max(tokens, 1)))
        return aggregate_metricrecords(records, weight_key)


class Federation(Strategy):
    """Wraps a Flower strategy: true round numbers after a resume, a minimum of centres per
    round (fewer answers leave the global adapter as it was), bytes received per centre."""

    def __init__(self, inner: Strategy, offset: int, min_clients: int, log_: RoundLog) -> None:
        self.inner = inner
        self.offset = offset
        self.min_clients = min_clients
        self.log = log_

    def summary(self) -> None:
        self.inner.summary()

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        self.log.current = server_round + self.offset
        return self.inner.configure_train(server_round + self.offset, arrays, config, grid)

    def aggregate_train(self, server_round: int, replies: Iterable[Message]
                        ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        from .params import arrays_bytes

        replies = list(replies)
        valid = [r for r in replies if not r.has_error()]
        row = self.log._row(server_round + self.offset)
        row["failures"] = len(replies) - len(valid)
        for reply in valid:
            partition = str(int(reply.content["metrics"]["partition-id"]))
            row["clients"].setdefault(partition, {})["bytes_sent"] = arrays_bytes(
                reply.content["arrays"])
        if len(valid) < self.min_clients:
            log(WARNING, "round %d: %d of the needed %d centres answered; the global adapter "
                "stays as it was", server_round + self.offset, len(valid), self.min_clients)
            row["aggregated"] = False
            return None, None
        row["aggregated"] = True
        return self.inner.aggregate_train(server_round + self.offset, replies)

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                           grid: Grid) -> Iterable[Message]:
        self.log.current = server_round + self.offset
        return self.inner.configure_evaluate(server_round + self.offset, arrays, config, grid)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]
                           ) -> MetricRecord | None:
        return self.inner.aggregate_evaluate(server_round + self.offset, replies)


def make_strategy(cfg: FedConfig, log_: RoundLog, sampled: int) -> Strategy:
    """The Flower strategy ``cfg`` names, wrapped in Flower's DP wrapper when asked."""
    from flwr.serverapp.strategy import (
        DifferentialPrivacyClientSideFixedClipping,
        DifferentialPrivacyServerSideFixedClipping,
        FedAdam,
        FedAvg,
        FedProx,
    )

    common = dict(fraction_train=1.0, fraction_evaluate=1.0, min_train_nodes=cfg.min_clients,
                  min_evaluate_nodes=cfg.min_clients, min_available_nodes=cfg.min_clients,
                  train_metrics_aggr_fn=log_.train, evaluate_metrics_aggr_fn=log_.evaluate)
    if cfg.strategy == "fedprox":
        strategy: Strategy = FedProx(**common, proximal_mu=cfg.proximal_mu)
    elif cfg.strategy == "fedadam":
        strategy = FedAdam(**common, eta=cfg.server_lr, eta_l=cfg.lr)
    else:
        strategy = FedAvg(**common)
    if cfg.dp == "server":
        strategy = DifferentialPrivacyServerSideFixedClipping(
            strategy, cfg.dp_noise, cfg.dp_clip, num_sampled_clients=sampled)
    elif cfg.dp == "client":
        strategy = DifferentialPrivacyClientSideFixedClipping(
            strategy, cfg.dp_noise, cfg.dp_clip, num_sampled_clients=sampled)
    return strategy


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


def _save_optimizer(out: Path, strategy: Strategy) -> None:
    base = _base_strategy(strategy)
    moments = {k: getattr(base, k) for k in ("m_t", "v_t") if getattr(base, k, None)}
    if not moments:
        return
    state = {k: {n: torch.from_numpy(np.asarray(a)) for n, a in v.items()}
             for k, v in moments.items()}
    write_with(out / "server_state.pt", lambda tmp: torch.save(state, tmp))


def _load_optimizer(out: Path, strategy: Strategy) -> None:
    path = out / "server_state.pt"
    if not path.is_file():
        return
    base = _base_strategy(strategy)
    saved = torch.load(path, map_location="cpu", weights_only=True)
    for key, value in saved.items():
        if hasattr(base, key):
            setattr(base, key, {n: t.numpy() for n, t in value.items()})


def _wait_for_nodes(grid: Grid, wanted: int, timeout: float = 120.0) -> int:
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
            load_arrays(self.model,
                        load_file(str(self.out / "adapter" / "liquid_model.safetensors")))
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
            _save_optimizer(self.out, strategy)
        self.last_saved = server_round
        return self.write_state()

    def write_state(self) -> dict[str, Any]:
        from .report import write_report

        saved = {"round": self.last_saved, **self.info, "rounds": self.history.rounds}
        write_json(self.out / "state.json", saved)
        write_report(self.out, saved)
        return saved


def run_federation(grid: Grid, cfg: FedConfig, context: Context | None = None
                   ) -> dict[str, Any]:
    """The whole run on ``grid`` (the server's side); returns the saved state. ``context`` is
    the ServerApp's (the SecAgg+ workflow wraps it)."""
    from tqdm.auto import tqdm

    from .params import liquid_arrays, load_arrays

    session = Session(cfg)
    if session.finished:
        log(INFO, "%s has finished all %d rounds already", session.out, cfg.rounds)
        return session.state or {}
    if cfg.secagg:
        from .secagg import run_secagg

        return run_secagg(grid, session, context)
    start, history = session.start, session.history
    sampled = max(_wait_for_nodes(grid, cfg.min_clients), cfg.min_clients)
    strategy = make_strategy(cfg, history, sampled)
    if session.state is not None:
        _load_optimizer(session.out, strategy)
    federation = Federation(strategy, start, cfg.min_clients, history)
    round_config = ConfigRecord({"fed-config": session.fed_config})

    arrays = liquid_arrays(session.model)
    if start == 0 and cfg.baseline_eval:
        # round 0: every centre scores the starting adapter, the baseline of the report
        history.current = 0
        replies = grid.send_and_receive(
            federation.configure_evaluate(0, arrays, ConfigRecord(dict(round_config)), grid))
        strategy.aggregate_evaluate(0, replies)

    bar = tqdm(total=cfg.rounds, initial=start, desc="federated rounds", unit="round")

    def after_round(server_round: int, new_arrays: ArrayRecord) -> MetricRecord | None:
        if server_round == 0:
            return None
        load_arrays(session.model, new_arrays)
        saved = session.save(server_round + start, strategy)
        bar.update(1)
        glob = saved["rounds"].get(str(server_round + start), {}).get("global_val_ppl")
        if glob is not None:
            bar.set_postfix(global_ppl=f"{glob:.2f}")
        return None

    try:
        federation.start(grid=grid, initial_arrays=arrays, num_rounds=cfg.rounds - start,
                         train_config=ConfigRecord(dict(round_config)),
                         evaluate_config=ConfigRecord(dict(round_config)),
                         evaluate_fn=after_round)
    finally:
        bar.close()
    return json.loads((session.out / "state.json").read_text())


def build_server_app(defaults: dict[str, Any] | None = None) -> ServerApp:
    """A ServerApp whose config is ``defaults`` overridden by the run config."""
    defaults = dict(defaults or {})
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        run_federation(grid, FedConfig.from_mapping({**defaults, **dict(context.run_config)}),
                       context)

    return app


# `flwr run` loads this object (see federated_app/pyproject.toml)
app = build_server_app()

"""The federation's server: a Flower `ServerApp` that starts from the shared liquid adapter,
runs a Flower strategy (FedAvg, FedProx or FedAdam, optionally behind Flower's differential
privacy wrappers) for the rounds asked, and after every round saves the global adapter
(atomically, `save_liquid`) with the round it belongs to (what it keeps, and where: `session`).
With ``secagg`` the rounds run through Flower's SecAgg+ workflow instead (`secagg`).

A restarted server with the same OUT resumes after the saved round (the strategy sees the true
round numbers), so a run of ``rounds=5`` killed after round 3 runs rounds 4 and 5 only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from logging import INFO, WARNING
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord
from flwr.common import log
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import Strategy

from .config import RUN_CONFIG, FedConfig
from .session import RoundLog, Session, load_optimizer, wait_for_nodes


class Federation(Strategy):
    """Wraps a Flower strategy: true round numbers after a resume, a minimum of centres per
    round (fewer answers leave the global adapter as it was), every answering centre's
    metrics, bytes and update norm in the log, update-norm clipping (`robust.clip_updates`)
    before the inner strategy aggregates, and FedProx's mu for a robust aggregator (Flower's
    FedProx sends it itself)."""

    def __init__(self, inner: Strategy, offset: int, min_clients: int, log_: RoundLog,
                 cfg: FedConfig | None = None) -> None:
        self.inner = inner
        self.offset = offset
        self.min_clients = min_clients
        self.log = log_
        self.cfg = cfg or FedConfig()
        self.global_arrays: dict[str, Any] = {}

    def summary(self) -> None:
        self.inner.summary()

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        self.log.current = server_round + self.offset
        self.global_arrays = {n: a.numpy().astype("float64") for n, a in arrays.items()}
        if self.cfg.strategy == "fedprox" and self.cfg.aggregation != "mean":
            config = ConfigRecord({**dict(config), "proximal-mu": float(self.cfg.proximal_mu)})
        return self.inner.configure_train(server_round + self.offset, arrays, config, grid)

    def aggregate_train(self, server_round: int, replies: Iterable[Message]
                        ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        from .params import arrays_bytes
        from .robust import clip_updates

        replies = list(replies)
        valid = [r for r in replies if not r.has_error()]
        current = server_round + self.offset
        row = self.log.row(current)
        row["failures"] = len(replies) - len(valid)
        for reply in valid:
            metrics = reply.content["metrics"]
            self.log.note_train(current, metrics, int(metrics["num-examples"]))
            self.log.client(current, metrics["partition-id"])["bytes_sent"] = arrays_bytes(
                reply.content["arrays"])
        if len(valid) < self.min_clients:
            log(WARNING, "round %d: %d of the needed %d centres answered; the global adapter "
                "stays as it was", current, len(valid), self.min_clients)
            row["aggregated"] = False
            return None, None
        clipped = clip_updates(valid, self.global_arrays, self.cfg.update_clip,
                               self.cfg.clip_norm)
        for i, (norm, scale) in clipped.items():
            client = self.log.client(current, valid[i].content["metrics"]["partition-id"])
            client["update_norm"] = norm
            client["update_scale"] = scale
        row["aggregated"] = True
        return self.inner.aggregate_train(current, valid)

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                           grid: Grid) -> Iterable[Message]:
        self.log.current = server_round + self.offset
        return self.inner.configure_evaluate(server_round + self.offset, arrays, config, grid)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]
                           ) -> MetricRecord | None:
        return self.inner.aggregate_evaluate(server_round + self.offset, replies)


def make_strategy(cfg: FedConfig, log_: RoundLog, sampled: int) -> Strategy:
    """The Flower strategy ``cfg`` names — FedAvg, FedProx or FedAdam for the mean, else the
    robust aggregator (`robust`) — wrapped in Flower's DP wrapper when asked."""
    from flwr.serverapp.strategy import (
        DifferentialPrivacyClientSideFixedClipping,
        DifferentialPrivacyServerSideFixedClipping,
        FedAdam,
        FedAvg,
        FedProx,
    )
    from flwr.serverapp.strategy.strategy_utils import aggregate_metricrecords

    from .robust import check_centres, robust_strategy

    # training metrics of every centre are logged by Federation (Krum aggregates only the
    # selected centres' metrics); the evaluation metrics' aggregation logs perplexities
    common = dict(fraction_train=1.0, fraction_evaluate=1.0, min_train_nodes=cfg.min_clients,
                  min_evaluate_nodes=cfg.min_clients, min_available_nodes=cfg.min_clients,
                  train_metrics_aggr_fn=aggregate_metricrecords,
                  evaluate_metrics_aggr_fn=log_.evaluate)
    if cfg.aggregation != "mean":
        check_centres(cfg, sampled)
        strategy: Strategy = robust_strategy(cfg, common, sampled)
    elif cfg.strategy == "fedprox":
        strategy = FedProx(**common, proximal_mu=cfg.proximal_mu)
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
    sampled = max(wait_for_nodes(grid, cfg.min_clients), cfg.min_clients)
    strategy = make_strategy(cfg, history, sampled)
    if session.state is not None:
        load_optimizer(session.out, strategy)
    federation = Federation(strategy, start, cfg.min_clients, history, cfg)
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
        run_federation(grid, FedConfig.from_mapping({**defaults, **dict(context.run_config)},
                                                    source=RUN_CONFIG), context)

    return app


# `flwr run` loads this object (see federated_app/pyproject.toml)
app = build_server_app()

"""Secure aggregation (SecAgg+) for the federation: the server learns only the weighted mean of
the centres' updates, never one centre's update.

Flower 1.32 ships SecAgg+ as `SecAggPlusWorkflow` (server) and `secaggplus_mod` (client), which
drive the legacy strategy API (`FitIns`/`FitRes` records) rather than the Message-API strategies
of `server_app`. This module is that second path, kept small:

- the server runs `DefaultWorkflow(fit_workflow=SecAggPlusWorkflow(...))` with a legacy FedAvg;
- each centre answers with its **update** (local − global liquid weights), not its weights:
  SecAgg+ quantises values clipped to ±``clipping_range`` (8), which a few local steps' update
  always fits, while raw weights need not;
- the server adds the mean update to the global adapter and saves it after every round, as the
  main path does. Per-centre training metrics are still reported (they are numbers, not
  weights); bytes per centre are not (the masked vectors are all the server sees).

A centre trains exactly as on the main path (`local_round.train_round`: local LM steps, FedProx's
proximal term when the strategy is ``fedprox``, KTO on its ratings). The server only ever holds
the mean, so it aggregates with FedAvg (FedProx is FedAvg on the server), applies no DP wrapper
and no robust aggregation (those need each centre's update), and runs no round-0 baseline.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch
from flwr.app import Context, Message, RecordDict

from .config import FedConfig

FIT_KEY = "fitins.parameters"
EVALUATE_KEY = "evaluateins.parameters"
SECAGG_CONFIGS = "secaggplus_configs"


def _names(model) -> list[str]:
    from liquidcare.surgery import liquid_state_dict

    return sorted(liquid_state_dict(model))


def _current(model) -> list[np.ndarray]:
    from liquidcare.surgery import liquid_state_dict

    state = liquid_state_dict(model)
    return [state[n].detach().float().cpu().numpy().copy() for n in sorted(state)]


def _as_state(model, ndarrays: list[np.ndarray]) -> dict[str, torch.Tensor]:
    """The legacy records' nameless list of arrays, named in the model's fixed order."""
    from .params import WireError

    names = _names(model)
    if len(ndarrays) != len(names):
        raise WireError(f"{len(ndarrays)} arrays received, the model has {len(names)} liquid "
                        "parameters")
    return {n: torch.from_numpy(np.asarray(a)) for n, a in zip(names, ndarrays, strict=True)}


def _load_ndarrays(model, ndarrays: list[np.ndarray]) -> None:
    from .params import load_arrays

    load_arrays(model, _as_state(model, ndarrays))


# ---------------------------------------------------------------- server
def run_secagg(grid, session, context: Context | None = None) -> dict[str, Any]:
    from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
    from flwr.server import LegacyContext, ServerConfig
    from flwr.server.strategy import FedAvg
    from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow

    from .session import wait_for_nodes

    cfg: FedConfig = session.cfg
    model, start, history = session.model, session.start, session.history
    sampled = max(wait_for_nodes(grid, cfg.min_clients), cfg.min_clients)

    class MeanUpdate(FedAvg):
        """FedAvg of the centres' updates (SecAgg+ hands it their mean), applied to the
        global adapter, which is saved every round."""

        def configure_fit(self, server_round, parameters, client_manager):
            history.current = server_round + start
            return super().configure_fit(server_round, parameters, client_manager)

        def aggregate_fit(self, server_round, results, failures):
            row = history.row(server_round + start)
            row["failures"] = len(failures)
            for _, res in results:
                history.note_train(server_round + start, res.metrics, res.num_examples)
            if len(results) < cfg.min_clients:
                row["aggregated"] = False
                return None, {}
            mean, _ = super().aggregate_fit(server_round, results, failures)
            update = parameters_to_ndarrays(mean)
            _load_ndarrays(model, [w + d for w, d in zip(_current(model), update, strict=True)])
            row["aggregated"] = True
            session.save(server_round + start)
            return ndarrays_to_parameters(_current(model)), {}

        def configure_evaluate(self, server_round, parameters, client_manager):
            history.current = server_round + start
            return super().configure_evaluate(server_round, parameters, client_manager)

    def evaluate_metrics(results: list[tuple[int, dict]]) -> dict:
        mean = history.note_evaluate(history.current, [(m, c) for c, m in results])
        session.write_state()
        return {"val-nll": mean}

    def round_config(server_round: int) -> dict:
        return secagg_round_config(session, server_round + start)

    strategy = MeanUpdate(
        fraction_fit=1.0, fraction_evaluate=1.0, min_fit_clients=cfg.min_clients,
        min_evaluate_clients=cfg.min_clients, min_available_clients=cfg.min_clients,
        initial_parameters=ndarrays_to_parameters(_current(model)),
        on_fit_config_fn=round_config, on_evaluate_config_fn=round_config,
        evaluate_metrics_aggregation_fn=evaluate_metrics)
    if context is None:
        context = Context(run_id=0, node_id=0, node_config={}, state=RecordDict(),
                          run_config={})
    legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=cfg.rounds - start),
                           strategy=strategy)
    workflow = DefaultWorkflow(fit_workflow=SecAggPlusWorkflow(
        num_shares=sampled, reconstruction_threshold=min(cfg.min_clients, sampled)))
    workflow(grid, legacy)
    return json.loads((session.out / "state.json").read_text())


def secagg_round_config(session, server_round: int) -> dict[str, Any]:
    """What each centre gets with a SecAgg+ round: the run config, the round, and FedProx's
    mu when the strategy is ``fedprox`` (as Flower's FedProx sends it on the main path)."""
    config: dict[str, Any] = {"fed-config": session.fed_config, "server-round": server_round,
                              "secagg": True}
    if session.cfg.strategy == "fedprox":
        config["proximal-mu"] = float(session.cfg.proximal_mu)
    return config


# ---------------------------------------------------------------- client
def is_legacy(msg: Message) -> bool:
    return msg.has_content() and (FIT_KEY in msg.content.array_records
                                  or EVALUATE_KEY in msg.content.array_records)


def legacy_config(msg: Message) -> dict[str, Any]:
    for key in ("fitins.config", "evaluateins.config"):
        if key in msg.content.config_records:
            return dict(msg.content.config_records[key])
    return {}


def legacy_train(msg: Message, cfg: FedConfig, partition: int, centres: int,
                 corpus: str | None, ratings: str | None = None) -> Message:
    """A SecAgg+ training round: the centre's usual round (`train_round`), answered with the
    update (local − global) in a FitRes."""
    from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
    from flwr.compat.common import recorddict_compat as compat

    from .centre import build_model
    from .local_round import CentreData, train_round

    fitins = compat.recorddict_to_fitins(msg.content, keep_input=True)
    before = parameters_to_ndarrays(fitins.parameters)
    model, _ = build_model(cfg)
    result = train_round(cfg, CentreData(partition, centres, corpus, ratings),
                         _as_state(model, before),
                         server_round=int(fitins.config.get("server-round", 0)),
                         proximal_mu=float(fitins.config.get("proximal-mu", 0.0)))
    update = [a - b for a, b in zip(_current(result.model), before, strict=True)]
    res = FitRes(status=Status(code=Code.OK, message=""),
                 parameters=ndarrays_to_parameters(update), num_examples=result.num_examples,
                 metrics={k: v for k, v in result.metrics.items() if k != "num-examples"})
    return Message(content=compat.fitres_to_recorddict(res, keep_input=False), reply_to=msg)


def legacy_evaluate(msg: Message, cfg: FedConfig, partition: int, centres: int,
                    corpus: str | None) -> Message:
    from flwr.common import Code, EvaluateRes, Status, parameters_to_ndarrays
    from flwr.compat.common import recorddict_compat as compat

    from .centre import build_model
    from .local_round import CentreData, evaluate_round

    ins = compat.recorddict_to_evaluateins(msg.content, keep_input=True)
    model, _ = build_model(cfg)
    nll, tokens = evaluate_round(cfg, CentreData(partition, centres, corpus),
                                 _as_state(model, parameters_to_ndarrays(ins.parameters)))
    res = EvaluateRes(status=Status(code=Code.OK, message=""), loss=nll, num_examples=tokens,
                      metrics={"val-nll": nll, "partition-id": partition})
    return Message(content=compat.evaluateres_to_recorddict(res), reply_to=msg)


def secagg_mod(msg: Message, context: Context, call_next) -> Message:
    """Flower's `secaggplus_mod` for the messages of a SecAgg+ round, a pass-through else."""
    from flwr.client.mod import secaggplus_mod

    if msg.has_content() and SECAGG_CONFIGS in msg.content.config_records:
        return secaggplus_mod(msg, context, call_next)
    return call_next(msg, context)

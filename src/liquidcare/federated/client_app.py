"""The care centre: a Flower `ClientApp` that trains and scores the shared liquid adapter on its
own data and answers with liquid parameter tensors and counts only.

Which data a centre holds comes from its node config: in simulation Flower gives each virtual
node ``partition-id``/``num-partitions`` (its shard of ``corpus``); a real supernode is started
with ``--node-config "partition-id=0 num-partitions=3"`` or with its own
``corpus='/data/notes.jsonl' ratings='/data/ratings.jsonl'``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flwr.app import Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.clientapp.mod import fixedclipping_mod

from .config import RUN_CONFIG, FedConfig
from .local_round import CentreData, evaluate_round, train_round

NODE_KEYS = ("partition-id", "num-partitions", "corpus", "ratings")


def _config(defaults: dict[str, Any], context: Context, msg: Message) -> FedConfig:
    """Defaults < run config < the round's config from the server (only known keys)."""
    merged = {**defaults, **dict(context.run_config)}
    sent = msg.content.config_records.get("config")
    if sent is None:  # a SecAgg+ round speaks the legacy FitIns/EvaluateIns records
        from .secagg import legacy_config

        sent = legacy_config(msg)
    if "fed-config" in sent:
        import json

        merged.update(json.loads(str(sent["fed-config"])))
    return FedConfig.from_mapping(merged, source=RUN_CONFIG)


def _centre(context: Context) -> CentreData:
    node = dict(context.node_config)
    return CentreData(partition=int(node.get("partition-id", 0)),
                      centres=int(node.get("num-partitions", 1)),
                      corpus=node.get("corpus"), ratings=node.get("ratings"))


def _round_config(msg: Message) -> dict[str, Any]:
    sent = msg.content.config_records.get("config")
    return dict(sent) if sent is not None else {}


def build_client_app(defaults: dict[str, Any] | None = None,
                     mods: list[Callable] | None = None) -> ClientApp:
    """A ClientApp whose config is ``defaults`` overridden by the run config (so `flwr run` and
    the Python simulation both work); ``mods`` are extra Flower client mods."""
    from .params import liquid_arrays
    from .secagg import is_legacy, legacy_evaluate, legacy_train, secagg_mod

    defaults = dict(defaults or {})
    app = ClientApp(mods=[_client_dp_mod, secagg_mod, *(mods or [])])

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        cfg = _config(defaults, context, msg)
        data = _centre(context)
        if is_legacy(msg):
            return legacy_train(msg, cfg, data.partition, data.centres, data.corpus,
                                data.ratings)
        round_cfg = _round_config(msg)
        result = train_round(cfg, data, msg.content["arrays"],
                             server_round=int(round_cfg.get("server-round", 0)),
                             proximal_mu=float(round_cfg.get("proximal-mu", 0.0)))
        content = RecordDict({"arrays": liquid_arrays(result.model),
                              "metrics": MetricRecord(result.metrics)})
        return Message(content=content, reply_to=msg)

    @app.evaluate()
    def evaluate(msg: Message, context: Context) -> Message:
        cfg = _config(defaults, context, msg)
        data = _centre(context)
        if is_legacy(msg):
            return legacy_evaluate(msg, cfg, data.partition, data.centres, data.corpus)
        nll, tokens = evaluate_round(cfg, data, msg.content["arrays"])
        metrics = MetricRecord({"num-examples": tokens, "val-nll": nll,
                                "partition-id": data.partition})
        return Message(content=RecordDict({"metrics": metrics}), reply_to=msg)

    return app


def _client_dp_mod(msg: Message, context: Context, call_next) -> Message:
    """Flower's client-side fixed clipping, applied when the server's DP wrapper asks for it
    (it sends a clipping norm with each training round), else a pass-through."""
    from flwr.app import MessageType

    sent = msg.content.config_records.get("config") if msg.has_content() else None
    if msg.metadata.message_type == MessageType.TRAIN and sent is not None \
            and "clipping_norm" in sent:
        return fixedclipping_mod(msg, context, call_next)
    return call_next(msg, context)



# `flwr run` and `flower-supernode` load this object (see federated_app/pyproject.toml)
app = build_client_app()

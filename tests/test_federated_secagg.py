"""SecAgg+ carries the plain path's training options: a centre's SecAgg+ round is its usual round
(the same step, FedProx's proximal term, KTO on its ratings), answered as an update."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from federated_helpers import rated_rows, tiny_world, write_rows

from liquidcare.federated import FedConfig


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    return tiny_world(tmp_path_factory.mktemp("fed-secagg"))


def _cfg(world, **kw) -> FedConfig:
    base = dict(model=str(world["model"]), preset="cfc-ncp", layers="last:1", units=16,
                corpus=str(world["corpus"]), block_size=32, local_steps=3, lr=1e-2,
                kto_steps=2, rounds=1)
    return FedConfig(**{**base, **kw})


def _plain_round(cfg, start, ratings, mu: float):
    """The Flower path: a TRAIN message with the global arrays, as FedProx sends it."""
    from flwr.app import ConfigRecord, Context, Message, MessageType, RecordDict

    from liquidcare.federated.client_app import build_client_app

    msg = Message(content=RecordDict({"arrays": start, "config": ConfigRecord(
        {"server-round": 1, "proximal-mu": mu})}), message_type=MessageType.TRAIN,
        dst_node_id=1)
    context = Context(run_id=1, node_id=1, state=RecordDict(), run_config={},
                      node_config={"partition-id": 1, "num-partitions": 2,
                                   "ratings": str(ratings)})
    reply = build_client_app(cfg.to_run_config())(msg, context)
    assert not reply.has_error(), reply.error
    return reply.content


def _secagg_round(cfg, start, ratings, mu: float):
    from flwr.app import Message, MessageType
    from flwr.common import FitIns, ndarrays_to_parameters, parameters_to_ndarrays
    from flwr.compat.common import recorddict_compat as compat

    from liquidcare.federated.secagg import legacy_train

    msg = Message(content=compat.fitins_to_recorddict(
        FitIns(ndarrays_to_parameters(start), {"server-round": 1, "proximal-mu": mu}),
        keep_input=True), message_type=MessageType.TRAIN, dst_node_id=1)
    res = compat.recorddict_to_fitres(legacy_train(msg, cfg, 1, 2, None, str(ratings)).content,
                                      keep_input=True)
    return parameters_to_ndarrays(res.parameters), res.metrics


def test_a_secagg_round_is_the_plain_round_with_fedprox_and_kto(world, tmp_path):
    """Same global adapter, same centre, FedProx's mu and ratings: the SecAgg+ update added to
    the global adapter is exactly the weights the plain path sends back, KTO included."""
    from liquidcare.federated.centre import build_model, initial_liquid_state
    from liquidcare.federated.params import liquid_arrays, load_arrays
    from liquidcare.federated.secagg import _current

    ratings = write_rows(tmp_path / "ratings.jsonl", rated_rows(6, scope="federated"))
    cfg = _cfg(world)
    model, _ = build_model(cfg)
    load_arrays(model, initial_liquid_state(cfg))
    start_arrays, start = liquid_arrays(model), _current(model)

    plain = _plain_round(cfg, start_arrays, ratings, mu=0.5)
    assert "kto-loss" in plain["metrics"]
    sent = [plain["arrays"][name].numpy() for name in sorted(plain["arrays"].keys())]

    update, metrics = _secagg_round(cfg, start, ratings, mu=0.5)
    assert metrics["kto-loss"] == pytest.approx(plain["metrics"]["kto-loss"], rel=1e-5)
    assert metrics["train-loss"] == pytest.approx(plain["metrics"]["train-loss"], rel=1e-6)
    assert all(np.allclose(s + u, w, atol=1e-6)
               for s, u, w in zip(start, update, sent, strict=True))


def test_fedprox_reaches_a_secagg_centre_and_holds_it_near_the_global_adapter(world, tmp_path):
    """The server's SecAgg+ round config carries mu for fedprox, and the centre honours it:
    a large mu keeps the update smaller than no mu."""
    from liquidcare.federated.centre import build_model, initial_liquid_state
    from liquidcare.federated.params import load_arrays
    from liquidcare.federated.secagg import _current, secagg_round_config

    prox = FedConfig(strategy="fedprox", proximal_mu=0.3, secagg=True)
    config = secagg_round_config(SimpleNamespace(cfg=prox, fed_config="{}"), 2)
    assert config["proximal-mu"] == 0.3 and config["server-round"] == 2
    plain = secagg_round_config(SimpleNamespace(cfg=FedConfig(secagg=True), fed_config="{}"), 2)
    assert "proximal-mu" not in plain

    cfg = _cfg(world, kto_steps=0, local_steps=6, lr=5e-2)
    model, _ = build_model(cfg)
    load_arrays(model, initial_liquid_state(cfg))
    start = _current(model)
    ratings = tmp_path / "none.jsonl"  # kto_steps=0: never read

    def norm(update):
        return float(np.sqrt(sum((u.astype(np.float64) ** 2).sum() for u in update)))

    free, _ = _secagg_round(cfg, start, ratings, mu=0.0)
    held, _ = _secagg_round(cfg, start, ratings, mu=200.0)
    assert 0 < norm(held) < 0.5 * norm(free)


def test_a_centre_named_ratings_it_does_not_have_fails_instead_of_skipping_kto(world, tmp_path):
    from liquidcare.federated.centre import build_model
    from liquidcare.federated.local_round import CentreData, train_round
    from liquidcare.federated.params import liquid_arrays
    from liquidcare.federated.retrain import TrainingSetError

    cfg = _cfg(world)
    model, _ = build_model(cfg)
    with pytest.raises(TrainingSetError, match="no such training-set file"):
        train_round(cfg, CentreData(0, 2, ratings=str(tmp_path / "missing.jsonl")),
                    liquid_arrays(model), server_round=1)

"""A bad centre cannot wreck the federation: server-side update-norm clipping and Flower's robust
aggregators, checked on their own and in a simulation with one malicious centre."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from federated_helpers import tiny_world
from flwr.app import (
    Array,
    ArrayRecord,
    ConfigRecord,
    Message,
    MessageType,
    MetricRecord,
    RecordDict,
)

from liquidcare.federated import FedConfig, FederatedConfigError


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    return tiny_world(tmp_path_factory.mktemp("fed-robust"))


def _reply(weights: dict[str, np.ndarray], partition: int) -> Message:
    request = Message(content=RecordDict({"config": ConfigRecord({"server-round": 1})}),
                      message_type=MessageType.TRAIN, dst_node_id=1)
    request.metadata.__dict__["_message_id"] = request.object_id  # as if received
    arrays = ArrayRecord({k: Array(v.astype(np.float32)) for k, v in weights.items()})
    return Message(content=RecordDict({"arrays": arrays, "metrics": MetricRecord(
        {"num-examples": 4, "partition-id": partition, "train-loss-first": 1.0,
         "train-loss": 0.5})}), reply_to=request)


def test_updates_longer_than_the_median_norm_are_scaled_down_to_it():
    from liquidcare.federated.robust import clip_updates, update_norm

    g = {"a": np.zeros(3), "b": np.ones(2)}
    deltas = [np.array([3.0, 0, 0, 0, 4.0]), np.array([0, 1.0, 0, 0, 0]),
              np.array([0, 0, 2.0, 0, 0]), np.array([-150.0, 0, 0, 200.0, 0])]
    replies = [_reply({"a": g["a"] + d[:3], "b": g["b"] + d[3:]}, i)
               for i, d in enumerate(deltas)]
    result = clip_updates(replies, g, "median", 0.0)
    norms = [n for n, _ in result.values()]
    assert norms == pytest.approx([5.0, 1.0, 2.0, 250.0])
    bound = 3.5  # the median of 5, 1, 2, 250
    after = [update_norm(r.content["arrays"], g) for r in replies]
    assert after == pytest.approx([bound, 1.0, 2.0, bound], rel=1e-6)
    assert result[3][1] == pytest.approx(bound / 250.0)
    # the direction is kept: the clipped update is the original one scaled
    clipped = replies[3].content["arrays"]
    assert np.allclose(clipped["a"].numpy(), np.array([-150.0, 0, 0]) * bound / 250, atol=1e-5)
    # fixed: every update to at most clip-norm; none: nothing moves
    again = [_reply({"a": g["a"] + d[:3], "b": g["b"] + d[3:]}, i) for i, d in enumerate(deltas)]
    clip_updates(again, g, "fixed", 1.5)
    assert [update_norm(r.content["arrays"], g) for r in again] == pytest.approx(
        [1.5, 1.0, 1.5, 1.5], rel=1e-6)
    untouched = [_reply({"a": g["a"] + d[:3], "b": g["b"] + d[3:]}, i)
                 for i, d in enumerate(deltas)]
    assert all(s == 1.0 for _, s in clip_updates(untouched, g, "none", 0.0).values())


def test_each_aggregation_is_flowers_strategy_and_too_few_centres_are_refused():
    from flwr.serverapp.strategy import Bulyan, FedAvg, FedMedian, FedTrimmedAvg, Krum, MultiKrum

    from liquidcare.federated.server_app import RoundLog, make_strategy

    log = RoundLog()
    kinds = {"median": FedMedian, "trimmed-mean": FedTrimmedAvg, "krum": Krum,
             "multi-krum": MultiKrum, "bulyan": Bulyan, "mean": FedAvg}
    for aggregation, kind in kinds.items():
        assert type(make_strategy(FedConfig(aggregation=aggregation), log, 7)) is kind
    assert make_strategy(FedConfig(aggregation="trimmed-mean", trim_beta=0.3), log, 7).beta == 0.3
    assert make_strategy(FedConfig(aggregation="krum", assumed_malicious=2), log,
                         7).num_malicious_nodes == 2
    # fewer centres than the aggregator needs to tolerate f bad ones: refused, with the figure
    for aggregation, centres, need in (("median", 2, 3), ("trimmed-mean", 4, 5), ("krum", 4, 5),
                                       ("bulyan", 6, 7)):
        with pytest.raises(FederatedConfigError, match=f"at least {need} centres"):
            make_strategy(FedConfig(aggregation=aggregation), log, centres)
    assert type(make_strategy(FedConfig(aggregation="median", assumed_malicious=0), log, 2)) \
        is FedMedian


def test_robust_options_that_cannot_work_together_are_refused():
    with pytest.raises(FederatedConfigError, match="secagg"):
        FedConfig(secagg=True, aggregation="median")
    with pytest.raises(FederatedConfigError, match="update-clip"):
        FedConfig(secagg=True, update_clip="median")
    with pytest.raises(FederatedConfigError, match="FedAdam"):
        FedConfig(aggregation="krum", strategy="fedadam")
    with pytest.raises(FederatedConfigError, match="dp"):
        FedConfig(aggregation="median", dp="server")
    with pytest.raises(FederatedConfigError, match="trim-beta"):
        FedConfig.from_mapping({"trim-beta": 0.5})
    with pytest.raises(FederatedConfigError, match="aggregation='fedmean'"):
        FedConfig.from_mapping({"aggregation": "fedmean"})
    # SecAgg+ cannot clip what it never sees: its default is no clipping, asked for it is refused
    assert FedConfig(secagg=True).update_clip == "none"
    assert FedConfig().update_clip == "median"


def _cfg(world, out: Path, **kw) -> FedConfig:
    base = dict(model=str(world["model"]), preset="cfc-ncp", layers="last:1", units=16,
                corpus=str(world["corpus"]), block_size=32, local_steps=10, lr=1e-2,
                out=str(out), rounds=3, min_clients=3)
    return FedConfig(**{**base, **kw})


def _adapter(out: Path) -> torch.Tensor:
    from safetensors.torch import load_file

    tensors = load_file(str(out / "adapter" / "liquid_model.safetensors"))
    return torch.cat([tensors[k].double().reshape(-1) for k in sorted(tensors)])


def test_one_malicious_centre_moves_fedavg_but_not_the_defended_federation(world, tmp_path):
    """Three centres, the third sending its update scaled x50 and sign-flipped. The honest
    FedAvg run is the reference. With the default defence (the mean of updates clipped to the
    round's median norm) the attacked global adapter stays within 5% of the reference's
    perplexity and ends nearer the reference adapter than the reference is to the start
    (measured: 0.83 of it); plain FedAvg is thrown far off (more than 5 times that distance,
    perplexity more than 10% worse)."""
    from liquidcare.federated import simulate
    from liquidcare.federated.attack import sign_flip_mod
    from liquidcare.federated.centre import build_model, initial_liquid_state

    attack = [sign_flip_mod(partition=2, scale=50.0)]
    plain = dict(aggregation="mean", update_clip="none")
    honest = simulate(_cfg(world, tmp_path / "honest", **plain), clients=3)
    wrecked = simulate(_cfg(world, tmp_path / "fedavg", **plain), clients=3, mods=attack)
    defended = simulate(_cfg(world, tmp_path / "defended"), clients=3, mods=attack)

    ref = honest["rounds"]["3"]["global_val_ppl"]
    assert ref < honest["rounds"]["0"]["global_val_ppl"]
    assert defended["rounds"]["3"]["global_val_ppl"] <= 1.05 * ref
    assert wrecked["rounds"]["3"]["global_val_ppl"] > 1.10 * ref

    cfg = _cfg(world, tmp_path / "x")
    build_model(cfg)
    w0 = torch.cat([v.double().reshape(-1) for _, v in sorted(initial_liquid_state(cfg).items())])
    w_ref = _adapter(tmp_path / "honest")
    moved = (w_ref - w0).norm()
    defended_off = float((_adapter(tmp_path / "defended") - w_ref).norm() / moved)
    fedavg_off = float((_adapter(tmp_path / "fedavg") - w_ref).norm() / moved)
    assert defended_off <= 1.0 and fedavg_off > 5.0, (defended_off, fedavg_off)
    # the log shows why: the attacker's update was ~50 times the others' and was scaled down
    for r in ("1", "2", "3"):
        clients = defended["rounds"][r]["clients"]
        honest_norm = max(clients[c]["update_norm"] for c in ("0", "1"))
        assert clients["2"]["update_norm"] > 10 * honest_norm
        assert clients["2"]["update_scale"] < 0.1


def test_fedprox_behind_a_robust_aggregator_still_sends_mu_and_every_centre_is_logged():
    """FedMedian knows nothing of FedProx: the federation adds mu to each training message
    itself; and every answering centre's metrics and update norm are logged, also those a
    selecting aggregator (Krum) leaves out."""
    from types import SimpleNamespace

    from liquidcare.federated.server_app import Federation, RoundLog, make_strategy

    grid = SimpleNamespace(get_node_ids=lambda: [11, 12, 13, 14, 15])
    g = {"a": np.zeros(4, dtype=np.float32)}
    arrays = ArrayRecord({"a": Array(g["a"])})
    cfg = FedConfig(strategy="fedprox", proximal_mu=0.25, aggregation="median", min_clients=3)
    log = RoundLog()
    fed = Federation(make_strategy(cfg, log, 5), 0, 3, log, cfg)
    messages = list(fed.configure_train(1, arrays, ConfigRecord({}), grid))
    assert len(messages) == 5
    assert all(m.content["config"]["proximal-mu"] == 0.25 for m in messages)

    cfg = FedConfig(aggregation="krum", min_clients=5, update_clip="none")
    log = RoundLog()
    fed = Federation(make_strategy(cfg, log, 5), 0, 5, log, cfg)
    list(fed.configure_train(1, arrays, ConfigRecord({}), grid))
    deltas = [0.1, 0.11, 0.12, 0.1, -5.0]
    replies = [_reply({"a": g["a"] + d}, i) for i, d in enumerate(deltas)]
    new, _ = fed.aggregate_train(1, replies)
    assert np.allclose(new["a"].numpy(), 0.1, atol=1e-6)  # Krum kept an honest update
    clients = log.rounds["1"]["clients"]
    assert sorted(clients) == ["0", "1", "2", "3", "4"]
    assert all("train_loss" in c and "update_norm" in c for c in clients.values())
    assert clients["4"]["update_norm"] == pytest.approx(10.0, rel=1e-5)

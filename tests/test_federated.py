"""The federation: what crosses the wire, learning over rounds, a centre dying, resuming, the
Flower deployment runtime on loopback, and KTO retraining from ratings."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from federated_helpers import rated_rows, tiny_world, write_rows

from liquidcare.federated import FedConfig, FederatedConfigError


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    return tiny_world(tmp_path_factory.mktemp("fed-world"))


def _cfg(world, out: Path, **kw) -> FedConfig:
    base = dict(model=str(world["model"]), preset="cfc-ncp", layers="last:1", units=16,
                corpus=str(world["corpus"]), block_size=32, local_steps=10, lr=1e-2,
                out=str(out), rounds=3)
    return FedConfig(**{**base, **kw})


def _wire_bytes(obj) -> bytes:
    """Everything Flower serialises for a message: the object and all its children."""
    data = obj.deflate()
    for child in (obj.children or {}).values():
        data += _wire_bytes(child)
    return data


def _train_message(arrays, server_round: int = 1):
    from flwr.app import ConfigRecord, Message, MessageType, RecordDict

    return Message(content=RecordDict({"arrays": arrays,
                                       "config": ConfigRecord({"server-round": server_round})}),
                   message_type=MessageType.TRAIN, dst_node_id=1)


def _context(partition: int, centres: int):
    from flwr.app import Context, RecordDict

    return Context(run_id=1, node_id=1, state=RecordDict(), run_config={},
                   node_config={"partition-id": partition, "num-partitions": centres})


def test_only_liquid_tensors_and_counts_cross_the_wire(world, tmp_path):
    """A centre holding the real care corpus answers a training round: the reply has exactly
    the liquid parameters (names, shapes) and numbers, and none of its texts."""
    from liquidcare.federated.centre import build_model, centre_documents
    from liquidcare.federated.client_app import build_client_app
    from liquidcare.federated.params import liquid_arrays
    from liquidcare.surgery import liquid_state_dict

    cfg = _cfg(world, tmp_path / "out", corpus="care", local_steps=2, max_train_tokens=4000)
    model, _ = build_model(cfg)
    expected = {k: tuple(v.shape) for k, v in liquid_state_dict(model).items()}
    assert all(".liquid." in k for k in expected)
    app = build_client_app(cfg.to_run_config())
    reply = app(_train_message(liquid_arrays(model)), _context(0, 2))
    assert not reply.has_error(), reply.error
    content = reply.content
    assert set(content.array_records) == {"arrays"} and set(content.metric_records) == {"metrics"}
    assert not content.config_records
    got = {k: tuple(a.shape) for k, a in content["arrays"].items()}
    assert got == expected
    assert all(isinstance(v, (int, float)) for v in content["metrics"].values())

    wire = _wire_bytes(reply)
    assert len(wire) > sum(len(a.data) for a in content["arrays"].values())  # all of it
    docs = centre_documents("care", "train", 0, 2)
    assert docs and all(d["lang"] == "es" for d in docs)
    texts = [m["content"] for d in docs for m in d.get("messages", [])] + \
            [d["text"] for d in docs if "text" in d]
    for text in texts:
        for piece in (text[:40], text[-40:]):
            assert piece.encode() not in wire


def test_centres_are_split_by_language():
    from liquidcare.federated.centre import centre_documents

    langs = [{d["lang"] for d in centre_documents("care", "train", c, 3)} for c in range(3)]
    assert langs == [{"es"}, {"en"}, {"es"}]
    ids0 = {d["id"] for d in centre_documents("care", "train", 0, 3)}
    ids2 = {d["id"] for d in centre_documents("care", "train", 2, 3)}
    assert ids0 and ids2 and not ids0 & ids2


def test_arrays_of_other_names_or_shapes_are_refused(world, tmp_path):
    from liquidcare.federated.centre import build_model
    from liquidcare.federated.params import WireError, load_arrays
    from liquidcare.surgery import liquid_state_dict

    model, _ = build_model(_cfg(world, tmp_path))
    state = {k: v.clone() for k, v in liquid_state_dict(model).items()}
    with pytest.raises(WireError, match="unexpected"):
        load_arrays(model, {**state, "model.embed_tokens.weight": torch.zeros(96, 32)})
    name = next(iter(state))
    with pytest.raises(WireError, match="shape"):
        load_arrays(model, {**state, name: torch.zeros(3)})


def test_config_errors_name_the_key():
    with pytest.raises(FederatedConfigError, match="local-step"):
        FedConfig.from_mapping({"local-step": 3})
    with pytest.raises(FederatedConfigError, match="strategy"):
        FedConfig(strategy="fedsgd")
    with pytest.raises(FederatedConfigError, match="rounds"):
        FedConfig.from_mapping({"rounds": "many"})


def test_loss_falls_over_three_rounds_with_three_centres(world, tmp_path):
    from liquidcare.federated import simulate

    state = simulate(_cfg(world, tmp_path / "fed", rounds=3), clients=3)
    rounds = state["rounds"]
    assert state["round"] == 3 and sorted(rounds, key=int) == ["0", "1", "2", "3"]
    assert rounds["3"]["global_val_ppl"] < rounds["1"]["global_val_ppl"] \
        < rounds["0"]["global_val_ppl"]
    for centre in ("0", "1", "2"):
        assert rounds["3"]["clients"][centre]["val_ppl"] < rounds["0"]["clients"][centre]["val_ppl"]
        assert rounds["3"]["clients"][centre]["train_loss"] \
            < rounds["1"]["clients"][centre]["train_loss_first"]
    out = tmp_path / "fed"
    assert (out / "perplexity.png").stat().st_size > 0
    assert "| 3 |" in (out / "report.md").read_text()


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(tensors[name].to(torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()


def _spy(log: Path, die_in_round: int | None):
    """A Flower client mod: notes each training round a centre sees (and a digest of the global
    adapter it receives); centre 1 dies in ``die_in_round``."""

    def mod(msg, context, call_next):
        from flwr.app import MessageType

        if msg.metadata.message_type == MessageType.TRAIN:
            server_round = int(msg.content["config"]["server-round"])
            partition = int(context.node_config["partition-id"])
            arrays = dict(msg.content["arrays"].to_torch_state_dict())
            with open(log, "a") as f:
                f.write(json.dumps({"round": server_round, "centre": partition,
                                    "digest": _digest(arrays)}) + "\n")
            if partition == 1 and server_round == die_in_round:
                raise RuntimeError("centre 1 lost power")
        return call_next(msg, context)

    return mod


def test_a_dying_centre_does_not_stop_the_round_and_the_server_resumes(world, tmp_path):
    """Round 1: centre 1 dies, the other two (min-clients 2) make the round. The server then
    restarts with one more round to go — as FedProx behind client-side DP clipping, which the
    centres must honour — and runs round 2 only, from the adapter it saved after round 1."""
    from safetensors.torch import load_file

    from liquidcare.federated import simulate

    out, log = tmp_path / "fed", tmp_path / "seen.jsonl"
    state = simulate(_cfg(world, out, rounds=1, local_steps=3), clients=3,
                     mods=[_spy(log, die_in_round=1)])
    assert state["round"] == 1
    assert state["rounds"]["1"]["failures"] == 1 and state["rounds"]["1"]["aggregated"]
    trained = {c for c, v in state["rounds"]["1"]["clients"].items() if "train_loss" in v}
    assert trained == {"0", "2"}
    saved_tensors = load_file(str(out / "adapter" / "liquid_model.safetensors"))
    saved = _digest(saved_tensors)

    log.unlink()
    state = simulate(_cfg(world, out, rounds=2, local_steps=3, strategy="fedprox",
                          proximal_mu=0.1, dp="client", dp_noise=0.0, dp_clip=0.05),
                     clients=3, mods=[_spy(log, die_in_round=None)])
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    assert {s["round"] for s in seen} == {2} and len(seen) == 3
    assert {s["digest"] for s in seen} == {saved}
    assert state["round"] == 2 and state["rounds"]["1"]["failures"] == 1
    assert state["rounds"]["2"]["aggregated"] and state["rounds"]["2"]["failures"] == 0
    # client-side clipping, no noise: the mean of clipped updates moves by at most the norm
    now = load_file(str(out / "adapter" / "liquid_model.safetensors"))
    step = sum((now[k] - saved_tensors[k]).pow(2).sum() for k in now).sqrt().item()
    assert 0 < step <= 0.05 + 1e-5


def test_resume_refuses_another_model_shape(world, tmp_path):
    from liquidcare.federated.server_app import run_federation

    out = tmp_path / "fed"
    out.mkdir()
    (out / "adapter").mkdir()
    (out / "state.json").write_text(json.dumps({"round": 1, "config": {
        **_cfg(world, out).to_run_config(), "layers": "last:2"}}))
    with pytest.raises(FederatedConfigError, match="layers"):
        run_federation(grid=None, cfg=_cfg(world, out))


def test_strategies_and_privacy_wrappers_are_flowers():
    from flwr.serverapp.strategy import (
        DifferentialPrivacyClientSideFixedClipping,
        DifferentialPrivacyServerSideFixedClipping,
        FedAdam,
        FedAvg,
        FedProx,
    )

    from liquidcare.federated.server_app import RoundLog, make_strategy

    log = RoundLog()
    assert type(make_strategy(FedConfig(), log, 3)) is FedAvg
    prox = make_strategy(FedConfig(strategy="fedprox", proximal_mu=0.5), log, 3)
    assert isinstance(prox, FedProx) and prox.proximal_mu == 0.5
    assert isinstance(make_strategy(FedConfig(strategy="fedadam"), log, 3), FedAdam)
    dp = make_strategy(FedConfig(dp="server", dp_noise=0.3, dp_clip=2.0), log, 3)
    assert isinstance(dp, DifferentialPrivacyServerSideFixedClipping)
    assert dp.clipping_norm == 2.0 and dp.noise_multiplier == 0.3
    assert isinstance(make_strategy(FedConfig(dp="client"), log, 3),
                      DifferentialPrivacyClientSideFixedClipping)


def test_kto_retrain_moves_only_liquid_parameters_and_lowers_its_loss(world):
    from liquidcare.federated.centre import build_model
    from liquidcare.federated.retrain import retrain_from_rows

    model, tokenizer = build_model(FedConfig(model=str(world["model"]), layers="last:1",
                                             units=16, seed=3))
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    summary = retrain_from_rows(model, tokenizer, rated_rows(8), lm_steps=5, kto_steps=8,
                                kto_lr=5e-3, batch_size=4)
    moved = {k for k, v in model.named_parameters() if not torch.equal(v, before[k])}
    assert moved and all(".liquid." in k for k in moved)
    assert summary["kto_loss_after"] < summary["kto_loss_before"]
    assert summary["lm_loss_last"] < summary["lm_loss_first"]


def test_training_rows_are_checked(tmp_path):
    from liquidcare.federated.retrain import TrainingSetError, read_training_rows

    rows = rated_rows(2)
    assert read_training_rows(write_rows(tmp_path / "ok.jsonl", rows)) == rows
    with pytest.raises(TrainingSetError, match="label"):
        read_training_rows(write_rows(tmp_path / "bad.jsonl", [{**rows[0], "label": "yes"}]))
    with pytest.raises(TrainingSetError, match="no such"):
        read_training_rows(tmp_path / "missing.jsonl")


def test_secagg_round_trains_from_masked_updates_only(world, tmp_path):
    """SecAgg+ (Flower's workflow and mod): centres send masked updates; the server unmasks only
    their mean, applies it to the global adapter and saves it."""
    from safetensors.torch import load_file

    from liquidcare.federated import simulate
    from liquidcare.federated.centre import build_model, initial_liquid_state

    cfg = _cfg(world, tmp_path / "fed", rounds=1, local_steps=4, secagg=True)
    state = simulate(cfg, clients=3)
    row = state["rounds"]["1"]
    assert state["round"] == 1 and row["aggregated"] and row["failures"] == 0
    assert {c for c, v in row["clients"].items() if "train_loss" in v} == {"0", "1", "2"}
    assert {c for c, v in row["clients"].items() if "val_ppl" in v} == {"0", "1", "2"}
    build_model(cfg)
    start = initial_liquid_state(cfg)
    now = load_file(str(tmp_path / "fed" / "adapter" / "liquid_model.safetensors"))
    assert set(now) == set(start)
    assert any(not torch.allclose(now[k], start[k]) for k in now)


def test_a_secagg_centre_answers_with_its_update(world, tmp_path):
    from flwr.common import FitIns, ndarrays_to_parameters, parameters_to_ndarrays
    from flwr.compat.common import recorddict_compat as compat

    from liquidcare.federated.centre import build_model
    from liquidcare.federated.secagg import _current, legacy_train

    cfg = _cfg(world, tmp_path, local_steps=3)
    model, _ = build_model(cfg)
    start = _current(model)
    from flwr.app import Message, MessageType

    msg = Message(content=compat.fitins_to_recorddict(
        FitIns(ndarrays_to_parameters(start), {"server-round": 1}), keep_input=True),
        message_type=MessageType.TRAIN, dst_node_id=1)
    reply = legacy_train(msg, cfg, 0, 3, None)
    res = compat.recorddict_to_fitres(reply.content, keep_input=True)
    update = parameters_to_ndarrays(res.parameters)
    assert [u.shape for u in update] == [s.shape for s in start]
    assert 0 < max(abs(u).max() for u in update) < 8  # inside SecAgg+'s clipping range
    trained = _current(model)
    assert all(np.allclose(s + u, t, atol=1e-6) for s, u, t in zip(start, update, trained,
                                                                   strict=True))
    with pytest.raises(FederatedConfigError, match="secagg"):
        FedConfig(secagg=True, strategy="fedadam")


def test_a_centre_with_ratings_adds_kto_and_still_sends_no_text(world, tmp_path):
    from flwr.app import Context, RecordDict

    from liquidcare.federated.centre import build_model
    from liquidcare.federated.client_app import build_client_app
    from liquidcare.federated.params import liquid_arrays

    rows = rated_rows(6, scope="federated")
    ratings = write_rows(tmp_path / "ratings.jsonl", rows)
    cfg = _cfg(world, tmp_path / "out", local_steps=2, kto_steps=2)
    model, _ = build_model(cfg)
    context = Context(run_id=1, node_id=1, state=RecordDict(), run_config={},
                      node_config={"partition-id": 1, "num-partitions": 2,
                                   "ratings": str(ratings)})
    reply = build_client_app(cfg.to_run_config())(_train_message(liquid_arrays(model)), context)
    assert not reply.has_error(), reply.error
    assert "kto-loss" in reply.content["metrics"]
    wire = _wire_bytes(reply)
    for row in rows:
        for message in row["prompt"] + row["completion"]:
            assert message["content"].encode() not in wire


def test_the_flower_app_config_is_fedconfig():
    """federated_app/pyproject.toml (what `flwr run` reads) holds every FedConfig key, with
    the same defaults as `liquidcare federate`."""
    import tomllib

    path = Path(__file__).resolve().parents[1] / "federated_app" / "pyproject.toml"
    app = tomllib.loads(path.read_text())["tool"]["flwr"]["app"]
    assert app["components"] == {"serverapp": "liquidcare.federated.server_app:app",
                                 "clientapp": "liquidcare.federated.client_app:app"}
    assert FedConfig.from_mapping(app["config"]).to_run_config() == FedConfig().to_run_config()
    assert set(app["config"]) == set(FedConfig().to_run_config())


def test_resume_from_a_damaged_global_adapter_is_one_named_error(world, tmp_path):
    from liquidcare.federated.server_app import run_federation

    out = tmp_path / "fed"
    (out / "adapter").mkdir(parents=True)
    (out / "adapter" / "liquid_model.safetensors").write_bytes(b"\x10\x00\x00truncated")
    (out / "state.json").write_text(json.dumps({"round": 1, "config": _cfg(world,
                                                                          out).to_run_config()}))
    with pytest.raises(FederatedConfigError, match="liquid_model.safetensors is missing or "
                                                   "damaged"):
        run_federation(grid=None, cfg=_cfg(world, out))

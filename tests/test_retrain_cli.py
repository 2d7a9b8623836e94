"""`liquidcare retrain` end to end on a small store, and `liquidcare federate`'s bad input."""

from __future__ import annotations

import pytest
import torch
from federated_helpers import rated_rows, tiny_world
from safetensors.torch import load_file

from liquidcare.cli import main


@pytest.fixture()
def rated_store(tmp_path):
    from liquidcare.feedback import open_store
    from liquidcare.models import load_base
    from liquidcare.surgery import LiquidConfig, liquify, model_version, save_liquid

    world = tiny_world(tmp_path / "world")
    base, _ = load_base(str(world["model"]), device="cpu")
    model = liquify(base, LiquidConfig(cell="cfc", wiring="ncp", units=16, layers="last:1"))
    run = tmp_path / "runs" / "care"
    save_liquid(model, run / "adapter")
    db = tmp_path / "care.db"
    ids = []
    with open_store(db) as store:
        user, _ = store.add_user("Ana", role="carer")
        store.grant_consent("research_retraining", user_id=user.id, by=user)
        for row in rated_rows(6):
            conv = store.start_conversation(by=user)
            store.add_message(conv.id, "user", row["prompt"][-1]["content"], by=user)
            reply = store.add_message(conv.id, "assistant", row["completion"][0]["content"],
                                      by=user, model_version=model_version(run))
            store.rate(reply.id, 1 if row["label"] else -1, by=user)
            ids.append(reply.id)
    return run, db, ids


def test_retrain_makes_a_new_version_and_the_store_records_it(rated_store, tmp_path, capsys):
    from liquidcare.feedback import open_store
    from liquidcare.surgery import model_version

    run, db, ids = rated_store
    out = tmp_path / "runs" / "care-v2"
    assert main(["retrain", "--model", str(run), "--store", str(db), "--out", str(out),
                 "--lm-steps", "3", "--kto-steps", "3", "--kto-lr", "5e-3", "--device", "cpu",
                 "--quiet"]) == 0
    version = model_version(out)
    assert version.startswith("care-v2@") and version != model_version(run)
    assert version in capsys.readouterr().out
    with open_store(db) as store:
        assert sorted(store.trained_on(version)) == sorted(ids)
    old = load_file(str(run / "adapter" / "liquid_model.safetensors"))
    new = load_file(str(out / "adapter" / "liquid_model.safetensors"))
    assert set(old) == set(new) and all(".liquid." in k for k in new)
    assert any(not torch.equal(old[k], new[k]) for k in new)
    assert "KTO loss" in (out / "report.md").read_text()
    assert not list(out.glob("*.jsonl"))  # the exported conversations are not left behind


def test_retrain_refuses_bad_input(rated_store, tmp_path, capsys):
    run, db, _ = rated_store
    assert main(["retrain", "--model", str(tmp_path), "--store", str(db),
                 "--out", str(tmp_path / "x")]) == 1
    assert "not a run or adapter directory" in capsys.readouterr().err
    assert main(["retrain", "--model", str(run), "--store", str(tmp_path / "nope.db"),
                 "--out", str(tmp_path / "x")]) == 1
    assert "no such store" in capsys.readouterr().err


def test_retrain_with_no_ratings_says_so(rated_store, tmp_path, capsys):
    from liquidcare.feedback import open_store

    run, _, _ = rated_store
    empty = tmp_path / "empty.db"
    open_store(empty).close()
    assert main(["retrain", "--model", str(run), "--store", str(empty),
                 "--out", str(tmp_path / "x")]) == 1
    assert "no rated replies" in capsys.readouterr().err


def test_retrain_with_ratings_but_no_consent_says_so(rated_store, tmp_path, capsys):
    from liquidcare.feedback import open_store

    run, db, ids = rated_store
    with open_store(db) as store:
        user = store.list_users()[0]
        assert store.withdraw_consent("research_retraining", user_id=user.id, by=user) == 1
    out = tmp_path / "x"
    assert main(["retrain", "--model", str(run), "--store", str(db), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"has {len(ids)} rated replies but none with the consent" in err
    assert "liquidcare store consent" in err and "no rated replies yet" not in err
    assert not (out / "adapter").exists()


def test_federate_refuses_bad_flags_before_loading(tmp_path, capsys):
    assert main(["federate", "--rounds", "2"]) == 1
    assert "flwr run" in capsys.readouterr().err
    bad = tmp_path / "c.yaml"
    bad.write_text("local-step: 3\n")
    assert main(["federate", "--sim", "--config", str(bad)]) == 1
    assert "local-step" in capsys.readouterr().err


def test_federate_config_errors_name_the_field_and_the_file(tmp_path, capsys):
    bad = tmp_path / "fed.yaml"
    bad.write_text("rounds: many\nlocal-steps: 2\n")
    assert main(["federate", "--sim", "--config", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("liquidcare: error:")
    assert f"--config {bad}" in err and "rounds='many'" in err and "integer" in err
    toml = tmp_path / "app.toml"
    toml.write_text("[tool.flwr.app.config]\nstrategy = 'fedsgd'\n")
    assert main(["federate", "--sim", "--config", str(toml)]) == 1
    err = capsys.readouterr().err
    assert str(toml) in err and "strategy='fedsgd'" in err and "fedprox" in err
    # a flag's mistake is named as the flags'
    assert main(["federate", "--sim", "--rounds", "0"]) == 1
    assert "the flags: rounds=0" in capsys.readouterr().err

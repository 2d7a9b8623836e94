"""`liquidcare users|twins|store ...` end to end through the command-line entry point."""

import json

import pytest

from liquidcare.cli import main
from liquidcare.feedback import open_store


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_add_prints_a_working_key_once(store_url, capsys):
    code, out, _ = run(capsys, "users", "add", "Ana", "--role", "carer", "--store", store_url)
    assert code == 0
    key = out.split("API key (shown once, keep it safe): ")[1].strip()
    with open_store(store_url) as store:
        user = store.authenticate(key)
    assert user is not None and (user.name, user.role) == ("Ana", "carer")
    code, out, _ = run(capsys, "users", "list", "--store", store_url)
    assert "carer" in out and "Ana" in out and key not in out


def test_store_env_variable_and_init(tmp_path, monkeypatch, capsys):
    db = tmp_path / "env.db"
    monkeypatch.setenv("LIQUIDCARE_STORE", str(db))
    code, out, _ = run(capsys, "store", "init")
    assert code == 0 and "schema version 0003" in out and db.exists()


def test_rights_commands_round_trip(tmp_path, capsys):
    db = str(tmp_path / "care.db")
    with open_store(db) as store:
        carer, _ = store.add_user("Lucía", role="carer")
    twin_file = tmp_path / "twin.json"
    twin_file.write_text(json.dumps({"name": "Carmen Ruiz", "language": "es", "age": 84}))
    code, out, _ = run(capsys, "twins", "add", str(twin_file), "--link", str(carer.id),
                       "--store", db)
    assert code == 0 and "added twin 1 'Carmen Ruiz'" in out
    with open_store(db) as store:
        conv = store.start_conversation(by=carer, twin_id=1)
        store.add_message(conv.id, "user", "Carmen se ha caído", by=carer)
        reply = store.add_message(conv.id, "assistant", "Llame al 112", by=carer,
                                  model_version="m1")
        store.rate(reply.id, 1, by=carer)
        store.record_training("m2@abc", [reply.id])
        store.get_twin(1, by=carer)

    code, out, _ = run(capsys, "store", "export", "--out", str(tmp_path / "train.jsonl"),
                       "--store", db)
    assert "wrote 0 rated replies" in out and "left out 1 rated reply without" in out
    for who in (["--twin", "1"], ["--user", str(carer.id)]):
        code, out, _ = run(capsys, "store", "consent", "grant", *who, "--scope",
                           "research_retraining", "--note", "signed form", "--store", db)
        assert code == 0 and "consents to research_retraining since" in out
    code, out, _ = run(capsys, "store", "consent", "list", "--twin", "1", "--store", db)
    assert "research_retraining" in out and "active" in out and "signed form" in out
    code, out, _ = run(capsys, "store", "export", "--out", str(tmp_path / "train.jsonl"),
                       "--store", db)
    assert "wrote 1 rated replies" in out
    row = json.loads((tmp_path / "train.jsonl").read_text())
    assert row["label"] is True and "Carmen" not in json.dumps(row, ensure_ascii=False)
    code, out, _ = run(capsys, "store", "export", "--scope", "federated", "--out",
                       str(tmp_path / "fed.jsonl"), "--store", db)
    assert "wrote 0 rated replies" in out  # research consent is not federated consent
    code, out, _ = run(capsys, "store", "consent", "withdraw", "--twin", "1", "--scope",
                       "research_retraining", "--store", db)
    assert "withdrew 1 consent(s)" in out
    code, out, _ = run(capsys, "store", "export", "--out", str(tmp_path / "train.jsonl"),
                       "--store", db)
    assert "wrote 0 rated replies" in out
    run(capsys, "store", "consent", "grant", "--twin", "1", "--scope", "research_retraining",
        "--store", db)

    code, out, _ = run(capsys, "store", "export", "--person", "1", "--out",
                       str(tmp_path / "carmen"), "--store", db)
    assert code == 0
    assert json.loads((tmp_path / "carmen" / "person-1.json").read_text())["twin"]["age"] == 84
    assert "Carmen Ruiz" in (tmp_path / "carmen" / "person-1.md").read_text()

    code, out, _ = run(capsys, "store", "audit", "--person", "1", "--store", db)
    assert f"carer #{carer.id}" in out and "read" in out and "export" in out

    code, out, _ = run(capsys, "store", "backup", str(tmp_path / "b.db"), "--store", db)
    assert code == 0 and (tmp_path / "b.db").exists()

    code, _, err = run(capsys, "store", "forget", "--person", "1", "--store", db)
    assert code == 1 and "add --yes" in err  # stdin is not a terminal under pytest
    code, out, _ = run(capsys, "store", "forget", "--person", "1", "--yes", "--store", db)
    assert code == 0 and "erased person 1" in out and "messages 2" in out
    assert "model m2@abc learnt from 1 erased example(s)" in out
    code, out, _ = run(capsys, "store", "erasures", "--store", db)
    assert "person 1 by operator" in out and "m2@abc" in out
    code, out, _ = run(capsys, "twins", "list", "--store", db)
    assert "Carmen" not in out

    code, out, _ = run(capsys, "store", "restore", str(tmp_path / "b.db"), "--store", db)
    assert code == 0
    # the backup predates the erasure: the restore erases Carmen again, and says so
    assert "re-applied 1 erasure record(s)" in out and "erased people stay erased" in out
    assert "kept the store as it was in" in out and ".before-restore-" in out
    code, out, _ = run(capsys, "twins", "list", "--store", db)
    assert "Carmen" not in out and "Lucía (carer)" not in out


@pytest.mark.parametrize("argv, message", [
    (["store", "audit", "--person", "1"], "no store at"),
    (["store", "init", "--store", "mysql://u@h/db"], "unsupported database 'mysql'"),
    (["store", "export", "--person", "7", "--out", "x"], "no person 7"),
    (["store", "restore", "missing.db"], "no backup file"),
    (["twins", "add", "missing.json"], "cannot read twin file missing.json"),
    (["users", "add", "Ana", "--role", "carer"], None),
])
def test_errors_are_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    if message and "no store at" not in message and "mysql" not in message:
        run(capsys, "store", "init")
    code, out, err = run(capsys, *argv)
    if message is None:
        assert code == 0
        return
    assert code == 1
    assert err.startswith("liquidcare: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_postgresql_backup_command_names_pg_dump(postgres_cluster, capsys):
    url = postgres_cluster.new_database()
    code, _, err = run(capsys, "store", "backup", "/tmp/x.db", "--store", url)
    assert code == 1 and "pg_dump" in err and "pg_restore" in err


def test_a_bad_twin_file_names_the_file_and_the_field(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run(capsys, "store", "init")
    (tmp_path / "carmen.json").write_text(
        '{"name": "Carmen", "language": "es", "medications": [{"name": "x", "schedule": ["8am"]}]}'
    )
    code, _, err = run(capsys, "twins", "add", "carmen.json")
    assert code == 1
    assert "carmen.json" in err and "medications[0].schedule[0]" in err
    assert len(err.strip().splitlines()) == 1

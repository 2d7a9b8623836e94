"""The person's rights (export, erasure) and backup/restore, on both engines."""

import json

import pytest
import sqlalchemy as sa

from liquidcare.feedback import NotFoundError, StoreError, open_store
from liquidcare.feedback.models import Base

CARMEN_SAYS = ["Me llamo Carmen Ruiz y me he caído en el pasillo",
               "Olvidé la pastilla de la tensión"]
CARMEN_HEARS = ["Carmen, llama al 112 si te duele la cadera"]
JOHN_SAYS = "John Smith here: I feel lonely"


def fill(store):
    """Two people: Carmen (to be forgotten, with her own account) and John (to be kept)."""
    carmen_user, carmen_key = store.add_user("Carmen Ruiz", role="person")
    carer, _ = store.add_user("Lucía Marín", role="carer")
    john_carer, _ = store.add_user("Peter", role="carer")
    carmen = store.create_twin(
        {"name": "Carmen Ruiz", "age": 84, "language": "es", "conditions": ["hipertensión"],
         "emergency_contact": {"name": "Lucía Marín", "phone": "600111222"},
         "notes": "vive con su gata Misi"}, by=carmen_user)
    store.link(carmen.id, carer.id, by=None)
    john = store.create_twin({"name": "John Smith", "language": "en"}, by=john_carer)
    store.grant_consent("research_retraining", twin_id=carmen.id, by=carmen_user)
    store.grant_consent("research_retraining", twin_id=john.id, by=None, note="signed form")
    for user in (carmen_user, carer, john_carer):
        store.grant_consent("research_retraining", user_id=user.id, by=user)

    own = store.start_conversation(by=carmen_user, twin_id=carmen.id)
    store.add_message(own.id, "user", CARMEN_SAYS[0], by=carmen_user)
    reply = store.add_message(own.id, "assistant", CARMEN_HEARS[0], by=carmen_user,
                              model_version="m1")
    store.rate(reply.id, 1, by=carmen_user, comment="muy amable, Carmen")
    store.record_verdict(own.id, "output", {"allowed": True, "quote": CARMEN_HEARS[0]},
                         message_id=reply.id)
    about = store.start_conversation(by=carer, twin_id=carmen.id)
    store.add_message(about.id, "user", CARMEN_SAYS[1], by=carer)
    reply2 = store.add_message(about.id, "assistant", "Tómela ahora, Carmen", by=carer,
                               model_version="m1")
    store.rate(reply2.id, -1, by=carer)

    jconv = store.start_conversation(by=john_carer, twin_id=john.id)
    store.add_message(jconv.id, "user", JOHN_SAYS, by=john_carer)
    jreply = store.add_message(jconv.id, "assistant", "I'm here for you, John", by=john_carer,
                               model_version="m1")
    store.rate(jreply.id, 1, by=john_carer)

    store.record_training("adapter@1", [reply.id, jreply.id])
    store.record_training("adapter@2", [jreply.id])
    store.get_twin(carmen.id, by=carer)  # an audited read
    return {"carmen": carmen, "john": john, "carmen_user": carmen_user, "carmen_key": carmen_key,
            "carer": carer, "john_carer": john_carer, "jconv": jconv, "jreply": jreply}


def all_text(store) -> str:
    """Every value of every column of every table, as text."""
    chunks = []
    with store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                chunks.extend(json.dumps(v, ensure_ascii=False, default=str) for v in row)
    return "\n".join(chunks)


def test_forget_erases_every_trace_and_keeps_the_others(store_url, tmp_path):
    with open_store(store_url) as store:
        w = fill(store)
        assert "Carmen" in all_text(store)
        erasure = store.forget_person(w["carmen"].id, by=None)

        text = all_text(store)
        for needle in ["Carmen", "Ruiz", "Misi", "hipertensión", "600111222",
                       *CARMEN_SAYS, *CARMEN_HEARS, "caido", "pastilla", "Tómela"]:
            assert needle not in text, needle
        assert erasure.kinds == {
            "twin": 1, "twin_links": 2, "timeline_events": 2, "conversations": 2,
            "messages": 4, "ratings": 2, "guard_verdicts": 1, "training_examples": 1,
            "consents": 1, "user_accounts": 1,
        }
        assert [e.person_id for e in store.erasures()] == [w["carmen"].id]
        assert store.erasures()[0].by_role == "operator"
        assert store.authenticate(w["carmen_key"]) is None
        with pytest.raises(NotFoundError):
            store.get_twin(w["carmen"].id, by=None)
        # The carer keeps their account; John's data is untouched.
        assert store.get_user(w["carer"].id).name == "Lucía Marín"
        john = store.get_twin(w["john"].id, by=w["john_carer"])
        assert john.name == "John Smith"
        conv = store.get_conversation(w["jconv"].id, by=w["john_carer"])
        assert [m.content for m in conv.messages] == [JOHN_SAYS, "I'm here for you, John"]
        assert [e.kind for e in store.timeline(w["john"].id, by=w["john_carer"])] == ["low_mood"]
        out = tmp_path / "train.jsonl"
        assert store.export_training_set(out) == 1
        assert json.loads(out.read_text())["message_id"] == w["jreply"].id
        # adapter@1 learnt from Carmen's reply: it is marked; adapter@2 did not.
        carried = store.models_carrying_erased_data()
        assert [(c.adapter_version, c.erasure_id, c.examples) for c in carried] == [
            ("adapter@1", erasure.id, 1)]
        assert store.trained_on("adapter@1") == [w["jreply"].id]
        # The audit trail of who read her record survives (ids only), ending with the erasure.
        trail = store.audit(w["carmen"].id)
        assert ("read", "twin") in [(a.action, a.kind) for a in trail]
        assert (trail[-1].action, trail[-1].object_id) == ("forget", erasure.id)
        with pytest.raises(NotFoundError, match="no person"):
            store.forget_person(w["carmen"].id)


def test_forget_is_one_transaction(store_url, monkeypatch):
    """A failure half-way leaves everything in place."""
    from liquidcare.feedback import rights

    with open_store(store_url) as store:
        w = fill(store)
        before = all_text(store)
        real_delete = rights.delete
        calls = []

        def failing_delete(model):
            calls.append(model)
            if len(calls) == 5:
                raise RuntimeError("disk on fire")
            return real_delete(model)

        monkeypatch.setattr(rights, "delete", failing_delete)
        with pytest.raises(RuntimeError, match="disk on fire"):
            store.forget_person(w["carmen"].id)
        assert all_text(store) == before
        assert store.erasures() == []


def test_export_person_writes_json_and_summary_in_their_language(store_url, tmp_path):
    with open_store(store_url) as store:
        w = fill(store)
        paths = store.export_person(w["carmen"].id, tmp_path / "out", by=w["carer"])
        data = json.loads(paths[0].read_text(encoding="utf-8"))
        assert data["twin"]["name"] == "Carmen Ruiz"
        assert data["account"]["name"] == "Carmen Ruiz"
        assert [e["kind"] for e in data["timeline"]] == ["fall", "missed_dose"]
        texts = [m["content"] for c in data["conversations"] for m in c["messages"]]
        assert CARMEN_SAYS[0] in texts and CARMEN_SAYS[1] in texts and JOHN_SAYS not in texts
        ratings = [r["value"] for c in data["conversations"] for r in c["ratings"]]
        assert sorted(ratings) == [-1, 1]
        assert data["conversations"][0]["trained_into"] == ["adapter@1"]
        assert any(a["action"] == "read" for a in data["audit"])
        summary = paths[1].read_text(encoding="utf-8")
        assert summary.startswith("# Todo lo que guardamos sobre Carmen Ruiz")
        assert "Historial" in summary and "hipertensión" in summary
        assert "Lucía Marín (carer)" in summary
        # The export itself is audited.
        assert store.audit(w["carmen"].id)[-1].action == "export"
        en = store.export_person(w["john"].id, tmp_path / "john")[1].read_text()
        assert en.startswith("# Everything we hold about John Smith")
        with pytest.raises(NotFoundError, match="no person 999"):
            store.export_person(999, tmp_path / "none")


def test_backup_and_restore_serve_the_same_conversations(tmp_path):
    db = tmp_path / "care.db"
    with open_store(db) as store:
        w = fill(store)
        before = store.get_conversation(w["jconv"].id, by=w["john_carer"])
        backup = store.backup(tmp_path / "care.backup")
        # Changes after the backup disappear on restore.
        store.add_message(w["jconv"].id, "user", "after the backup", by=w["john_carer"])
        report = store.restore(backup)
        after = store.get_conversation(w["jconv"].id, by=w["john_carer"])
        assert after == before
        assert store.get_twin(w["carmen"].id, by=None).name == "Carmen Ruiz"
        assert store.authenticate(w["carmen_key"]) == w["carmen_user"]
        assert store.erasures() == [] and report.reapplied_erasures == []
        # the store as it was just before the restore is kept, readable by its owner only
        assert report.kept_copy.parent == tmp_path and report.kept_copy.stat().st_mode & 0o077 == 0
        with open_store(report.kept_copy, create=False) as kept:
            texts = [m.content for m in kept.get_conversation(w["jconv"].id, by=None).messages]
            assert texts[-1] == "after the backup"
    # A fresh store restored from the backup serves the same, too.
    with open_store(tmp_path / "other.db") as other:
        other.restore(backup)
        assert other.get_conversation(w["jconv"].id, by=w["john_carer"]) == before


def test_restoring_an_older_backup_keeps_an_erased_person_erased(tmp_path):
    with open_store(tmp_path / "care.db") as store:
        w = fill(store)
        backup = store.backup(tmp_path / "care.backup")
        erasure = store.forget_person(w["carmen"].id)
        audit_before = store.audit(w["carmen"].id)
        report = store.restore(backup)
        assert report.reapplied_erasures == [erasure.id]
        with pytest.raises(NotFoundError):
            store.get_twin(w["carmen"].id, by=None)
        assert store.authenticate(w["carmen_key"]) is None
        text = all_text(store)
        for said in [*CARMEN_SAYS, *CARMEN_HEARS, "Carmen Ruiz", "Misi"]:
            assert said not in text
        assert [e.id for e in store.erasures()] == [erasure.id]
        assert store.erasures()[0].kinds == erasure.kinds
        # adapter@1 learnt from Carmen's reply: it is still named as carrying erased data
        assert [c.adapter_version for c in store.models_carrying_erased_data()] == ["adapter@1"]
        # the audit log still shows the reads and the erasure, then the restore
        after = [(a.action, a.kind, a.object_id) for a in store.audit(w["carmen"].id)]
        assert after == [(a.action, a.kind, a.object_id) for a in audit_before]
        assert ("forget", "person", erasure.id) in after
        # John, whom nobody erased, is back as he was at the backup
        assert store.get_twin(w["john"].id, by=None).name == "John Smith"


def _damage(path, pages=(3, 4, 5), page_size=4096):
    with open(path, "r+b") as f:
        for page in pages:
            f.seek((page - 1) * page_size)
            f.write(bytes(range(256)) * (page_size // 256))


def test_restore_refuses_a_backup_with_damaged_pages_and_leaves_the_store_alone(tmp_path):
    with open_store(tmp_path / "care.db") as store:
        w = fill(store)
        backup = store.backup(tmp_path / "care.backup")
        store.add_message(w["jconv"].id, "user", "after the backup", by=w["john_carer"])
        before = all_text(store)
        _damage(backup)
        with pytest.raises(StoreError, match="damaged|not a SQLite database") as err:
            store.restore(backup)
        assert "nothing was restored" in str(err.value)
        assert all_text(store) == before
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert list(tmp_path.glob("care.db.before-restore-*")) == []


def test_restore_refuses_what_is_not_a_backup(tmp_path):
    with open_store(tmp_path / "care.db") as store:
        with pytest.raises(StoreError, match="no backup file"):
            store.restore(tmp_path / "missing.db")
        junk = tmp_path / "junk.db"
        junk.write_text("hello")
        with pytest.raises(StoreError, match="not a SQLite database"):
            store.restore(junk)
        import sqlite3

        other = sqlite3.connect(tmp_path / "other.db")
        other.execute("CREATE TABLE t (x)")
        other.close()
        with pytest.raises(StoreError, match="not a liquidcare store backup"):
            store.restore(tmp_path / "other.db")
        with pytest.raises(StoreError, match="does not exist"):
            store.backup(tmp_path / "nowhere" / "b.db")


def test_postgresql_backup_points_at_pg_dump(postgres_cluster):
    with open_store(postgres_cluster.new_database()) as store:
        with pytest.raises(StoreError, match="pg_dump.*pg_restore"):
            store.backup("/tmp/x.db")
        with pytest.raises(StoreError, match="pg_dump.*pg_restore"):
            store.restore("/tmp/x.db")

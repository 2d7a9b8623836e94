"""The feedback store's core on both engines: users and keys, twins, conversations, ratings,
the training set, the schema and its migrations."""

import json

import pytest
import sqlalchemy as sa

from liquidcare.errors import UserError
from liquidcare.feedback import (
    NotFoundError,
    StaleWriteError,
    StoreError,
    ValidationError,
    open_store,
)

TWIN = {
    "name": "Carmen Ruiz",
    "age": 84,
    "language": "es",
    "conditions": ["diabetes tipo 2", "artrosis"],
    "medications": [{"name": "metformina", "dose": "850 mg", "schedule": ["20:00", "08:00"]}],
    "routines": ["paseo a las 11"],
    "preferences": ["le gusta la radio"],
    "carers": [{"name": "Lucía", "relation": "hija", "phone": "600111222"}],
    "emergency_contact": {"name": "Lucía", "phone": "600111222"},
}


@pytest.fixture
def store(store_url):
    with open_store(store_url) as s:
        yield s


@pytest.fixture
def empty_url(request, store_url):
    """Like `store_url`, but a PostgreSQL database without even the schema (first migration)."""
    if "postgresql" in request.node.callspec.id:
        return request.getfixturevalue("postgres_cluster").new_database(migrated=False)
    return store_url


def test_schema_version_is_visible_and_reopening_keeps_data(empty_url):
    store_url = empty_url
    with sa.create_engine(store_url if "://" in store_url else f"sqlite:///{store_url}").connect(
    ) as conn:
        assert "users" not in sa.inspect(conn).get_table_names()
    with open_store(store_url) as s:
        assert s.schema_version() == "0003"
        s.add_user("Ana", role="carer")
    with open_store(store_url) as s:
        assert s.schema_version() == "0003"
        assert [u.name for u in s.list_users()] == ["Ana"]


def test_migrated_schema_matches_the_models(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from liquidcare.feedback.models import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_ping_answers_while_the_database_is_there(tmp_path):
    store = open_store(tmp_path / "care.db")
    assert store.ping() is True
    store.engine.dispose()
    (tmp_path / "care.db").unlink()
    (tmp_path / "care.db").mkdir()  # the file replaced by something SQLite cannot open
    assert store.ping() is False


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    with open_store(tmp_path / "care.db") as s, s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_api_key_authenticates_and_is_stored_only_hashed(store):
    user, key = store.add_user("Ana", role="carer")
    assert store.authenticate(key) == user
    secret = key.split("_", 2)[2]
    with store.engine.connect() as conn:
        rows = [tuple(map(str, r)) for r in conn.execute(sa.text("SELECT * FROM api_keys"))]
    assert rows and not any(secret in value for row in rows for value in row)
    assert store.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.authenticate("not-a-key") is None
    assert store.authenticate("") is None
    other = store.new_api_key(user.id)
    assert store.authenticate(other) == user
    assert store.revoke_keys(user.id) == 2
    assert store.authenticate(key) is None and store.authenticate(other) is None


def test_unknown_role_and_empty_name_are_refused(store):
    with pytest.raises(ValidationError, match="unknown role 'nurse'"):
        store.add_user("Ana", role="nurse")
    with pytest.raises(ValidationError, match="name"):
        store.add_user("  ", role="carer")


def test_twin_is_validated_and_round_trips(store):
    carer, _ = store.add_user("Ana", role="carer")
    twin = store.create_twin(TWIN, by=carer)
    got = store.get_twin(twin.id, by=carer)
    assert got.name == "Carmen Ruiz" and got.age == 84 and got.version == 1
    assert got.medications == [
        {"name": "metformina", "dose": "850 mg", "schedule": ["08:00", "20:00"]}
    ]
    assert got.emergency_contact == {"name": "Lucía", "phone": "600111222"}
    with pytest.raises(ValidationError, match="unknown twin field.*medication\\b"):
        store.create_twin({"name": "X", "language": "en", "medication": []}, by=carer)
    with pytest.raises(ValidationError, match="'language'"):
        store.create_twin({"name": "X", "language": "fr"}, by=carer)
    with pytest.raises(ValidationError, match=r"medications\[0\]\.schedule"):
        store.create_twin(
            {"name": "X", "language": "en",
             "medications": [{"name": "a", "schedule": ["8am"]}]}, by=carer)
    with pytest.raises(ValidationError, match="'age'"):
        store.create_twin({"name": "X", "language": "en", "age": "old"}, by=carer)
    with pytest.raises(NotFoundError):
        store.get_twin(9999, by=carer)


def test_system_prompt_uses_the_twin_in_its_language(store):
    carer, _ = store.add_user("Ana", role="carer")
    es = store.create_twin(TWIN, by=carer).system_prompt()
    assert "Carmen Ruiz" in es and "84 años" in es and "metformina 850 mg a las 08:00, 20:00" in es
    assert "español" in es and "Lucía" in es and "diabetes tipo 2" in es
    en = store.create_twin(
        {"name": "John", "language": "en", "conditions": ["COPD"],
         "medications": [{"name": "salbutamol", "schedule": ["09:00"]}]}, by=carer
    ).system_prompt()
    assert "John" in en and "COPD" in en and "salbutamol at 09:00" in en and "English" in en
    assert "español" not in en


def test_the_twin_prompt_names_the_emergency_numbers_of_its_locale():
    """UK carers are told 999 (and NHS 111 for urgent advice), Spanish ones 112 (and the
    centro de salud): never 112 to an English (UK) twin, never 911 to anyone."""
    from liquidcare.feedback.twin import Twin

    en = Twin(id=1, name="John", language="en").system_prompt()
    assert "call 999 now" in en and "NHS 111" in en
    assert "112" not in en and "911" not in en
    es = Twin(id=2, name="Carmen", language="es").system_prompt()
    assert "llame al 112 ahora" in es and "centro de salud" in es
    assert "999" not in es and "111" not in es and "911" not in es
    # the server hands in the numbers of its safety policy; they win over the defaults
    own = Twin(id=1, name="John", language="en").system_prompt(
        {"number": "999", "urgent": "NHS 24 (111)"})
    assert "NHS 24 (111)" in own and "call 999 now" in own


def test_the_server_builds_the_twin_prompt_with_the_policy_numbers():
    from liquidcare.feedback.twin import Twin
    from liquidcare.safety.policy import load_policy
    from liquidcare.serve.service import ChatService

    class _Guard:
        policy = load_policy()

    service = ChatService(engine=None, store=None, guard=_Guard())
    system, lang, origin = service._system_prompt(Twin(id=1, name="John", language="en"), [])
    assert (lang, origin) == ("en", "server")
    assert "call 999 now" in system and "NHS 111" in system and "112" not in system
    system, lang, _ = service._system_prompt(Twin(id=2, name="Ana", language="es"), [])
    assert lang == "es" and "llame al 112" in system and "999" not in system


def test_update_twin_checks_the_version(store):
    carer, _ = store.add_user("Ana", role="carer")
    twin = store.create_twin(TWIN, by=carer)
    updated = store.update_twin(twin.id, {"age": 85}, expected_version=1, by=carer)
    assert updated.version == 2 and updated.age == 85 and updated.name == "Carmen Ruiz"
    with pytest.raises(StaleWriteError, match="version 2, not 1") as err:
        store.update_twin(twin.id, {"age": 86}, expected_version=1, by=carer)
    assert err.value.status == 409
    assert store.get_twin(twin.id, by=carer).age == 85
    with pytest.raises(ValidationError):
        store.update_twin(twin.id, {"colour": "red"}, expected_version=2, by=carer)


def test_conversation_messages_and_ratings(store):
    carer, _ = store.add_user("Ana", role="carer")
    twin = store.create_twin(TWIN, by=carer)
    conv = store.start_conversation(by=carer, twin_id=twin.id)
    store.add_message(conv.id, "user", "¿Ha tomado Carmen la pastilla?", by=carer)
    reply = store.add_message(conv.id, "assistant", "Sí, a las ocho.", by=carer,
                              model_version="demo@0123456789ab")
    got = store.get_conversation(conv.id, by=carer)
    assert [(m.role, m.content) for m in got.messages] == [
        ("user", "¿Ha tomado Carmen la pastilla?"), ("assistant", "Sí, a las ocho.")]
    assert got.messages[1].model_version == "demo@0123456789ab"
    assert [c.id for c in store.list_conversations(by=carer)] == [conv.id]
    store.rate(reply.id, -1, by=carer)
    rating = store.rate(reply.id, 1, by=carer, comment="bien")
    assert [(r.value, r.comment) for r in store.ratings(reply.id, by=carer)] == [(1, "bien")]
    assert rating.value == 1
    with pytest.raises(ValidationError, match="assistant"):
        store.rate(got.messages[0].id, 1, by=carer)
    with pytest.raises(ValidationError, match=r"\+1"):
        store.rate(reply.id, 2, by=carer)
    with pytest.raises(ValidationError, match="role"):
        store.add_message(conv.id, "robot", "hi", by=carer)
    with pytest.raises(NotFoundError):
        store.add_message(12345, "user", "hi", by=carer)
    verdict = store.record_verdict(conv.id, "input", {"allowed": True, "score": 0.1})
    assert store.verdicts(conv.id)[0]["id"] == verdict
    with pytest.raises(ValidationError, match="stage"):
        store.record_verdict(conv.id, "middle", {})


def test_export_training_set_writes_kto_rows(store, tmp_path):
    carer, _ = store.add_user("Ana", role="carer")
    twin = store.create_twin(TWIN, by=carer)
    conv = store.start_conversation(by=carer, twin_id=twin.id)
    store.add_message(conv.id, "user", "Hola", by=carer)
    good = store.add_message(conv.id, "assistant", "Hola, Carmen", by=carer, model_version="m1")
    store.add_message(conv.id, "user", "¿Qué tomo?", by=carer)
    bad = store.add_message(conv.id, "assistant", "No sé", by=carer, model_version="m1")
    store.add_message(conv.id, "assistant", "Sin valorar", by=carer, model_version="m1")
    store.rate(good.id, 1, by=carer)
    store.rate(bad.id, -1, by=carer)
    plain = store.start_conversation(by=carer)
    store.add_message(plain.id, "system", "Be brief.", by=carer)
    store.add_message(plain.id, "user", "Hi", by=carer)
    third = store.add_message(plain.id, "assistant", "Hello", by=carer, model_version="m2")
    store.rate(third.id, 1, by=carer)

    out = tmp_path / "train.jsonl"
    assert store.export_training_set(out) == 0  # no consent yet
    store.grant_consent("research_retraining", user_id=carer.id, by=carer)
    assert store.export_training_set(out) == 1  # the plain chat: the carer's own consent
    store.grant_consent("research_retraining", twin_id=twin.id, by=None)
    assert store.export_training_set(out) == 3
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    first, second, last = rows
    # stored before prompts were kept: the stored messages before the reply, no system prompt
    # rebuilt from the twin's current fields, the twin's name masked
    assert first["prompt"] == [{"role": "user", "content": "Hola"}]
    assert first["completion"] == [{"role": "assistant", "content": "Hola, <PERSON>"}]
    assert first["label"] is True and first["model_version"] == "m1"
    assert (first["message_id"], first["conversation_id"], first["twin_id"]) == (
        good.id, conv.id, twin.id)
    assert second["label"] is False and len(second["prompt"]) == 3
    # the client's system message is not the server's: left out
    assert last["prompt"] == [{"role": "user", "content": "Hi"}]
    assert last["dropped_client_turns"] == 1
    assert last["twin_id"] is None and last["label"] is True
    assert out.stat().st_mode & 0o077 == 0


def test_record_training_links_adapters_to_messages(store):
    carer, _ = store.add_user("Ana", role="carer")
    conv = store.start_conversation(by=carer)
    reply = store.add_message(conv.id, "assistant", "Hello", by=carer, model_version="m1")
    store.record_training("run@abc", [reply.id])
    store.record_training("run@abc", [reply.id])  # idempotent
    assert store.trained_on("run@abc") == [reply.id]
    with pytest.raises(NotFoundError, match="999"):
        store.record_training("run@abc", [999])


def test_open_store_errors_are_one_line_user_errors(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "missing" / "care.db")
    with pytest.raises(StoreError, match="no store at"):
        open_store(tmp_path / "care.db", create=False)
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        open_store("mysql://u@localhost/db")
    with pytest.raises(StoreError, match="not a database URL"):
        open_store("postgresql+psycopg://u@host:notaport/db")
    with pytest.raises(StoreError, match="cannot connect"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(UserError, match="not a usable liquidcare store"):
        open_store(junk)


def test_an_older_store_is_migrated_on_open_and_keeps_its_data(tmp_path):
    from alembic import command

    from liquidcare.feedback.engine import _alembic_config, make_engine

    path = tmp_path / "old.db"
    engine = make_engine(str(path))
    with engine.execution_options(liquidcare_write=True).begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
        conn.execute(sa.text(
            "INSERT INTO users (name, role, created_at) VALUES ('Ana', 'carer', '2026-01-01')"))
    engine.dispose()
    with open_store(path) as store:
        assert store.schema_version() == "0003"
        assert [u.name for u in store.list_users()] == ["Ana"]


def test_migration_0003_tells_the_models_replies_from_the_clients(tmp_path):
    from alembic import command

    from liquidcare.feedback.engine import _alembic_config, make_engine

    path = tmp_path / "old.db"
    engine = make_engine(str(path))
    with engine.execution_options(liquidcare_write=True).begin() as conn:
        command.upgrade(_alembic_config(conn), "0002")
        conn.execute(sa.text(
            "INSERT INTO users (name, role, created_at) VALUES ('Ana', 'carer', '2026-01-01')"))
        conn.execute(sa.text("INSERT INTO conversations (user_id, title, created_at) "
                             "VALUES (1, '', '2026-01-01')"))
        for role, version in [("user", None), ("assistant", None), ("assistant", "m1"),
                              ("assistant", "guard")]:
            conn.execute(sa.text(
                "INSERT INTO messages (conversation_id, role, content, model_version, "
                "created_at) VALUES (1, :role, 'x', :version, '2026-01-01')"),
                {"role": role, "version": version})
    engine.dispose()
    with open_store(path) as store:
        conv = store.get_conversation(1, by=None)
        assert [m.origin for m in conv.messages] == ["client", "client", "model", "guard"]
        with pytest.raises(ValidationError, match="written by the client"):
            store.rate(conv.messages[1].id, 1, by=1)
        store.rate(conv.messages[2].id, 1, by=1)


def test_only_an_admin_names_whose_twin_it_is_and_that_person_gets_access(store):
    carer, _ = store.add_user("Ana", role="carer")
    admin, _ = store.add_user("Root", role="admin")
    person, _ = store.add_user("Carmen", role="person")
    twin = store.create_twin({"name": "Carmen", "language": "es"}, by=carer)
    from liquidcare.feedback import PermissionDeniedError

    with pytest.raises(PermissionDeniedError, match="admin"):
        store.update_twin(twin.id, {"person_user_id": person.id}, 1, by=carer)
    with pytest.raises(ValidationError, match="role 'person'"):
        store.update_twin(twin.id, {"person_user_id": carer.id}, 1, by=admin)
    store.update_twin(twin.id, {"person_user_id": person.id}, 1, by=admin)
    assert store.get_twin(twin.id, by=person).person_user_id == person.id

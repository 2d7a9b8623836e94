"""Who may do what, checked in the store itself (the server only maps errors to 403/404), and
the audit log that records every read by anyone but the person."""

import pytest

from liquidcare.feedback import PermissionDeniedError, open_store

ROLES = ("person", "carer", "clinician", "stranger", "admin")


@pytest.fixture
def world(store_url, tmp_path):
    store = open_store(store_url)
    users = {
        "person": store.add_user("Carmen", role="person")[0],
        "carer": store.add_user("Lucía", role="carer")[0],
        "clinician": store.add_user("Dr Gil", role="clinician")[0],
        "stranger": store.add_user("Otra", role="carer")[0],
        "admin": store.add_user("Root", role="admin")[0],
    }
    twin = store.create_twin({"name": "Carmen", "language": "es"}, by=users["person"])
    store.link(twin.id, users["carer"].id, by=users["admin"])
    store.link(twin.id, users["clinician"].id, by=users["carer"])
    conv = store.start_conversation(by=users["carer"], twin_id=twin.id)
    store.add_message(conv.id, "user", "Se ha caído", by=users["carer"])
    reply = store.add_message(conv.id, "assistant", "Llama al 112", by=users["carer"],
                              model_version="m1")
    yield store, users, twin, conv, reply, tmp_path
    store.close()


# action -> the roles allowed to do it
MATRIX = {
    "get_twin": {"person", "carer", "clinician", "admin"},
    "update_twin": {"person", "carer", "clinician", "admin"},
    "timeline": {"carer", "clinician", "admin"},
    "start_conversation_about_twin": {"person", "carer", "clinician", "admin"},
    "read_carers_conversation": {"carer", "admin"},
    "write_carers_conversation": {"carer"},
    "rate_carers_reply": {"carer"},
    "link_someone": {"carer", "clinician", "admin"},
    "export_person": {"person", "carer", "clinician", "admin"},
    "audit": {"person", "admin"},
    "forget_person": {"person", "admin"},
}


def attempt(action, store, by, twin, conv, reply, tmp_path):
    if action == "get_twin":
        store.get_twin(twin.id, by=by)
    elif action == "update_twin":
        current = store.get_twin(twin.id, by=None).version
        store.update_twin(twin.id, {"notes": f"by {by.name}"}, current, by=by)
    elif action == "timeline":
        store.timeline(twin.id, by=by)
    elif action == "start_conversation_about_twin":
        store.start_conversation(by=by, twin_id=twin.id)
    elif action == "read_carers_conversation":
        store.get_conversation(conv.id, by=by)
    elif action == "write_carers_conversation":
        store.add_message(conv.id, "user", "hola", by=by)
    elif action == "rate_carers_reply":
        store.rate(reply.id, 1, by=by)
    elif action == "link_someone":
        newcomer = store.add_user("Nuevo", role="carer")[0]
        store.link(twin.id, newcomer.id, by=by)
    elif action == "export_person":
        store.export_person(twin.id, tmp_path / f"export-{by.role}-{by.id}", by=by)
    elif action == "audit":
        store.audit(twin.id, by=by)
    elif action == "forget_person":
        store.forget_person(twin.id, by=by)
    else:
        raise AssertionError(action)


@pytest.mark.parametrize("action", sorted(MATRIX))
def test_authorisation_matrix(world, action):
    store, users, twin, conv, reply, tmp_path = world
    # Forget is destructive: try the refused roles first, then one allowed role.
    order = sorted(ROLES, key=lambda r: r in MATRIX[action])
    for role in order:
        allowed = role in MATRIX[action]
        if allowed:
            attempt(action, store, users[role], twin, conv, reply, tmp_path)
            if action == "forget_person":
                return
        else:
            with pytest.raises(PermissionDeniedError) as err:
                attempt(action, store, users[role], twin, conv, reply, tmp_path)
            assert err.value.status == 403, (action, role)


def test_list_twins_shows_only_linked_twins(world):
    store, users, twin, *_ = world
    other = store.create_twin({"name": "Pedro", "language": "es"}, by=users["stranger"])
    assert [t.id for t in store.list_twins(by=users["carer"])] == [twin.id]
    assert [t.id for t in store.list_twins(by=users["stranger"])] == [other.id]
    assert [t.id for t in store.list_twins(by=users["admin"])] == [twin.id, other.id]


def test_list_conversations_shows_only_own(world):
    store, users, _, conv, *_ = world
    assert [c.id for c in store.list_conversations(by=users["carer"])] == [conv.id]
    assert store.list_conversations(by=users["clinician"]) == []


def test_deleted_user_is_refused(world):
    store, users, twin, *_ = world
    with pytest.raises(PermissionDeniedError, match="does not exist"):
        store.get_twin(twin.id, by=9999)


def test_reads_by_others_are_audited_and_the_persons_own_are_not(world):
    store, users, twin, conv, *_ = world
    before = len(store.audit(twin.id))
    store.get_twin(twin.id, by=users["person"])
    assert len(store.audit(twin.id)) == before
    store.get_twin(twin.id, by=users["clinician"])
    store.timeline(twin.id, by=users["carer"])
    store.get_conversation(conv.id, by=users["admin"])
    reads = [(e.actor_id, e.action, e.kind, e.object_id)
             for e in store.audit(twin.id)[before:]]
    assert reads == [
        (users["clinician"].id, "read", "twin", twin.id),
        (users["carer"].id, "read", "timeline", twin.id),
        (users["admin"].id, "read", "conversation", conv.id),
    ]
    assert all(e.at is not None for e in store.audit(twin.id))
    # The audit entries hold ids only: no names, no message text.
    text = repr(store.audit(twin.id))
    assert "Carmen" not in text and "caído" not in text


def test_user_messages_in_a_twin_chat_feed_its_timeline(world):
    store, users, twin, conv, *_ = world
    store.add_message(conv.id, "user", "Hoy no ha bebido agua y le duele la espalda",
                      by=users["carer"])
    store.add_message(conv.id, "assistant", "Me caí: esto lo dice el asistente",
                      by=users["carer"])
    kinds = [e.kind for e in store.timeline(twin.id, by=users["clinician"])]
    assert kinds == ["fall", "pain", "not_drinking"]
    # No twin, no timeline: a chat without a twin records nothing anywhere.
    plain = store.start_conversation(by=users["stranger"])
    store.add_message(plain.id, "user", "I fell", by=users["stranger"])
    assert len(store.timeline(twin.id, by=users["admin"])) == 3


def test_audit_log_is_append_only_in_the_database(world):
    import sqlalchemy as sa

    store, users, twin, *_ = world
    store.get_twin(twin.id, by=users["carer"])
    for statement in ("UPDATE audit_log SET actor_id = 0", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with store._write_engine.begin() as conn:
                conn.execute(sa.text(statement))
    assert store.audit(twin.id)[-1].actor_id == users["carer"].id


def test_an_admin_reading_a_persons_own_chat_is_audited(world):
    store, users, twin, *_ = world
    own = store.start_conversation(by=users["person"])  # no twin attached
    store.add_message(own.id, "user", "hola", by=users["person"])
    before = len(store.audit(twin.id))
    store.get_conversation(own.id, by=users["person"])
    assert len(store.audit(twin.id)) == before
    store.get_conversation(own.id, by=users["admin"])
    last = store.audit(twin.id)[-1]
    assert (last.actor_id, last.kind, last.object_id) == (users["admin"].id, "conversation", own.id)

"""Issue 17: no reading a person's data through a decoy twin; erasing one twin leaves the others;
refusals do not tell which ids are people; the store's files are private. Both engines."""

from __future__ import annotations

import os
import stat

import pytest

from liquidcare.feedback import NotFoundError, PermissionDeniedError, ValidationError, open_store
from liquidcare.feedback.twins import ATTACH_REFUSED

SECRET = "my door code is 4321"


@pytest.fixture
def world(store_url, tmp_path):
    store = open_store(store_url)
    a, _ = store.add_user("Carer A", role="carer")
    b, _ = store.add_user("Carer B", role="carer")
    admin, _ = store.add_user("Root", role="admin")
    person, _ = store.add_user("Carmen", role="person")
    twin1 = store.create_twin({"name": "Carmen", "language": "en"}, by=a)
    store.update_twin(twin1.id, {"person_user_id": person.id}, twin1.version, by=admin)
    own = store.start_conversation(by=person, twin_id=twin1.id)
    store.add_message(own.id, "user", SECRET, by=person)
    yield store, a, b, admin, person, twin1, own
    store.close()


def test_a_carer_cannot_attach_a_person_to_a_twin(world):
    store, a, b, admin, person, twin1, own = world
    with pytest.raises(PermissionDeniedError) as as_person:
        store.create_twin({"name": "Decoy", "language": "en", "person_user_id": person.id}, by=b)
    # the same words for an id that is a carer, and for one that is nobody
    with pytest.raises(PermissionDeniedError) as as_carer:
        store.create_twin({"name": "Decoy", "language": "en", "person_user_id": a.id}, by=b)
    with pytest.raises(PermissionDeniedError) as as_nobody:
        store.create_twin({"name": "Decoy", "language": "en", "person_user_id": 999}, by=b)
    assert str(as_person.value) == str(as_carer.value) == str(as_nobody.value) == ATTACH_REFUSED
    assert [t.id for t in store.list_twins(by=b)] == []


def test_a_carer_cannot_link_a_person_and_the_refusal_does_not_say_who_is_one(world):
    store, a, b, admin, person, twin1, own = world
    decoy = store.create_twin({"name": "Decoy", "language": "en"}, by=b)
    with pytest.raises(PermissionDeniedError) as to_person:
        store.link(decoy.id, person.id, by=b)
    with pytest.raises(PermissionDeniedError) as to_nobody:
        store.link(decoy.id, 999, by=b)
    assert str(to_person.value).replace(str(person.id), "N") == \
        str(to_nobody.value).replace("999", "N")
    store.link(decoy.id, a.id, by=b)  # a colleague: allowed
    assert {u.id for u in store.linked_users(decoy.id, by=b)} == {a.id, b.id}


def test_a_person_has_one_twin(world):
    store, a, b, admin, person, twin1, own = world
    other = store.create_twin({"name": "Other", "language": "en"}, by=admin)
    with pytest.raises(ValidationError, match=f"already the person of twin {twin1.id}"):
        store.update_twin(other.id, {"person_user_id": person.id}, other.version, by=admin)
    with pytest.raises(ValidationError, match="already the person"):
        store.create_twin({"name": "Mine too", "language": "en"}, by=person)


def test_a_carers_export_holds_only_conversations_about_twins_they_see(world, tmp_path):
    store, a, b, admin, person, twin1, own = world
    # An old store may hold a twin that was attached wrongly (before this fix): even then the
    # carer of that twin gets none of the person's chats about twin 1.
    decoy = store.create_twin({"name": "Decoy", "language": "en"}, by=b)
    with store._tx(write=True) as s:
        from liquidcare.feedback.models import TwinRow
        s.get(TwinRow, decoy.id).person_user_id = person.id
    b_chat = store.start_conversation(by=b, twin_id=decoy.id)
    store.add_message(b_chat.id, "user", "decoy chat", by=b)
    store.export_person(decoy.id, tmp_path / "b", by=b)
    text = (tmp_path / "b" / f"person-{decoy.id}.json").read_text()
    assert SECRET not in text and "decoy chat" in text
    # an admin's export shows all of it, and twin 1's log records that read
    store.export_person(decoy.id, tmp_path / "admin", by=admin)
    assert SECRET in (tmp_path / "admin" / f"person-{decoy.id}.json").read_text()
    reads = [(e.actor_id, e.action, e.kind, e.object_id) for e in store.audit(twin1.id)]
    assert (admin.id, "read", "conversation", own.id) in reads
    assert all(actor != b.id for actor, *_ in reads)

    # erasing the decoy keeps twin 1's data and the person's account (it holds twin 1's chat)
    erasure = store.forget_person(decoy.id, by=admin)
    assert erasure.kinds["user_accounts"] == 0 and erasure.kinds["user_accounts_kept"] == 1
    assert store.get_user(person.id).name == "Carmen"
    assert [m.content for m in store.get_conversation(own.id, by=person).messages] == [SECRET]
    assert store.get_twin(twin1.id, by=a).name == "Carmen"
    with pytest.raises(NotFoundError):
        store.get_conversation(b_chat.id, by=b)


def test_the_store_file_and_its_wal_and_shm_are_private(tmp_path):
    path = tmp_path / "care.db"
    old = os.umask(0o022)
    try:
        with open_store(path) as store:
            user, _ = store.add_user("Ana", role="carer")
            with store.engine.connect() as conn:  # hold a connection: -wal and -shm exist now
                conn.exec_driver_sql("SELECT count(*) FROM users").all()
                files = [path, tmp_path / "care.db-wal", tmp_path / "care.db-shm"]
                for f in files:
                    assert f.exists(), f
                    assert stat.S_IMODE(f.stat().st_mode) == 0o600, (f, oct(f.stat().st_mode))
    finally:
        os.umask(old)

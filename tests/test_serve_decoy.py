"""Issue 17, the decoy-twin sequence through the real app: a carer cannot reach a person's
private conversation by creating a twin that names the person."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from serve_helpers import tiny_engine

from liquidcare.feedback import open_store
from liquidcare.serve import create_app

SECRET = "my door code is 4321"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def site(store_url):
    store = open_store(store_url)
    a, a_key = store.add_user("Carer A", role="carer")
    b, b_key = store.add_user("Carer B", role="carer")
    admin, admin_key = store.add_user("Root", role="admin")
    person, person_key = store.add_user("Carmen", role="person")
    twin1 = store.create_twin({"name": "Carmen", "language": "en"}, by=a)
    store.update_twin(twin1.id, {"person_user_id": person.id}, twin1.version, by=admin)
    with TestClient(create_app(tiny_engine(), store, default_max_tokens=2)) as client:
        r = client.post("/v1/chat/completions", headers=auth(person_key), json={
            "messages": [{"role": "user", "content": SECRET}], "user": str(twin1.id)})
        assert r.status_code == 200, r.text
        yield client, store, {"a": a, "b": b, "admin": admin, "person": person, "twin1": twin1,
                              "b_key": b_key, "admin_key": admin_key}
    store.close()


def test_the_decoy_twin_sequence_is_refused(site):
    client, store, w = site
    person, twin1, b_key = w["person"], w["twin1"], w["b_key"]
    # 1. a twin naming the person: refused, and in the same words as for an id that is nobody
    r = client.post("/v1/twins", headers=auth(b_key), json={
        "name": "Decoy", "language": "en", "person_user_id": person.id})
    assert r.status_code in (403, 404), r.text
    nobody = client.post("/v1/twins", headers=auth(b_key), json={
        "name": "Decoy", "language": "en", "person_user_id": 999_999})
    carer = client.post("/v1/twins", headers=auth(b_key), json={
        "name": "Decoy", "language": "en", "person_user_id": w["a"].id})
    assert nobody.status_code == carer.status_code == r.status_code
    assert nobody.json()["error"]["message"] == carer.json()["error"]["message"] \
        == r.json()["error"]["message"]
    # 2. no twin of B's holds the person: B's exports of every id are refused or empty of her
    decoy = client.post("/v1/twins", headers=auth(b_key), json={"name": "Decoy",
                                                                "language": "en"})
    assert decoy.status_code == 201, decoy.text
    linked = {u.id for u in store.linked_users(decoy.json()["id"], by=None)}
    assert person.id not in linked
    for person_id in (twin1.id, decoy.json()["id"]):
        r = client.get(f"/v1/admin/persons/{person_id}/export", headers=auth(b_key))
        assert r.status_code in (200, 403, 404)
        assert SECRET not in r.text
    assert client.get(f"/v1/admin/persons/{twin1.id}/export",
                      headers=auth(b_key)).status_code in (403, 404)
    # 3. erasing the decoy leaves the person's account and her conversation about twin 1
    r = client.post(f"/v1/admin/persons/{decoy.json()['id']}/forget",
                    headers=auth(w["admin_key"]))
    assert r.status_code == 200, r.text
    assert store.get_user(person.id).name == "Carmen"
    convs = store.list_conversations(by=person)
    assert [m.content for m in store.get_conversation(convs[0].id, by=person).messages][0] \
        == SECRET

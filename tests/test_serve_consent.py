"""Consent over HTTP (issue 18), through the real app on both store engines: who may read and
record it, strict bodies, and withdrawal taking the person's replies out of the next export."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from serve_helpers import tiny_engine

from liquidcare.cli import main
from liquidcare.feedback import open_store
from liquidcare.feedback.consent import SCOPES
from liquidcare.serve import create_app
from liquidcare.serve.routes import consent as consent_routes
from liquidcare.serve.schemas import MAX_ID


@dataclass
class World:
    store: Any
    person: Any
    person_key: str
    carer: Any
    carer_key: str
    stranger_key: str
    admin: Any
    admin_key: str
    twin: Any


@pytest.fixture
def world(store_url):
    store = open_store(store_url)
    person, person_key = store.add_user("Carmen Ruiz", role="person")
    carer, carer_key = store.add_user("Lucía", role="carer")
    _, stranger_key = store.add_user("Olga", role="carer")
    admin, admin_key = store.add_user("Root", role="admin")
    twin = store.create_twin({"name": "Carmen Ruiz", "language": "es", "age": 84}, by=person)
    store.link(twin.id, carer.id, by=None)
    yield World(store, person, person_key, carer, carer_key, stranger_key, admin, admin_key,
                twin)
    store.close()


@pytest.fixture
def client(world):
    engine = tiny_engine()
    with TestClient(create_app(engine, world.store, default_max_tokens=3)) as c:
        yield c
    engine.close()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def subjects(client, key: str) -> dict[tuple[str, int], dict]:
    r = client.get("/v1/consent", headers=auth(key))
    assert r.status_code == 200, r.text
    assert r.json()["scopes"] == list(SCOPES)
    return {(s["kind"], s["id"]): s for s in r.json()["data"]}


def test_the_route_scopes_are_the_stores():
    assert get_args(consent_routes.Scope) == SCOPES


def test_a_user_grants_reads_and_withdraws_their_own_consent(world, client):
    r = client.post("/v1/consent", headers=auth(world.carer_key),
                    json={"scope": "research_retraining", "note": "asked in person"})
    assert r.status_code == 200, r.text
    given = r.json()
    assert (given["object"], given["user_id"], given["twin_id"]) == ("consent", world.carer.id,
                                                                     None)
    assert given["active"] and given["granted_by"] == world.carer.id
    assert given["granted_by_role"] == "carer" and given["note"] == "asked in person"
    # granting again keeps the one active record
    again = client.post("/v1/consent", headers=auth(world.carer_key),
                        json={"scope": "research_retraining", "user_id": world.carer.id})
    assert again.json()["id"] == given["id"]

    seen = subjects(client, world.carer_key)
    assert list(seen) == [("user", world.carer.id), ("twin", world.twin.id)]
    mine = seen[("user", world.carer.id)]
    assert mine["may_record"] is True
    assert mine["scopes"]["research_retraining"]["id"] == given["id"]
    assert mine["scopes"]["service"] is None and mine["scopes"]["federated"] is None
    # the twin the carer looks after: readable, not theirs to record
    assert seen[("twin", world.twin.id)]["may_record"] is False

    r = client.post("/v1/consent/withdraw", headers=auth(world.carer_key),
                    json={"scope": "research_retraining"})
    assert r.status_code == 200, r.text
    assert r.json() == {"object": "consent_withdrawal", "scope": "research_retraining",
                        "twin_id": None, "user_id": world.carer.id, "withdrawn": 1}
    mine = subjects(client, world.carer_key)[("user", world.carer.id)]
    assert mine["scopes"]["research_retraining"] is None
    [record] = mine["history"]  # kept after withdrawal, as proof
    assert record["active"] is False and record["withdrawn_by"] == world.carer.id
    r = client.post("/v1/consent/withdraw", headers=auth(world.carer_key),
                    json={"scope": "research_retraining"})
    assert r.json()["withdrawn"] == 0


def test_a_carer_cannot_grant_or_withdraw_for_the_person(world, client):
    world.store.grant_consent("federated", twin_id=world.twin.id, by=world.person)
    for path in ("/v1/consent", "/v1/consent/withdraw"):
        r = client.post(path, headers=auth(world.carer_key),
                        json={"scope": "federated", "twin_id": world.twin.id})
        assert r.status_code == 403, r.text
        assert r.json()["error"]["type"] == "permission_error"
        assert "person themself or an admin" in r.json()["error"]["message"]
    r = client.post("/v1/consent", headers=auth(world.carer_key),
                    json={"scope": "research_retraining", "twin_id": world.twin.id})
    assert r.status_code == 403
    # ... nor for another user
    r = client.post("/v1/consent", headers=auth(world.carer_key),
                    json={"scope": "service", "user_id": world.admin.id})
    assert r.status_code == 403, r.text
    # nothing changed: the person's federated consent stands, no research consent appeared
    history = world.store.consents(twin_id=world.twin.id, by=None)
    assert [(c.scope, c.active) for c in history] == [("federated", True)]
    assert world.store.consents(user_id=world.admin.id, by=None) == []
    # the carer may read it
    r = client.get(f"/v1/consent/twins/{world.twin.id}", headers=auth(world.carer_key))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["kind"], body["id"], body["may_record"]) == ("twin", world.twin.id, False)
    assert body["scopes"]["federated"]["granted_by_role"] == "person"


def test_twins_the_caller_may_not_see_are_404_like_missing_ones(world, client):
    answers = []
    for twin_id in (world.twin.id, 987654):
        for method, path, body in (
                ("GET", f"/v1/consent/twins/{twin_id}", None),
                ("POST", "/v1/consent", {"scope": "service", "twin_id": twin_id}),
                ("POST", "/v1/consent/withdraw", {"scope": "service", "twin_id": twin_id})):
            r = client.request(method, path, headers=auth(world.stranger_key), json=body)
            assert r.status_code == 404, (path, r.text)
            answers.append(r.json()["error"]["message"].replace(str(twin_id), "N"))
    assert set(answers) == {"no twin N"}  # the same words whether the twin exists or not
    # and the overview of a carer linked to nobody is their own consent only
    assert list(subjects(client, world.stranger_key)) == [
        ("user", world.store.authenticate(world.stranger_key).id)]
    # an admin sees every twin, a missing one is still 404
    assert ("twin", world.twin.id) in subjects(client, world.admin_key)
    r = client.get("/v1/consent/twins/987654", headers=auth(world.admin_key))
    assert r.status_code == 404


def test_the_person_and_an_admin_record_the_persons_consent(world, client):
    r = client.post("/v1/consent", headers=auth(world.person_key),
                    json={"scope": "research_retraining", "twin_id": world.twin.id})
    assert r.status_code == 200, r.text
    assert (r.json()["twin_id"], r.json()["granted_by_role"]) == (world.twin.id, "person")
    r = client.post("/v1/consent", headers=auth(world.admin_key), json={
        "scope": "federated", "twin_id": world.twin.id, "note": "signed form, 2026-11-30"})
    assert r.status_code == 200, r.text
    assert (r.json()["granted_by_role"], r.json()["note"]) == ("admin",
                                                               "signed form, 2026-11-30")
    seen = subjects(client, world.person_key)
    own_twin = seen[("twin", world.twin.id)]
    assert own_twin["may_record"] is True
    assert {s for s, c in own_twin["scopes"].items() if c} == {"research_retraining",
                                                               "federated"}
    r = client.post("/v1/consent/withdraw", headers=auth(world.person_key),
                    json={"scope": "federated", "twin_id": world.twin.id})
    assert r.json()["withdrawn"] == 1


@pytest.mark.parametrize("body, field", [
    ({"scope": "marketing"}, "scope"),
    ({}, "scope"),
    ({"scope": "service", "twin_id": "1"}, "twin_id"),           # strict: no strings for ids
    ({"scope": "service", "twin_id": True}, "twin_id"),
    ({"scope": "service", "twin_id": 0}, "twin_id"),
    ({"scope": "service", "user_id": MAX_ID + 1}, "user_id"),   # beyond the narrowest id
    ({"scope": "service", "twin_id": 1, "user_id": 1}, "not both"),
    ({"scope": "service", "subject": 1}, "subject: unknown field"),
    ({"scope": "service", "note": "x" * 2001}, "note"),
])
def test_malformed_bodies_are_422_naming_the_field(world, client, body, field):
    for path in ("/v1/consent", "/v1/consent/withdraw"):
        if path.endswith("withdraw") and "note" in body:
            continue
        r = client.post(path, headers=auth(world.carer_key), json=body)
        assert r.status_code == 422, r.text
        assert field in r.json()["error"]["message"], r.text
    assert world.store.consents(user_id=world.carer.id, by=None) == []


def test_ids_in_the_path_are_bounded_and_a_key_is_needed(world, client):
    for bad in ("0", str(MAX_ID + 1), str(2**63), "abc", "+1", "²"):
        r = client.get(f"/v1/consent/twins/{bad}", headers=auth(world.admin_key))
        assert r.status_code == 422, r.text
    r = client.get("/v1/consent")
    assert r.status_code == 401
    r = client.post("/v1/consent", json={"scope": "service"},
                    headers=auth("lc-not-a-key"))
    assert r.status_code == 401


def _export(capsys, store_url: str, out) -> tuple[list[dict], str]:
    assert main(["store", "export", "--out", str(out), "--store", store_url]) == 0
    text = out.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()], capsys.readouterr().out


def test_withdrawing_consent_removes_the_persons_replies_from_the_next_export(
        world, client, store_url, tmp_path, capsys):
    # the carer's chat about Carmen, and one about no one, each rated through the API
    replies = {}
    for twin in (world.twin.id, None):
        body = {"messages": [{"role": "user", "content": "w4 w5 w6"}]}
        if twin is not None:
            body["user"] = str(twin)
        r = client.post("/v1/chat/completions", headers=auth(world.carer_key), json=body)
        assert r.status_code == 200, r.text
        replies[twin] = r.json()["message_id"]
        r = client.post("/v1/feedback", headers=auth(world.carer_key),
                        json={"message_id": replies[twin], "value": 1})
        assert r.status_code == 200, r.text
    # consent recorded over HTTP: the carer's own, and Carmen's by Carmen herself
    assert client.post("/v1/consent", headers=auth(world.carer_key),
                       json={"scope": "research_retraining"}).status_code == 200
    assert client.post("/v1/consent", headers=auth(world.person_key), json={
        "scope": "research_retraining", "twin_id": world.twin.id}).status_code == 200
    rows, _ = _export(capsys, store_url, tmp_path / "before.jsonl")
    assert sorted(r["message_id"] for r in rows) == sorted(replies.values())

    # Carmen withdraws: her conversation leaves the next export, the carer's other one stays
    r = client.post("/v1/consent/withdraw", headers=auth(world.person_key),
                    json={"scope": "research_retraining", "twin_id": world.twin.id})
    assert r.json()["withdrawn"] == 1
    rows, printed = _export(capsys, store_url, tmp_path / "after.jsonl")
    assert [r["message_id"] for r in rows] == [replies[None]]
    assert all(r["twin_id"] is None for r in rows)
    assert "left out 1 rated reply without" in printed
    # the conversation itself stays in the store: the service still shows it
    conv = world.store.get_conversation(rows[0]["conversation_id"], by=world.carer)
    assert conv.twin_id is None
    assert len(world.store.list_conversations(by=world.carer)) == 2

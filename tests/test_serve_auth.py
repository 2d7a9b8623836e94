"""Authorisation matrix: every endpoint × {no key, bad key, wrong user, right user}.

"Wrong user" is an authenticated carer who is not linked to the twin (or, for admin endpoints, a
carer who is not an admin); "right user" is the twin's carer (or the admin). A record the wrong
user may not see answers 404, the same as one that does not exist (a 403 would tell a stranger
which ids exist); an endpoint their role may not use answers 403.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from serve_helpers import tiny_engine
from test_serve_api import auth, make_world

from liquidcare.serve.app import create_app

CHAT = {"messages": [{"role": "user", "content": "w4"}], "max_tokens": 2}


# name, method, path, body (#x: the id x as a number, {x}: as text), who is right ("carer" |
# "admin" | "any"), what the wrong user (a carer neither linked to the twin nor an admin) gets
ENDPOINTS = [
    ("models", "GET", "/v1/models", None, "any", None),
    ("chat", "POST", "/v1/chat/completions", {**CHAT, "user": "{twin}"}, "carer", 404),
    ("chat-continue", "POST", "/v1/chat/completions", {**CHAT, "conversation_id": "#conv"},
     "carer", 404),
    ("feedback", "POST", "/v1/feedback", {"message_id": "#msg", "value": 1}, "carer", 404),
    ("conversations", "GET", "/v1/conversations", None, "carer", "hidden:conv"),
    ("conversation", "GET", "/v1/conversations/{conv}", None, "carer", 404),
    ("twins", "GET", "/v1/twins", None, "carer", "hidden:twin"),
    ("twin-create", "POST", "/v1/twins", {"name": "Pepe", "language": "es"}, "any", None),
    ("twin", "GET", "/v1/twins/{twin}", None, "carer", 404),
    ("twin-patch", "PATCH", "/v1/twins/{twin}",
     {"expected_version": "#version", "changes": {"age": 85}}, "carer", 404),
    ("timeline", "GET", "/v1/twins/{twin}/timeline", None, "carer", 404),
    ("reload", "POST", "/v1/admin/reload", {"model": "{model}"}, "admin", 403),
    ("export", "GET", "/v1/admin/persons/{twin}/export", None, "admin", 404),
    ("audit", "GET", "/v1/admin/persons/{twin}/audit", None, "admin", 404),
    ("forget", "POST", "/v1/admin/persons/{twin}/forget", None, "admin", 404),
]


def _fill(value, ids):
    if isinstance(value, str) and value.startswith("#"):  # the id itself, a number
        return ids[value[1:]]
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("name,method,path,body,right,wrong_status", ENDPOINTS,
                         ids=[e[0] for e in ENDPOINTS])
def test_authorisation(store_url, tmp_path, name, method, path, body, right, wrong_status):
    from liquidcare.feedback import open_store

    world = make_world(open_store(store_url))
    engine = tiny_engine(loader=lambda name: (engine.loaded.model, engine.loaded.tokenizer),
                         versioner=lambda name: "same")
    client = TestClient(create_app(engine, world.store, default_max_tokens=2))
    try:
        first = client.post("/v1/chat/completions", json={**CHAT, "user": str(world.twin.id)},
                            headers=auth(world.carer_key)).json()
        ids = {"twin": world.twin.id, "conv": first["conversation_id"],
               "msg": first["message_id"], "version": world.twin.version, "model": "tiny"}
        url, payload = path.format(**ids), _fill(body, ids)

        def call(headers):
            return client.request(method, url, json=payload, headers=headers)

        # no key, a malformed header, an unknown key: 401 with the Bearer challenge
        for headers in ({}, {"Authorization": "Basic abc"}, auth("lc-not-a-real-key")):
            r = call(headers)
            assert r.status_code == 401, (headers, r.text)
            assert r.headers["WWW-Authenticate"] == "Bearer"
            assert r.json()["error"]["type"] == "authentication_error"

        wrong_key = world.other_key  # a carer who is neither linked nor an admin
        r = call(auth(wrong_key))
        hidden = str(wrong_status).startswith("hidden:")
        if hidden:  # a list: the other user's things are simply not in it
            secret = ids[wrong_status.split(":")[1]]
            assert r.status_code == 200
            assert secret not in [x["id"] for x in r.json()["data"]]
        elif wrong_status is not None:
            assert r.status_code == wrong_status, r.text
            assert r.json()["error"]["message"]
            if wrong_status == 404 and "{twin}" in path:
                # the same answer as for an id that does not exist
                missing = client.request(method, path.format(**{**ids, "twin": 999999}),
                                         json=payload, headers=auth(wrong_key))
                assert missing.status_code == 404
                assert missing.json()["error"]["type"] == r.json()["error"]["type"]
        right_key = world.admin_key if right == "admin" else world.carer_key
        r = call(auth(right_key))
        assert 200 <= r.status_code < 300, r.text
        if hidden:
            assert secret in [x["id"] for x in r.json()["data"]]
    finally:
        engine.close()


# Routes whose authorisation matrix lives beside their own feature tests (same four callers:
# no key, bad key, wrong user, right user); everything else must be in ENDPOINTS above.
ELSEWHERE = {
    ("GET", "/v1/consent"): "test_serve_consent.py",
    ("POST", "/v1/consent"): "test_serve_consent.py",
    ("POST", "/v1/consent/withdraw"): "test_serve_consent.py",
    ("GET", "/v1/consent/twins/{twin_id}"): "test_serve_consent.py",
    ("POST", "/v1/audio/transcriptions"): "test_media_api.py",
    ("POST", "/v1/audio/speech"): "test_media_api.py",
}


def _template(path: str) -> str:
    """/v1/twins/{twin} and /v1/twins/{twin_id} are the same route."""
    import re

    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_route_of_the_app_is_in_the_matrix():
    """Generated from the route table: a new /v1 route without an authorisation test fails."""
    app = create_app(tiny_engine(), store=None, default_max_tokens=2)
    paths = app.openapi()["paths"]  # every route the app serves and documents
    routes = {(m.upper(), _template(p)) for p, ops in paths.items() if p.startswith("/v1")
              for m in ops}
    covered = {(e[1], _template(e[2])) for e in ENDPOINTS} | {
        (m, _template(p)) for m, p in ELSEWHERE}
    assert routes - covered == set(), "routes with no authorisation test"
    assert covered - routes == set(), "the matrix names routes the app does not have"

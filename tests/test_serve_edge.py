"""The API under hostile input: ids and numbers checked at the edge, strict types, one clean 500
for our bugs (with a request id, on a connection that stays usable), rate limits, 404 for what a
caller may not know exists, and an OpenAPI schema that lists what each endpoint takes."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from fastapi.testclient import TestClient
from serve_helpers import LiveServer, tiny_engine
from test_serve_api import auth, make_world

from liquidcare.serve.app import create_app
from liquidcare.serve.ratelimit import RateLimiter

BIG = 2**63
CHAT = {"messages": [{"role": "user", "content": "w4"}], "max_tokens": 2}


@pytest.fixture
def world(tmp_path):
    from liquidcare.feedback import open_store

    return make_world(open_store(str(tmp_path / "care.db")))


@pytest.fixture
def engine():
    e = tiny_engine()
    yield e
    e.close()


@pytest.fixture
def client(world, engine):
    with TestClient(create_app(engine, world.store, default_max_tokens=2)) as c:
        yield c


# --- ids and numbers -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    f"/v1/twins/{BIG}", f"/v1/twins/{BIG}/timeline", f"/v1/conversations/{BIG}",
    f"/v1/admin/persons/{BIG}/export", f"/v1/admin/persons/{BIG}/audit",
    "/v1/twins/²", "/v1/conversations/%C2%B2", "/v1/twins/+1", "/v1/twins/1_0",
    "/v1/twins/%201", "/v1/twins/0", "/v1/twins/-1", "/v1/twins/true",
])
def test_ids_in_paths_that_no_record_can_have_are_422(client, world, path):
    r = client.get(path, headers=auth(world.carer_key))
    assert r.status_code == 422, (path, r.text)
    assert r.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("extra", [
    {"user": str(BIG)}, {"user": "²"}, {"user": "1²"}, {"user": " 1"}, {"user": "9999999999"},
    {"conversation_id": BIG}, {"conversation_id": str(BIG)}, {"conversation_id": "²"},
    {"conversation_id": 0}, {"conversation_id": True},
    {"seed": 2**64}, {"seed": -(2**63) - 1},
    {"stream": "yes"}, {"stream": 1}, {"max_tokens": "2"}, {"max_tokens": 2.0},
    {"temperature": "0.5"}, {"n": True}, {"frequency_penalty": 2.5},
    {"presence_penalty": -3}, {"stream_options": {"include_usage": "true"}},
])
def test_out_of_range_or_loosely_typed_chat_fields_are_422(client, world, extra):
    r = client.post("/v1/chat/completions", json={**CHAT, **extra}, headers=auth(world.carer_key))
    assert r.status_code == 422, (extra, r.text)
    assert r.json()["error"]["param"]


@pytest.mark.parametrize("header", [str(BIG), "²".encode(), "1 ", "abc"])
def test_conversation_header_is_digits_only(client, world, header):
    r = client.post("/v1/chat/completions", json=CHAT,
                    headers={**auth(world.carer_key), "X-Conversation-Id": header})
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("body", [
    {"message_id": BIG, "value": 1}, {"message_id": "1", "value": 1},
    {"message_id": 1, "value": True}, {"message_id": 1, "value": "1"},
])
def test_feedback_fields_are_strict(client, world, body):
    assert client.post("/v1/feedback", json=body,
                       headers=auth(world.carer_key)).status_code == 422


def test_twin_fields_are_strict_and_bounded(client, world):
    h = auth(world.carer_key)
    for body in ({"name": "X", "language": "en", "age": "80"},
                 {"name": "X", "language": "en", "person_user_id": BIG},
                 {"name": "X", "language": "en", "age": True},
                 {"name": "X", "language": "en", "medications": [{"name": "a",
                                                                   "schedule": ["25:00"]}]}):
        assert client.post("/v1/twins", json=body, headers=h).status_code == 422, body
    r = client.patch(f"/v1/twins/{world.twin.id}", json={"expected_version": BIG,
                                                          "changes": {"age": 1}}, headers=h)
    assert r.status_code == 422


def test_a_large_seed_with_sampling_is_answered(client, world):
    r = client.post("/v1/chat/completions", json={**CHAT, "seed": 2**63 - 1, "temperature": 1.0},
                    headers=auth(world.carer_key))
    assert r.status_code == 200, r.text


def test_openai_penalties_are_accepted_and_reach_the_engine_when_it_takes_them(
        client, world, engine, monkeypatch):
    import dataclasses

    from liquidcare.serve.engine import GenerationParams

    seen = []
    submit = engine.submit

    def spy(messages, params=None, **kwargs):
        seen.append((params, kwargs))
        kwargs = {k: v for k, v in kwargs.items() if k in ("on_complete", "loop")}
        return submit(messages, params, **kwargs)

    monkeypatch.setattr(engine, "submit", spy)
    r = client.post("/v1/chat/completions",
                    json={**CHAT, "frequency_penalty": 0.5, "presence_penalty": -0.25},
                    headers=auth(world.carer_key))
    assert r.status_code == 200, r.text
    params, kwargs = seen[0]
    names = {f.name for f in dataclasses.fields(GenerationParams)}
    if "frequency_penalty" in names:  # the engine takes them as settings
        assert (params.frequency_penalty, params.presence_penalty) == (0.5, -0.25)
    else:  # spy takes **kwargs, so they come as keyword arguments
        assert (kwargs["frequency_penalty"], kwargs["presence_penalty"]) == (0.5, -0.25)


# --- one clean 500 -------------------------------------------------------------------------------

def test_a_bug_is_one_openai_shaped_500_with_a_request_id_and_one_log_line(
        client, world, monkeypatch, caplog):
    def broken(by):
        raise RuntimeError("secret internal detail\nTraceback line two")

    monkeypatch.setattr(world.store, "list_twins", broken)
    with caplog.at_level(logging.INFO, logger="liquidcare.serve.errors"):
        r = client.get("/v1/twins", headers=auth(world.carer_key))
    assert r.status_code == 500
    rid = r.headers["X-Request-Id"]
    error = r.json()["error"]
    assert error["type"] == "server_error" and rid in error["message"]
    assert "secret" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    lines = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(lines) == 1 and rid in lines[0].getMessage()
    assert "\n" not in lines[0].getMessage() and lines[0].exc_info is None
    # a client's own plain request id is kept (so its logs and ours line up)
    r = client.get("/v1/twins", headers={**auth(world.carer_key), "X-Request-Id": "abc-123"})
    assert r.headers["X-Request-Id"] == "abc-123"
    r = client.get("/healthz", headers={"X-Request-Id": "bad id\x7f"})
    assert r.headers["X-Request-Id"] != "bad id\x7f"


def _http(sock: socket.socket, method: str, path: str, key: str) -> tuple[int, bytes]:
    sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                 "Connection: keep-alive\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), body


def test_the_kept_alive_connection_survives_a_500(world, engine, monkeypatch):
    monkeypatch.setattr(world.store, "list_twins", lambda by: 1 / 0)
    server = LiveServer(create_app(engine, world.store)).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            status, body = _http(sock, "GET", "/v1/twins", world.carer_key)
            assert status == 500 and json.loads(body)["error"]["type"] == "server_error"
            status, body = _http(sock, "GET", "/v1/models", world.carer_key)  # same socket
            assert status == 200 and json.loads(body)["data"][0]["id"] == "tiny-llama"
    finally:
        server.stop()


# --- rate limits ---------------------------------------------------------------------------------

def test_each_key_has_its_own_rate_limit(world, engine):
    client = TestClient(create_app(engine, world.store, rate_limit=60, rate_burst=3))
    h = auth(world.carer_key)
    assert [client.get("/v1/twins", headers=h).status_code for _ in range(3)] == [200] * 3
    r = client.get("/v1/twins", headers=h)
    assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error"
    assert 1 <= int(r.headers["Retry-After"]) <= 2
    assert client.get("/v1/twins", headers=auth(world.other_key)).status_code == 200
    # guessing keys is limited per address
    codes = [client.get("/v1/twins", headers=auth(f"lc-guess-{i}")).status_code
             for i in range(5)]
    assert codes[:3] == [401] * 3 and codes[-1] == 429


def test_token_bucket_refills_with_time():
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("k") == pytest.approx(1.0)
    now[0] += 1.0
    assert limiter.take("k") == 0.0
    limiter = RateLimiter(per_minute=60, burst=1, max_keys=2, clock=lambda: now[0])
    for key in "abc":
        limiter.take(key)
    assert len(limiter._buckets) == 2  # bounded


# --- the schema ----------------------------------------------------------------------------------

def test_the_openapi_schema_lists_fields_and_error_statuses(client):
    schema = client.get("/openapi.json").json()
    create = schema["paths"]["/v1/twins"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    twin = schema["components"]["schemas"][ref.split("/")[-1]]
    assert {"name", "language", "age", "medications", "conditions"} <= set(twin["properties"])
    assert set(twin["required"]) == {"name", "language"}
    assert twin["additionalProperties"] is False
    chat = schema["paths"]["/v1/chat/completions"]["post"]
    ref = chat["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.split("/")[-1]]
    assert {"frequency_penalty", "presence_penalty", "seed"} <= set(body["properties"])
    params = {p["name"] for p in chat["parameters"]}
    assert {"Idempotency-Key", "x-conversation-id"} <= params
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            if path.startswith("/v1/"):
                assert {"401", "404", "422", "429"} <= set(op["responses"]), (method, path)


def test_a_refusal_on_a_record_the_caller_can_see_stays_403(client, world):
    person, person_key = world.store.add_user("Pilar", role="person")
    twin = world.store.create_twin({"name": "Pilar", "language": "es",
                                    "person_user_id": person.id}, by=world.admin)
    assert client.get(f"/v1/twins/{twin.id}", headers=auth(person_key)).status_code == 200
    r = client.get(f"/v1/twins/{twin.id}/timeline", headers=auth(person_key))
    assert r.status_code == 403  # their own twin: they know it exists; the timeline is not theirs
    r = client.get(f"/v1/twins/{twin.id}/timeline", headers=auth(world.other_key))
    assert r.status_code == 404 and r.json()["error"]["message"] == f"no twin {twin.id}"

"""A refused request writes nothing; a retried one (same Idempotency-Key) stores nothing twice."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from serve_helpers import tiny_engine
from test_serve_api import FakeGuard, auth, chat, make_world, sse_chunks

from liquidcare.serve.app import create_app
from liquidcare.serve.idempotency import (
    IdempotencyCache,
    IdempotencyInFlightError,
    IdempotencyMismatchError,
)


@pytest.fixture
def world(store_url):
    from liquidcare.feedback import open_store

    return make_world(open_store(store_url))


def _everything(world) -> tuple:
    """All that a chat request could have written, as seen by the operator."""
    store = world.store
    convs = [c.id for u in (world.carer, world.other, world.admin)
             for c in store.list_conversations(by=u)]
    return (convs, [store.verdicts(c) for c in convs],
            [e.id for e in store.timeline(world.twin.id, by=None)])


def _drain(engine) -> None:
    """Wait until the engine has answered what was queued."""
    for _ in range(300):
        if engine.queued == 0 and not engine.busy:
            return
        threading.Event().wait(0.1)
    raise AssertionError("the engine did not drain")


def test_a_full_queue_and_a_too_long_prompt_write_nothing(world):
    release = threading.Event()
    engine = tiny_engine(max_queue=1, retry_after=3)
    client = TestClient(create_app(engine, world.store, FakeGuard(), default_max_tokens=2))
    try:
        before = _everything(world)
        # a prompt too long for the model (128 tokens): 400, nothing stored
        r = chat(client, world.carer_key, "She fell " + " ".join(["w7"] * 300),
                 user=str(world.twin.id))
        assert r.status_code == 400
        assert _everything(world) == before
        held = engine.submit([{"role": "user", "content": "w3"}],
                             on_complete=lambda job: release.wait(30))
        next(held.events(timeout=30))
        engine.submit([{"role": "user", "content": "w3"}])  # fills the queue
        for stream in (False, True, False):  # a client retrying as Retry-After asks
            r = chat(client, world.carer_key, "She fell in the bathroom",
                     user=str(world.twin.id), stream=stream)
            assert r.status_code == 503 and r.headers["Retry-After"] == "3"
        assert _everything(world) == before  # no conversation, verdict or fall recorded
        # 4xx of other kinds: nothing either
        assert chat(client, world.other_key, "She fell", user=str(world.twin.id)
                    ).status_code == 404
        assert chat(client, world.carer_key, "She fell", user=str(world.twin.id),
                    temprature=1).status_code == 422
        assert _everything(world) == before
        release.set()
        _drain(engine)
        r = chat(client, world.carer_key, "She fell in the bathroom", user=str(world.twin.id))
        assert r.status_code == 200
        convs, verdicts, events = _everything(world)
        assert len(convs) == 1 and len(events) == 1  # one fall, once
    finally:
        release.set()
        engine.close()


def test_the_same_idempotency_key_returns_the_first_result_and_stores_once(world):
    engine = tiny_engine()
    client = TestClient(create_app(engine, world.store, default_max_tokens=3))
    try:
        h = {**auth(world.carer_key), "Idempotency-Key": "retry-1"}
        body = {"messages": [{"role": "user", "content": "She fell"}],
                "user": str(world.twin.id)}
        first = client.post("/v1/chat/completions", json=body, headers=h)
        again = client.post("/v1/chat/completions", json=body, headers=h)
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
        # streamed retry of the same request: the same reply, as a stream
        streamed = client.post("/v1/chat/completions", json={**body, "stream": True},
                               headers={**h, "Idempotency-Key": "retry-2"})
        replay = client.post("/v1/chat/completions", json={**body, "stream": True},
                             headers={**h, "Idempotency-Key": "retry-2"})
        text = lambda r: "".join(c["choices"][0]["delta"].get("content", "")  # noqa: E731
                                 for c in sse_chunks(r.text)[:-1] if c["choices"])
        assert text(replay) == text(streamed) and sse_chunks(replay.text)[-1] == "[DONE]"
        assert sse_chunks(replay.text)[-2]["message_id"] == sse_chunks(
            streamed.text)[-2]["message_id"]
        convs = world.store.list_conversations(by=world.carer)
        assert len(convs) == 2  # one per key, not one per request
        assert len(world.store.timeline(world.twin.id, by=None)) == 2
        # the same key for another request is a client bug
        other = client.post("/v1/chat/completions",
                            json={**body, "messages": [{"role": "user", "content": "w5"}]},
                            headers=h)
        assert other.status_code == 422 and "Idempotency-Key" in other.json()["error"]["message"]
        # keys are per user: another carer's key of the same name is theirs
        mine = client.post("/v1/chat/completions", json={"messages": body["messages"]},
                           headers={**auth(world.other_key), "Idempotency-Key": "retry-1"})
        assert mine.status_code == 200 and mine.json()["id"] != first.json()["id"]
        # a twin created twice with one key is one twin
        th = {**auth(world.carer_key), "Idempotency-Key": "twin-1"}
        t1 = client.post("/v1/twins", json={"name": "Luis", "language": "es"}, headers=th)
        t2 = client.post("/v1/twins", json={"name": "Luis", "language": "es"}, headers=th)
        assert t1.status_code == 201 and t2.json()["id"] == t1.json()["id"]
        assert [t.name for t in world.store.list_twins(by=world.carer)].count("Luis") == 1
        bad = client.post("/v1/twins", json={"name": "Luis", "language": "es"},
                          headers={**th, "Idempotency-Key": "bad key with spaces"})
        assert bad.status_code == 422
    finally:
        engine.close()


def test_a_failed_request_keeps_no_result_so_its_retry_runs(world):
    engine = tiny_engine(max_queue=1)
    release = threading.Event()
    client = TestClient(create_app(engine, world.store, default_max_tokens=2))
    try:
        held = engine.submit([{"role": "user", "content": "w3"}],
                             on_complete=lambda job: release.wait(30))
        next(held.events(timeout=30))
        engine.submit([{"role": "user", "content": "w3"}])
        h = {**auth(world.carer_key), "Idempotency-Key": "k"}
        assert chat(client, world.carer_key).status_code == 503
        r = client.post("/v1/chat/completions", headers=h,
                        json={"messages": [{"role": "user", "content": "w4"}]})
        assert r.status_code == 503
        release.set()
        _drain(engine)
        r = client.post("/v1/chat/completions", headers=h,
                        json={"messages": [{"role": "user", "content": "w4"}]})
        assert r.status_code == 200 and "Idempotent-Replayed" not in r.headers
        assert len(world.store.list_conversations(by=world.carer)) == 1
    finally:
        release.set()
        engine.close()


def test_idempotency_cache_is_bounded_expires_and_refuses_in_flight_repeats():
    now = [0.0]
    cache = IdempotencyCache(max_entries=2, ttl_s=10, clock=lambda: now[0])
    assert cache.begin(1, "a", "p") is None
    with pytest.raises(IdempotencyInFlightError):
        cache.begin(1, "a", "p")
    with pytest.raises(IdempotencyMismatchError):
        cache.begin(1, "a", "other body")
    cache.finish(1, "a", {"r": 1})
    assert cache.begin(1, "a", "p") == {"r": 1}
    assert cache.begin(2, "a", "p") is None  # another user's key
    cache.abort(2, "a")
    assert cache.begin(2, "a", "p") is None
    cache.finish(2, "a", {"r": 2})
    cache.begin(3, "c", "p")
    assert len(cache) == 2  # the oldest finished entry went
    now[0] = 11.0
    assert cache.begin(1, "a", "p") is None and len(cache) == 1  # expired

"""Streamed replies: checked sentence by sentence with a guard (nothing unchecked is sent, the
first sentence goes out before the reply is finished), journalled as they are sent (a failure or
a crash mid-stream stores what the client saw, marked partial)."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from serve_helpers import scripted, tiny_engine
from test_serve_api import chat, make_world, sse_chunks

from liquidcare.serve.app import create_app
from liquidcare.serve.engine import Event
from liquidcare.serve.journal import PARTIAL_SUFFIX, PartialJournal
from liquidcare.serve.streaming import SentenceGate, client_events, sentence_ends


@dataclass
class V:
    allowed: bool
    category: str | None = None
    reason: str = ""
    safe_reply: str | None = None


class WordGuard:
    """Blocks a reply holding `bad`; records every text it was asked to check."""

    def __init__(self, bad: str = "pills", escalate: bool = False) -> None:
        self.bad, self.escalate, self.checked = bad, escalate, []

    def check_input(self, messages):
        return V(True)

    def check_output(self, messages, reply, vetted=(), shown=()):
        self.checked.append(reply)
        if self.bad in reply:
            return V(False, "medical", "dose", "Ask the doctor first.")
        if self.escalate:
            return V(True, "emergency", "red flag", "Call 999 now. " + reply)
        return V(True)


@pytest.fixture
def world(tmp_path):
    from liquidcare.feedback import open_store

    return make_world(open_store(str(tmp_path / "care.db")))


@pytest.fixture
def engine():
    e = tiny_engine()
    yield e
    e.close()


def _shown(r) -> str:
    """What an OpenAI-style client that honours our `replace` extension ends up showing."""
    text = ""
    for c in sse_chunks(r.text):
        if c == "[DONE]" or not c.get("choices"):
            continue
        content = c["choices"][0]["delta"].get("content") or ""
        text = content if c.get("replace") else text + content
    return text


def test_sentence_ends():
    assert sentence_ends("Hi there. How are you?\nFine") == [9, 22, 23]
    assert sentence_ends("3.5 mg twice. x", 0) == [13]  # no end inside a number


def test_the_gate_checks_each_sentence_prefix_and_stops_at_a_block():
    guard = WordGuard()
    gate = SentenceGate(guard, [], "fallback")
    assert gate.feed("Hello there. Take") == ["Hello there."]
    assert gate.feed("Hello there. Take two pills. Then") == ["Ask the doctor first."]
    assert gate.feed("Hello there. Take two pills. Then rest. ") == []  # blocked: no more
    assert gate.finish("Hello there. Take two pills. Then rest.") == "Ask the doctor first."
    assert guard.checked == ["Hello there.", "Hello there. Take two pills."]
    # replay on the finished reply gives the same result and the deciding verdict
    text, verdict = SentenceGate(WordGuard(), [], "fallback").replay(
        "Hello there. Take two pills. Then rest.")
    assert text == "Ask the doctor first." and verdict.allowed is False


def test_the_first_sentence_is_sent_before_the_model_finishes():
    produced = []

    async def events():
        for piece in ["Hello", " there.", " More", " words", " here."]:
            produced.append(piece)
            yield Event("delta", piece)
        yield Event("done")

    async def first_item():
        gen = client_events(events(), SentenceGate(WordGuard(), [], "fb"))
        item = await anext(gen)
        return item, list(produced)

    item, so_far = asyncio.run(first_item())
    assert item == ("delta", "Hello there.")
    assert so_far == ["Hello", " there.", " More"]  # the rest was not generated yet


def test_with_the_guard_a_stream_goes_out_sentence_by_sentence_all_checked(world, engine):
    guard = WordGuard(bad="never-said")
    pieces = ["Drink", " water.", " Rest", " well.", " Call", " me"]
    scripted(engine, pieces)
    client = TestClient(create_app(engine, world.store, guard))
    r = chat(client, world.carer_key, "w4", stream=True)
    contents = [c["choices"][0]["delta"]["content"] for c in sse_chunks(r.text)[1:-2]
                if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert contents == ["Drink water.", " Rest well.", " Call me"]
    # every prefix the client was shown had been checked first
    shown = ""
    for piece in contents:
        shown += piece
        assert shown in guard.checked
    conv = world.store.get_conversation(sse_chunks(r.text)[-2]["conversation_id"],
                                        by=world.carer)
    assert conv.messages[-1].content == "Drink water. Rest well. Call me" == _shown(r)


def test_a_sentence_that_fails_the_check_is_never_sent(world, engine):
    guard = WordGuard(bad="pills")
    scripted(engine, ["Hello", " there.", " Take", " ten", " pills.", " Then", " rest."])
    client = TestClient(create_app(engine, world.store, guard))
    r = chat(client, world.carer_key, "w4", stream=True)
    assert "pills" not in r.text and "Then rest" not in r.text
    assert _shown(r) == "Ask the doctor first."
    final = sse_chunks(r.text)[-2]
    conv = world.store.get_conversation(final["conversation_id"], by=world.carer)
    assert conv.messages[-1].content == "Ask the doctor first."
    stages = [(v["stage"], v["verdict"]["allowed"]) for v in world.store.verdicts(conv.id)]
    assert stages == [("input", True), ("output", False)]


def test_an_escalation_rewrite_is_shown_and_stored_the_same(world, engine):
    scripted(engine, ["Sit", " down.", " Stay", " calm."])
    client = TestClient(create_app(engine, world.store, WordGuard(escalate=True)))
    r = chat(client, world.carer_key, "w4", stream=True)
    conv = world.store.get_conversation(sse_chunks(r.text)[-2]["conversation_id"],
                                        by=world.carer)
    assert _shown(r) == conv.messages[-1].content == "Call 999 now. Sit down. Stay calm."


def test_a_failure_mid_stream_stores_what_the_client_saw_as_partial(world, engine, tmp_path):
    scripted(engine, ["Hello", " there.", " And"], error=RuntimeError("cuda fell over"))
    client = TestClient(create_app(engine, world.store, journal=tmp_path / "partials.db"))
    r = chat(client, world.carer_key, "w4", stream=True)
    chunks = sse_chunks(r.text)
    assert chunks[-1] == "[DONE]" and chunks[-2]["error"]["type"] == "server_error"
    assert "cuda" not in r.text and r.headers["X-Request-Id"] in chunks[-2]["error"]["message"]
    conv_id = int(r.headers["X-Conversation-Id"])
    conv = world.store.get_conversation(conv_id, by=world.carer)
    assert [m.role for m in conv.messages] == ["user", "assistant"]
    assert conv.messages[-1].content == "Hello there. And"
    assert conv.messages[-1].model_version == "scripted" + PARTIAL_SUFFIX


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_after_a_crash_the_next_start_stores_what_the_client_saw(world, engine, tmp_path):
    path = tmp_path / "partials.db"
    conv = world.store.start_conversation(by=world.carer, twin_id=world.twin.id)
    user_msg = world.store.add_message(conv.id, role="user", content="w4", by=world.carer)
    done = world.store.start_conversation(by=world.carer)
    done_user = world.store.add_message(done.id, role="user", content="w5", by=world.carer)
    world.store.add_message(done.id, role="assistant", content="whole reply", by=world.carer,
                            model_version="v1")
    journal = PartialJournal(path)
    cut = journal.begin(conv.id, world.carer.id, user_msg.id, "v1")
    journal.update(cut, "The first sentence. The sec")
    stored = journal.begin(done.id, world.carer.id, done_user.id, "v1")
    journal.update(stored, "whole")
    journal.storing(stored)  # the crash came after the whole reply was stored
    live = journal.begin(conv.id, world.carer.id, user_msg.id, "v1")  # a running process's
    pid = _dead_pid()
    journal._run("UPDATE partial SET pid = ? WHERE id IN (?, ?)", (pid, cut, stored))
    journal._run("UPDATE partial SET pid = ? WHERE id = ?", (os.getppid(), live))
    journal.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    create_app(engine, world.store, journal=path)
    msgs = world.store.get_conversation(conv.id, by=world.carer).messages
    assert [(m.role, m.content, m.model_version) for m in msgs] == [
        ("user", "w4", None), ("assistant", "The first sentence. The sec", "v1" + PARTIAL_SUFFIX)]
    assert len(world.store.get_conversation(done.id, by=world.carer).messages) == 2
    again = PartialJournal(path)
    assert again.text(live) == ""  # the live process's entry is left to it
    assert again.text(cut) is None and again.text(stored) is None


def test_a_finished_stream_leaves_no_journal_entry(world, engine, tmp_path):
    path = tmp_path / "partials.db"
    client = TestClient(create_app(engine, world.store, journal=path, default_max_tokens=4))
    r = chat(client, world.carer_key, "w4", stream=True)
    assert r.status_code == 200 and sse_chunks(r.text)[-1] == "[DONE]"
    journal = PartialJournal(path)
    assert journal._run("SELECT COUNT(*) FROM partial").fetchone()[0] == 0

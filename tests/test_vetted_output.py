"""The output check skips the knowledge-base sentences a grounded reply quotes word for word,
and reads everything else: the rules blocked correct vetted answers ("may advise a lower dose",
"alcohol gel does not kill norovirus") and the Spanish twin fact "toma Sintrom 4 mg"."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from serve_helpers import tiny_engine

from liquidcare.knowledge import Retriever, USEEncoder, load_kb
from liquidcare.knowledge.text import sentences
from liquidcare.knowledge.twin_facts import TwinFacts
from liquidcare.safety import Guard
from liquidcare.safety.policy import load_policy
from liquidcare.safety.vetted import without_vetted
from liquidcare.serve.app import create_app
from liquidcare.serve.grounding import Grounder

ASK = [{"role": "user", "content": "How much paracetamol can my dad take in a day?"}]
VETTED = "The GP may advise a lower dose for people who weigh under 50 kg or have liver problems."
HARMFUL = "Give him two extra tablets tonight to catch up."


def test_without_vetted_cuts_whole_sentences_only():
    reply = f"{VETTED} Check labels. {HARMFUL}"
    left = without_vetted(reply, [VETTED, "Check labels."])
    assert VETTED not in left and HARMFUL in left
    assert "Check labels." in left  # too short to take out: it could be a piece of anything
    # a sentence with one word changed is not the vetted one
    changed = VETTED.replace("lower", "higher")
    assert without_vetted(changed, [VETTED]) == changed


@pytest.fixture(scope="module")
def guard():
    return Guard()


def test_vetted_sentences_pass_the_output_rules_and_nothing_else_does(guard):
    assert not guard.check_output(ASK, VETTED).allowed  # the false block this fixes
    assert guard.check_output(ASK, VETTED, [VETTED]).allowed
    both = f"{VETTED} {HARMFUL}"
    verdict = guard.check_output(ASK, both, [VETTED])
    assert not verdict.allowed and verdict.category == "dose_change"
    # the model's own words around a quoted sentence are still read
    verdict = guard.check_output(ASK, f"{VETTED} Give him two tablets extra.", [VETTED])
    assert not verdict.allowed


def test_the_spanish_twin_fact_is_not_read_as_a_dose_instruction(guard):
    fact = TwinFacts.from_twin({"name": "Antonio", "medications": [
        {"name": "Sintrom", "dose": "4 mg", "times": ["19:00"]}]}).relevant(
        "¿Puede Antonio tomar ibuprofeno si toma Sintrom?", "es")
    assert fact == ["Antonio tiene pautado Sintrom 4 mg a las 19:00."]
    ask = [{"role": "user", "content": "¿Puede Antonio tomar ibuprofeno si toma Sintrom?"}]
    assert guard.check_output(ask, fact[0]).allowed


class Recorder:
    """Allows everything; records the vetted sentences each output check was given."""

    def __init__(self) -> None:
        self.vetted: list[tuple[str, ...]] = []

    def check_input(self, messages):
        return SimpleNamespace(allowed=True, category=None, reason="", safe_reply=None)

    def check_output(self, messages, reply, vetted=(), shown=()):
        self.vetted.append(tuple(vetted))
        return SimpleNamespace(allowed=True, category=None, reason="", safe_reply=None)


def test_the_server_gives_the_guard_the_quoted_passages_sentences(tmp_path):
    from liquidcare.feedback import open_store

    kb = Path(__file__).parent / "data" / "kb"
    grounder = Grounder(Retriever(load_kb(kb), USEEncoder(), cache_dir=tmp_path / "v"),
                        dict(load_policy().emergency), mode="extractive")
    store = open_store(str(tmp_path / "care.db"))
    carer, key = store.add_user("Ana", role="carer")
    recorder, engine = Recorder(), tiny_engine()
    app = create_app(engine, store, recorder, default_max_tokens=6, grounder=grounder)
    auth = {"Authorization": f"Bearer {key}"}
    ask = {"messages": [{"role": "user", "content": "Se le ha olvidado la metformina, ¿qué hago?"}]}
    try:
        with TestClient(app) as client:
            body = client.post("/v1/chat/completions", headers=auth, json=ask).json()
            with client.stream("POST", "/v1/chat/completions", headers=auth,
                               json={**ask, "stream": True}) as r:
                chunks = [json.loads(line[6:]) for line in r.iter_lines()
                          if line.startswith("data: {")]
    finally:
        engine.close()
    passage = load_kb(kb).by_id(body["sources"][0]["id"])
    assert chunks[-1]["sources"][0]["id"] == passage.id
    # the plain reply and every sentence of the streamed one were checked with the passage's
    # sentences as vetted text
    assert recorder.vetted and all(set(sentences(passage.text)) <= set(v)
                                   for v in recorder.vetted)


def test_no_vetted_answer_to_the_knowledge_bases_own_questions_is_blocked(guard):
    """Every passage's example questions, answered by the shipped grounder: the output check
    passes them all; read without the vetted sentences, its rules blocked 22 of 1,171."""
    from liquidcare.data import CARE_SYSTEM_PROMPT

    grounder = Grounder.load(None, mode="extractive")
    checked = blocked_plain = 0
    blocked = []
    for passage in grounder.retriever.kb.passages:
        for question in passage.questions:
            prompt = [{"role": "system", "content": CARE_SYSTEM_PROMPT[passage.lang]},
                      {"role": "user", "content": question}]
            if not guard.check_input(prompt).allowed:
                continue
            grounding = grounder.ground(prompt, None)
            if grounding.prepared is None:
                continue
            checked += 1
            if not guard.check_output(prompt, grounding.prepared, grounding.vetted).allowed:
                blocked.append(question)
            blocked_plain += not guard.check_output(prompt, grounding.prepared).allowed
    assert checked > 1000 and blocked == []
    assert blocked_plain >= 10  # the rules do fire on this text: the exemption is what passes it


def test_the_twins_own_facts_in_a_reply_are_not_a_system_prompt_leak(guard):
    """A long condition in the twin's record is in the system prompt and, as a fact, in the
    reply: the leak check (10 words in a row) took it for the system prompt leaking."""
    from liquidcare.feedback.twin import Twin

    condition = "heart failure, and the cardiology nurse set a limit of one and a half litres a day"
    twin = Twin(id=0, name="Iris", language="en", conditions=[condition], medications=[])
    view = SimpleNamespace(name="Iris", language="en", medications=[], conditions=[condition],
                           allergies=[], routines=[])
    prompt = [{"role": "system", "content": twin.system_prompt()},
              {"role": "user", "content": "How much should Iris drink in a heatwave with her "
                                          "heart failure?"}]
    grounding = Grounder.load(None, mode="extractive").ground(prompt, view)
    assert any(condition in f for f in grounding.facts) and grounding.prepared
    reply = grounding.prepared
    plain = guard.check_output(prompt, reply, grounding.vetted)
    assert not plain.allowed and plain.category == "system_leak"  # the false block
    assert guard.check_output(prompt, reply, grounding.vetted, grounding.facts).allowed
    # the prompt's instructions repeated are still a leak, facts given or not
    leak = f"{reply} {twin.system_prompt()}"
    verdict = guard.check_output(prompt, leak, grounding.vetted, grounding.facts)
    assert not verdict.allowed and verdict.category == "system_leak"

"""Grounded replies: the knowledge base and the twin in every chat turn.

`Grounder.ground(messages, twin, events)` reads the last user message, finds the passages that
answer it (liquidcare.knowledge), picks the twin's facts that bear on it, and returns what the
turn needs: the reply already composed (``extractive``, the default, and every "nothing found"
answer) or the prompt with the passages in it (``generative``), and the `sources` to return.

The emergency numbers come from the safety policy by language (its locale: English is the UK,
Spanish is Spain), so a reply never tells a UK or Spanish user to call 911.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liquidcare.errors import UserError
from liquidcare.knowledge import Hit, Retriever, load_kb
from liquidcare.knowledge.compose import (
    extractive_reply,
    fix_emergency_numbers,
    no_answer,
    notes_prompt,
)
from liquidcare.knowledge.text import fold, sentences, terms
from liquidcare.knowledge.twin_facts import TwinFacts

MODES = ("extractive", "generative", "off")
# a greeting or a thank-you is not a care question: the model answers it, without notes
_SMALL_TALK = re.compile(
    r"^\W*(hi|hello|hey|good (morning|afternoon|evening|night)|thanks?( you)?( very much)?|"
    r"hola|buen[oa]s( dias| tardes| noches)?|gracias( de nuevo)?|muchas gracias|adios|bye|"
    r"goodbye|ok(ay)?|vale|de acuerdo)\b[\w\s,!.?¡¿]{0,20}$")


class GroundingError(UserError):
    """A grounding setting that cannot be used (an unknown mode, a missing knowledge base)."""


@dataclass
class Grounding:
    """What grounding decided for one turn."""

    lang: str
    hits: list[Hit] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    prepared: str | None = None  # the reply, when it is composed without the model
    messages: list[dict[str, str]] | None = None  # the prompt, when the model writes the reply
    numbers: dict[str, str] = field(default_factory=dict)

    @property
    def sources(self) -> list[dict[str, str]]:
        return [h.passage.citation() for h in self.hits]

    @property
    def vetted(self) -> tuple[str, ...]:
        """The sentences of the knowledge-base passages this turn stands on: reviewed text the
        output check need not judge again (a rule reading "a lower dose" or "does not kill"
        in them blocked correct answers), while everything else in the reply still is."""
        return tuple(dict.fromkeys(s for h in self.hits for s in sentences(h.passage.text)))


def last_user_text(messages: list[dict[str, str]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            return str(m.get("content") or "")
    return ""


def search_query(messages: list[dict[str, str]], lang: str) -> str:
    """What to search for: the last user message, with the one before it when the last is a
    short follow-up ("¿y por la noche?" means nothing without the question it follows)."""
    users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
    if not users:
        return ""
    if len(users) > 1 and len(terms(users[-1], lang)) < 3:
        return f"{users[-2]} {users[-1]}"
    return users[-1]


class Grounder:
    def __init__(self, retriever: Retriever, emergency: dict[str, dict[str, str]],
                 mode: str = "extractive") -> None:
        if mode not in MODES:
            raise GroundingError(f"grounding mode must be one of {', '.join(MODES)}, "
                                 f"got {mode!r}")
        self.retriever, self.emergency, self.mode = retriever, emergency, mode

    @classmethod
    def load(cls, kb_folder: str | Path | None = None, mode: str = "extractive",
             policy: Any = None) -> Grounder:
        """The bundled (or given) knowledge base, and the numbers of the guard's policy."""
        if mode not in MODES:
            raise GroundingError(f"grounding mode must be one of {', '.join(MODES)}, "
                                 f"got {mode!r}")
        if policy is None:
            from liquidcare.safety.policy import load_policy

            policy = load_policy()
        return cls(Retriever(load_kb(kb_folder)), dict(policy.emergency), mode)

    def numbers(self, lang: str) -> dict[str, str]:
        return self.emergency.get(lang) or next(iter(self.emergency.values()), {})

    def language(self, text: str, twin: Any = None) -> str:
        from liquidcare.safety.language import detect_language

        default = getattr(twin, "language", None) or "en"
        lang = detect_language(text, default=default)
        return lang if lang in self.retriever.languages() else default

    def ground(self, messages: list[dict[str, str]], twin: Any = None,
               events: list[Any] = ()) -> Grounding:
        question = last_user_text(messages)
        lang = self.language(question, twin)
        numbers = self.numbers(lang)
        if self.mode == "off" or not question.strip() or _SMALL_TALK.match(fold(question)):
            return Grounding(lang, numbers=numbers, messages=list(messages))
        hits = self.retriever.search(search_query(messages, lang), lang)
        facts: list[str] = []
        if twin is not None:
            topics = tuple(dict.fromkeys(h.passage.topic for h in hits))
            context = hits[0].passage.text if hits else ""
            facts = TwinFacts.from_twin(twin, list(events)).relevant(
                question, lang, topics=topics, context=context)
        out = Grounding(lang, hits=hits, facts=facts, numbers=numbers)
        if not hits:
            # nothing vetted answers this: say so and name who does, never let the model guess
            out.prepared = "\n\n".join([*([" ".join(facts)] if facts else []),
                                        no_answer(question, lang, numbers)])
        elif self.mode == "extractive":
            out.prepared = extractive_reply(question, lang, hits, facts,
                                            encoder=self.retriever.sentence_encoder)
            # cite what the reply quotes, not what it had no room for
            out.hits = [h for h in hits
                        if any(s in out.prepared for s in sentences(h.passage.text))]
        else:
            twin_name = getattr(twin, "name", "") if twin is not None else ""
            block = notes_prompt(lang, hits, facts, twin_name, numbers)
            prompt = [dict(m) for m in messages]
            if prompt and prompt[0].get("role") == "system":
                prompt[0]["content"] = f"{prompt[0]['content']}\n\n{block}"
            else:
                prompt.insert(0, {"role": "system", "content": block})
            out.messages = prompt
        return out

    def finish(self, grounding: Grounding, text: str) -> str:
        """A generated reply, checked for numbers that reach nobody in the asker's country."""
        return fix_emergency_numbers(text, grounding.numbers)

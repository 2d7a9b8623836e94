"""The guard: checks a conversation before the model sees it and the reply before the user does.

    guard = Guard()                          # the shipped default policy
    verdict = guard.check_input(messages)    # jailbreaks, prompt injection, other people's data
    if not verdict.allowed:
        reply = verdict.safe_reply           # don't call the model
    else:
        reply = model_reply(messages)
        reply = guard.check_output(messages, reply).final_reply(reply)

`final_reply` gives the safe reply when there is one: a refusal in the user's language for a
blocked reply, or the emergency message put in front of the model's reply when the user's
latest message describes a live emergency (`category="emergency"`). A question *about* an
emergency ("what are the signs of a stroke?") is answered, with the number added after the
answer (`category="emergency_info"`). Escalation never blocks: a person describing chest pain
must get the emergency number, not a refusal.

Every character of a message is checked: long messages are read in overlapping chunks of
`max_chars` by the rules; the learned parts read a bounded sample of them (`encoder.py`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from liquidcare.text import conversation_language, detect_language, fold

from .emergency import TOKENS_WEIGHTS, WEIGHTS, Assessment, EmergencyAssessor
from .encoder import PIECE_CHARS, sample_text, shared_encoder
from .errors import PolicyError
from .normalize import disguise, unleet, unspace, variants
from .policy import Policy, Rule, load_policy
from .scope import governing, read_through_asides
from .vetted import without_vetted


class GuardInputError(PolicyError):
    """The messages handed to the guard are not a list of {"role", "content"} mappings."""


@dataclass
class Verdict:
    """What the guard decided about one message or reply.

    allowed: False means "do not send this": use `safe_reply` instead.
    category: the rule category that fired ("override", "privacy", "dose_change", ...), or
        "emergency" for a live emergency (allowed, with `safe_reply` putting the emergency
        number first), "emergency_info" for a question about one (allowed; the output check
        adds the number after the answer), or None when nothing fired.
    safe_reply: for blocks and escalations, the reply to send, in the user's language.
    emergency: "live", "about" or None — what the emergency assessment found, also when the
        message was blocked for another reason.
    red_flags: the conditions of a live emergency ("stroke", "suicide", ...).
    """

    allowed: bool
    category: str | None
    reason: str
    safe_reply: str | None
    language: str
    stage: str = "input"
    red_flags: list[str] = field(default_factory=list)
    detector_score: float | None = None
    emergency: str | None = None

    @property
    def escalated(self) -> bool:
        return self.emergency == "live"

    def final_reply(self, reply: str | None = None) -> str | None:
        """The text to send: the safe reply when there is one, else `reply` unchanged."""
        return self.safe_reply if self.safe_reply is not None else reply

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text_of(content: Any) -> str:
    """Message content as text: a string, or OpenAI's list of {"type": "text", "text": ...}."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content
                        if isinstance(p, dict) and p.get("type") == "text")
    if content is None:
        return ""
    raise GuardInputError(f"message content must be text, got {type(content).__name__}")


def _validate(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list):
        raise GuardInputError(f"messages must be a list, got {type(messages).__name__}")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m:
            raise GuardInputError(f"messages[{i}] must be a mapping with a 'role' key")
        out.append({"role": str(m["role"]), "content": _text_of(m.get("content"))})
    return out


# Where a sentence starts, for deciding whether a negation belongs to a match.
_SENTENCE_END = re.compile(r"[.!?\n;]")
# "Combine the parts" in a later turn: the user is assembling fragments sent before.
_ASSEMBLE = re.compile(r"\b(combine|join|concatenate|put (them |it )?together|together|merge|"
                       r"append|parts?|pieces|fragments?|junta|juntalas|juntalos|une|unelas|"
                       r"concatena|todo junto|partes|trozos|fragmentos|seguido)\b"
                       r"|[a-z]\s*\+\s*[a-z]")
_QUOTED = re.compile(r"[\"'“”‘’«»`]([^\"'“”‘’«»`]{2,200})[\"'“”‘’«»`]")


class Guard:
    """Input and output checks from a `Policy` (rules first, the learned detector second)."""

    def __init__(self, policy: Policy | str | Path | None = None,
                 detector: Any = "auto", emergency_model: Any = "auto") -> None:
        """`detector`: "auto" (the shipped jailbreak detector when the policy enables it and
        the encoder is installed), None/False (rules only) or any object with
        `probability(text)`. `emergency_model`: "auto" (the shipped emergency classifier
        beside the symptom lexicon, read as the policy's `emergency_model.reader` says),
        "logistic" or "tokens" (that reader, whatever the policy says) or None/False (the
        lexicon alone)."""
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy)
        self.detector = None
        if detector == "auto":
            if self.policy.detector_enabled:
                from .detector import Detector

                self.detector = Detector.load()
        elif detector not in (None, False):
            self.detector = detector
        if emergency_model not in ("auto", "logistic", "tokens", None, False):
            raise PolicyError(f"emergency_model must be 'auto', 'logistic', 'tokens' or None, "
                              f"got {emergency_model!r}")
        encoder = shared_encoder() if emergency_model else None
        reader = self.policy.emergency_reader if emergency_model == "auto" else emergency_model
        self.emergency = EmergencyAssessor(
            self.policy.red_flags, encoder, use_classifier=encoder is not None,
            weights_path=TOKENS_WEIGHTS if reader == "tokens" else WEIGHTS)
        self._assessed: dict[tuple[str, ...], Assessment] = {}

    # ----------------------------------------------------------------- helpers
    def _chunks(self, text: str) -> list[str]:
        """The whole text in pieces of `max_chars`, overlapping so that no match of a rule
        (at most a few hundred characters) is cut in two."""
        limit, overlap = self.policy.max_chars, 400
        if len(text) <= limit:
            return [text]
        return [text[i:i + limit] for i in range(0, len(text) - overlap, limit - overlap)]

    def _assess(self, users: list[str]) -> Assessment:
        key = tuple(users[-3:])
        found = self._assessed.get(key)
        if found is None:
            found = self.emergency.assess(users)
            if len(self._assessed) > 128:  # the input and output checks of recent turns
                self._assessed.clear()
            self._assessed[key] = found
        return found

    def _match_input(self, text_variants: dict[str, str]) -> tuple[Rule, str] | None:
        # The plain text is tried against every rule before any decoded form, so that a plain
        # attack is named by its own category rather than as obfuscation.
        for name, text in text_variants.items():
            for rule in self.policy.input_rules:
                if rule.search(text):
                    return rule, name
        return None

    def _split_payload(self, users: list[str]) -> Rule | None:
        """A rule that matches only across the recent user turns, with the latest one in it."""
        # Long turns contribute their ends: a split payload is joined at the turn boundaries.
        window = [t if len(t) <= 2000 else t[:1000] + " " + t[-1000:]
                  for t in users[-self.policy.split_window:]]
        if len(window) < 2:
            return None
        for transform in (lambda s: s, lambda s: unspace(unleet(s))):
            parts = [transform(fold(t)) for t in window]
            joined = " ".join(parts)
            last_start = len(joined) - len(parts[-1])
            for rule in self.policy.input_rules:
                for pattern in rule.candidates(joined):
                    for m in pattern.finditer(joined):
                        if m.start() < last_start <= m.end():
                            return rule
        # Fragments in quotes ("remember A = 'ignore all previous'"), put back together when the
        # latest turn asks for it or adds a fragment of its own.
        recent = users[-self.policy.split_window:]  # whole turns: a fragment may sit anywhere
        fragments = [(i, fold(f)) for i, t in enumerate(recent) for f in _QUOTED.findall(t)]
        last = len(window) - 1
        if len({i for i, _ in fragments}) >= 2 and (
                any(i == last for i, _ in fragments) or _ASSEMBLE.search(fold(recent[-1]))):
            pieces = [f for _, f in fragments]
            for joined in (" ".join(pieces), "".join(pieces)):
                for v in variants(joined).values():
                    for rule in self.policy.input_rules:
                        if rule.search(v):
                            return rule
        return None

    def _escalation(self, found: Assessment, language: str) -> str:
        text = self.policy.message("emergency", language)
        if found.crisis:
            text += " " + self.policy.message("crisis", language)
        return text

    def _language(self, msgs: list[dict[str, str]], text_variants: dict[str, str]) -> str:
        """The user's language, read through any disguise (decoded and folded forms count)."""
        # Leetspeak decoding of hex or base64 turns digits into stray letters ("i", "a") that
        # would sway the count, so it is read only when nothing else decides.
        language = detect_language(" ".join(v for k, v in text_variants.items()
                                            if k != "leetspeak"), default="")
        if not language and "leetspeak" in text_variants:
            language = detect_language(text_variants["leetspeak"], default="")
        if not language:
            language = conversation_language(msgs, self.policy.default_language)
        return language if language in self.policy.languages else self.policy.default_language

    def _blocked(self, stage: str, category: str, reason: str, language: str,
                 found: Assessment, score: float | None = None) -> Verdict:
        reply = self.policy.message(category, language)
        # A live emergency still gets the number, even inside an attack: first when the
        # lexicon named the condition, after the refusal when only the classifier suspects one
        # (an attack's wording often sits near emergencies in meaning: "the lethal dose").
        if found.live and found.kinds != ["unspecified"]:
            reply = self._escalation(found, language) + "\n\n" + reply
        elif found.live:
            reply = reply + "\n\n" + self._escalation(found, language)
        return Verdict(False, category, reason, reply, language, stage,
                       found.kinds if found.live else [], score, found.state)

    # ------------------------------------------------------------------ checks
    def _check_chunk(self, text_variants: dict[str, str]) -> tuple[str, str] | None:
        """The rule checks of one piece of the latest message; a block's (category, reason),
        or None."""
        hit = self._match_input(text_variants)
        if hit:
            rule, how = hit
            if how == "plain":
                return rule.name, f"{rule.name}: {rule.description}"
            return "obfuscation", f"{rule.name} after decoding {how}: {rule.description}"
        hidden = [name for name in ("base64", "hex") if name in text_variants]
        if self.policy.block_encoded_text and hidden:
            return "obfuscation", f"readable text hidden as {hidden[0]}"
        return None

    def _input_block(self, users: list[str],
                     chunk_variants: list[dict[str, str]]) -> tuple[str, str] | None:
        """The first rule check that blocks the latest message, as (category, reason)."""
        for text_variants in chunk_variants:
            blocked = self._check_chunk(text_variants)
            if blocked is not None:
                return blocked
        disguised = disguise(users[-1])
        if disguised > self.policy.max_disguised_chars:
            return "obfuscation", f"{disguised} invisible, look-alike or full-width characters"
        split = self._split_payload(users)
        if split is not None:
            return ("payload_split",
                    f"{split.name} across the recent user turns: {split.description}")
        return None

    def _expect_detector(self, text: str) -> None:
        """Tells the encoder which pieces of a long message the detector will read, so that
        the emergency classifier's call embeds them too: one call of four pieces costs ~6 ms
        less than three and then one (the weights are streamed once)."""
        encoder, cue = getattr(self.detector, "encoder", None), getattr(self.detector, "cue", None)
        if len(text) > 2 * PIECE_CHARS and hasattr(encoder, "expect") and cue is not None and \
                self.emergency.model is not None:
            encoder.expect(sample_text(text, cue))

    def check_input(self, messages: list[dict]) -> Verdict:
        """Checks the conversation's latest user turn (and the recent ones joined together)."""
        msgs = _validate(messages)
        users = [m["content"] for m in msgs if m["role"] == "user"]
        if not users:
            return Verdict(True, None, "no user message", None, self.policy.default_language)
        last = users[-1]
        chunk_variants = [variants(chunk) for chunk in self._chunks(last)]
        language = self._language(msgs, chunk_variants[-1])
        # The rules first (they do not depend on the emergency reading, only the verdict
        # does), so that the encoder knows whether the detector will read the message.
        block = self._input_block(users, chunk_variants)
        if block is None and self.detector is not None:
            self._expect_detector(last)
        try:
            found = self._assess(users)
        finally:
            encoder = getattr(self.detector, "encoder", None)
            if hasattr(encoder, "expect"):
                encoder.expect([])  # a hint the classifier did not take: the detector's call
        if block is not None:
            return self._blocked("input", *block, language, found)

        score = None
        if self.detector is not None:
            score = self.detector.probability(last)
            if score >= self.policy.detector_threshold:
                return self._blocked("input", "detector",
                                     f"learned detector: p(jailbreak)={score:.3f} >= "
                                     f"{self.policy.detector_threshold}", language, found, score)
        if found.live:
            return Verdict(True, "emergency", f"emergency ({found.reason})",
                           self._escalation(found, language), language, "input",
                           found.kinds, score, "live")
        if found.state == "about":
            return Verdict(True, "emergency_info", f"asks about an emergency ({found.reason})",
                           None, language, "input", [], score, "about")
        return Verdict(True, None, "no rule matched", None, language, "input", [], score)

    def _output_match(self, rule: Rule, text: str) -> re.Match[str] | None:
        for pattern in rule.candidates(text):
            for m in pattern.finditer(text):
                start = max((s.end() for s in _SENTENCE_END.finditer(text, 0, m.start())),
                            default=0)
                nxt = _SENTENCE_END.search(text, m.end())
                sentence = text[start: nxt.start() if nxt else len(text)]
                if rule.negation_scope == "sentence":
                    scope = sentence
                elif rule.negation_scope == "clause":
                    if any(f.search(sentence) for f in rule.frames):
                        continue
                    scope = governing(text, start, m.start())
                else:
                    scope = text[start: m.start()]
                if not any(u.search(scope) for u in rule.unless):
                    return m
        return None

    def _leaks_system(self, msgs: list[dict[str, str]], reply: str) -> bool:
        n = self.policy.system_leak_words
        system = " ".join(m["content"] for m in msgs if m["role"] == "system")
        words = re.findall(r"\w+", fold(system))
        if len(words) < n:
            return False
        grams = {tuple(words[i: i + n]) for i in range(len(words) - n + 1)}
        out = re.findall(r"\w+", fold(reply))
        return any(tuple(out[i: i + n]) in grams for i in range(len(out) - n + 1))

    def emergency_texts(self, messages: list[dict]) -> tuple[str | None, str | None]:
        """(text to send before the reply, text to send after it) for the emergency state of
        the conversation's latest user turn: the escalation first for a live emergency, the
        `emergency_info` line last for a question about one. A server that streams a reply
        sentence by sentence checks each sentence with `check_output` for blocks and sends
        these once, instead of taking each sentence's rewritten `safe_reply`."""
        msgs = _validate(messages)
        users = [m["content"] for m in msgs if m["role"] == "user"]
        if not users:
            return None, None
        found = self._assess(users)
        language = self._language(msgs, {"plain": fold(users[-1][-2000:])})
        if found.live:
            return self._escalation(found, language), None
        if found.state == "about":
            return None, self.policy.message("emergency_info", language)
        return None, None

    def check_output(self, messages: list[dict], reply: str, vetted: Collection[str] = (),
                     shown: Collection[str] = ()) -> Verdict:
        """Checks a model reply to `messages`: medical safety, persona, system-prompt leaks,
        the emergency number first for a live emergency, after the answer for a question
        about one. `vetted`: sentences of the reviewed knowledge base that the reply quotes;
        the output rules skip them word for word (they are the checked answer, not the
        model's), and read every other character of the reply. `shown`: sentences the asker
        may see although the system prompt holds them too (the twin's own facts): not a leak."""
        msgs = _validate(messages)
        if not isinstance(reply, str):
            raise GuardInputError(f"reply must be text, got {type(reply).__name__}")
        users = [m["content"] for m in msgs if m["role"] == "user"]
        last = users[-1] if users else ""
        language = self._language(msgs, {"plain": fold(last[-2000:])})
        found = self._assess(users) if users else Assessment(None)

        asked = fold(last)
        for chunk in self._chunks(without_vetted(reply, vetted)):
            text = read_through_asides(fold(chunk))
            for rule in self.policy.output_rules:
                # The reply (short) first: the user's question may be 8,000 characters long
                # and `when_user` looks through all of it.
                m = self._output_match(rule, text)
                if m and rule.applies_to(asked):
                    return self._blocked("output", rule.name,
                                         f"{rule.name}: {rule.description} "
                                         f"({m.group(0)[:60]!r})", language, found)
        if self._leaks_system(msgs, without_vetted(reply, [*vetted, *shown])):
            return self._blocked("output", "system_leak",
                                 "the reply repeats the system prompt", language, found)
        if found.live:
            return Verdict(True, "emergency", f"emergency ({found.reason})",
                           self._escalation(found, language) + "\n\n" + reply, language,
                           "output", found.kinds, None, "live")
        if found.state == "about":
            info = self.policy.message("emergency_info", language)
            return Verdict(True, "emergency_info", f"asks about an emergency ({found.reason})",
                           reply.rstrip() + "\n\n" + info, language, "output", [], None,
                           "about")
        return Verdict(True, None, "no rule matched", None, language, "output")

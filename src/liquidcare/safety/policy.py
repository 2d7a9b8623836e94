"""The guard policy: patterns, categories, messages per language, emergency numbers, thresholds.

A policy is a YAML file (the shipped one is `default_policy.yaml` beside this module). Loading
validates it against the pydantic models below (unknown keys are refused) and compiles every
pattern, so a typo or a bad regex is reported at load time with its path in the file
(`input_rules.override.patterns[2]`), never as a silent no-op at chat time.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from .errors import PolicyError
from .gate import GATE_FROM, anchors, could_match, starts_between
from .gate import _starts as gate_starts
from .gate import finditer as gate_finditer
from .gate import search as gate_search
from .needs import could_need, has_needed, needed_chars, needed_words
from .wordindex import _index as word_index

DEFAULT_POLICY = Path(__file__).with_name("default_policy.yaml")
# Verdict categories the guard itself produces, beside the rule names: each needs a message.
_EXTRA_MESSAGES = ("default", "obfuscation", "payload_split", "detector", "system_leak",
                   "emergency", "emergency_info", "crisis")
_PLACEHOLDERS = {"number", "urgent", "crisis_line"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmergencyNumbers(_Strict):
    number: StrictStr
    urgent: StrictStr
    crisis_line: StrictStr


class DetectorSettings(_Strict):
    enabled: StrictBool = True
    threshold: float = Field(0.7, ge=0.0, le=1.0)


class EmergencyModelSettings(_Strict):
    # "logistic": the emergency classifier alone (emergency_weights.json); "tokens": a refit of
    # it with the token reader beside it (emergency_weights_tokens.json + token_weights.json)
    reader: Literal["logistic", "tokens"] = "logistic"


class Thresholds(_Strict):
    split_window: int = Field(4, ge=1, le=50)
    system_leak_words: int = Field(10, ge=3, le=1000)
    # Long messages are checked in overlapping chunks of this many characters.
    max_chars: int = Field(8000, ge=1000, le=10_000_000)
    block_encoded_text: StrictBool = True
    max_disguised_chars: int = Field(3, ge=0, le=10_000)


Patterns = list[StrictStr]


class InputRuleSpec(_Strict):
    description: StrictStr = ""
    patterns: Patterns = Field(min_length=1)


class RedFlagSpec(_Strict):
    patterns: Patterns = Field(min_length=1)
    symptoms: Patterns = []
    crisis: StrictBool = False


class OutputRuleSpec(_Strict):
    description: StrictStr = ""
    patterns: Patterns = Field(min_length=1)
    unless: Patterns = []
    negation_scope: Literal["before", "sentence", "clause"] = "before"
    frames: Patterns = []
    when_user: Patterns = []


class PolicySpec(_Strict):
    """The YAML file as written, before the patterns are compiled."""

    version: int = 1
    languages: list[StrictStr] = Field(min_length=1)
    default_language: StrictStr | None = None
    emergency: dict[str, EmergencyNumbers]
    detector: DetectorSettings = DetectorSettings()
    emergency_model: EmergencyModelSettings = EmergencyModelSettings()
    thresholds: Thresholds = Thresholds()
    input_rules: dict[str, InputRuleSpec]
    red_flags: dict[str, RedFlagSpec]
    output_rules: dict[str, OutputRuleSpec]
    messages: dict[str, dict[str, StrictStr]]


@dataclass
class Rule:
    """One category of patterns, compiled."""

    name: str
    patterns: list[re.Pattern[str]]
    description: str = ""
    unless: list[re.Pattern[str]] = field(default_factory=list)
    # Where `unless` is searched: "before": sentence start to the match; "sentence": all of
    # it; "clause": the words that govern the match (`scope.governing`).
    negation_scope: str = "before"
    # Output rules, "clause" scope: a sentence holding one of these is told as a warning, an
    # event or advice, not as an instruction ("...is a form of abuse", "if he has taken...").
    frames: list[re.Pattern[str]] = field(default_factory=list)
    crisis: bool = False
    # Output rules only: the rule applies when the user's latest message matches one of these.
    when_user: list[re.Pattern[str]] = field(default_factory=list)
    # Red flags only: symptoms that count as an emergency only beside an acuity cue.
    symptoms: list[re.Pattern[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._anchors = {id(p): anchors(p.pattern)
                         for p in self.patterns + self.symptoms + self.when_user}
        # What the word gate cannot read, a character check may still rule out.
        self._needed = {id(p): needed_chars(p) for p in self.patterns + self.symptoms
                        if self._anchors[id(p)] is None}
        # ... and a long text that lacks a word a pattern needs beyond its first need not be
        # scanned at its first words (`needs.needed_words`).
        self._words = {id(p): needed_words(p) for p in self.patterns + self.symptoms}

    def applies_to(self, asked: str) -> bool:
        """Output rules: whether the user's latest message (folded) lets the rule apply (it
        has no `when_user`, or one of them matches, through the word gate: the question may
        be 8,000 characters long)."""
        return not self.when_user or any(
            gate_search(p, self._anchors[id(p)], asked) for p in self.when_user
            if could_match(self._anchors[id(p)], asked))

    def reaches(self, text: str, lo: int, hi: int) -> bool:
        """Whether a pattern or symptom of the rule can match `text[lo:hi]`, a piece of
        `text` cut at word boundaries (read from the word gate's index of the whole text)."""
        return any(starts_between(self._anchors[id(p)], text, lo, hi)
                   for p in self.patterns + self.symptoms)

    def starts(self, text: str) -> list[int] | None:
        """Where in `text` a word starts that one of the rule's patterns or symptoms can begin
        with, sorted; None when a match may start anywhere (a pattern the gate cannot read,
        or a text too short for the gate). `reaches(text, lo, hi)` holds exactly when one of
        these lies in [lo, hi), so a caller that asks about many pieces reads them once."""
        found: set[int] = set()
        for p in self.patterns + self.symptoms:
            anchor = self._anchors[id(p)]
            if anchor is None or len(text) < GATE_FROM:
                return None
            found.update(gate_starts(anchor, text))
        return sorted(found)

    def search_within(self, piece: str, text: str, lo: int, hi: int,
                      symptoms: bool = False) -> re.Match[str] | None:
        """A match in `piece` = `text[lo:hi]` (cut at word boundaries) of the first pattern (or
        symptom) that matches it, trying only those whose first words start in it."""
        pool = self.symptoms if symptoms else self.patterns
        for pattern in pool:
            anchor = self._anchors[id(pattern)]
            if anchor is None or len(text) < GATE_FROM:
                m = gate_search(pattern, anchor, piece) if starts_between(
                    anchor, text, lo, hi) else None
                if m:
                    return m
                continue
            # Tried only where the whole text's allowed words start in the piece (its own
            # word starts, moved): a few attempts, not a scan of every position of the clause.
            starts = gate_starts(anchor, text)
            for i in range(bisect_left(starts, lo), len(starts)):
                if starts[i] >= hi:
                    break
                m = pattern.match(piece, starts[i] - lo)
                if m:
                    return m
        return None

    def candidates(self, text: str, symptoms: bool = False) -> list[re.Pattern[str]]:
        """The patterns (or symptoms) that can match `text` at all (`gate.py`: on a long
        text the word gate skips those whose first words it does not hold)."""
        pool = self.symptoms if symptoms else self.patterns
        found = [p for p in pool if could_match(self._anchors.get(id(p)), text)
                 and has_needed(self._needed.get(id(p)), text)]
        if len(text) < GATE_FROM or not found:
            return found
        prefixes = word_index(text).prefixes
        return [p for p in found if could_need(self._words.get(id(p)), prefixes)]

    def finditer(self, text: str, symptoms: bool = False) -> Iterator[re.Match[str]]:
        """Every pattern's (or symptom's) matches in `text`, found through the word gate."""
        for pattern in self.candidates(text, symptoms):
            yield from gate_finditer(pattern, self._anchors.get(id(pattern)), text)

    def search(self, text: str, symptoms: bool = False) -> re.Match[str] | None:
        """The first pattern's (or symptom's) match in `text`, found through the word gate."""
        for pattern in self.candidates(text, symptoms):
            m = gate_search(pattern, self._anchors.get(id(pattern)), text)
            if m:
                return m
        return None


@dataclass
class Policy:
    languages: list[str]
    default_language: str
    emergency: dict[str, dict[str, str]]
    input_rules: list[Rule]
    red_flags: list[Rule]
    output_rules: list[Rule]
    messages: dict[str, dict[str, str]]
    detector_enabled: bool = True
    detector_threshold: float = 0.7
    emergency_reader: str = "logistic"
    split_window: int = 4
    system_leak_words: int = 10
    max_chars: int = 8000
    block_encoded_text: bool = True
    max_disguised_chars: int = 3
    source: str = "<dict>"

    def message(self, key: str, language: str, **extra: str) -> str:
        """The message `key` in `language`, with {number}, {urgent}, {crisis_line} filled in."""
        language = language if language in self.messages else self.default_language
        text = self.messages[language].get(key) or self.messages[language]["default"]
        return text.format(**self.emergency[language], **extra)


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _explain(err: ValidationError) -> str:
    """The first problem pydantic found, in the words the policy's users read."""
    e = err.errors()[0]
    where, kind = _where(tuple(e["loc"])), e["type"]
    if kind == "extra_forbidden":
        return f"unknown key {where}"
    if kind == "missing":
        return f"missing key {where}"
    if kind in ("greater_than_equal", "less_than_equal", "float_parsing", "int_parsing",
                "float_type", "int_type", "int_from_float"):
        return f"{where} must be a number in range ({e['msg']}), got {e.get('input')!r}"
    return f"{where}: {e['msg']}"


def _compile(where: str, patterns: list[str]) -> list[re.Pattern[str]]:
    compiled = []
    for i, pattern in enumerate(patterns):
        try:
            compiled.append(re.compile(pattern))
        except re.error as err:
            raise PolicyError(f"bad regex at {where}[{i}]: {err} in {pattern!r}") from None
    return compiled


def _check(spec: PolicySpec) -> str:
    """Cross-field checks pydantic's field types cannot express; the default language."""
    languages = spec.languages
    default = spec.default_language or languages[0]
    if default not in languages:
        raise PolicyError(f"default_language {default!r} is not one of languages {languages}")
    for section in ("emergency", "messages"):
        given = getattr(spec, section)
        for lang in languages:
            if lang not in given:
                raise PolicyError(f"missing key {section}.{lang}")
        for lang in given:
            if lang not in languages:
                raise PolicyError(f"unknown key {section}.{lang} (languages: {languages})")
    needed = [*spec.input_rules, *spec.output_rules, *_EXTRA_MESSAGES]
    for lang in languages:
        msgs = spec.messages[lang]
        for key in needed:
            if key not in msgs:
                raise PolicyError(f"missing key messages.{lang}.{key}")
        for key, text in msgs.items():
            if key not in needed:
                raise PolicyError(f"unknown key messages.{lang}.{key} (a message needs a rule "
                                  "of the same name)")
            try:
                names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
            except ValueError as err:
                raise PolicyError(f"messages.{lang}.{key} has a bad placeholder: {err}") from None
            bad = sorted(names - _PLACEHOLDERS)
            if bad:
                raise PolicyError(f"messages.{lang}.{key} has a bad placeholder {bad[0]!r} "
                                  "(allowed: {number}, {urgent}, {crisis_line})")
    return default


def parse_policy(data: Any, source: str = "<dict>") -> Policy:
    """A `Policy` from the mapping a YAML file holds; any mistake is a `PolicyError` naming it."""
    where = f"{source}: " if source != "<dict>" else ""
    try:
        if not isinstance(data, dict):
            raise PolicyError(f"the policy must be a mapping, got {type(data).__name__}")
        try:
            spec = PolicySpec.model_validate(data)
        except ValidationError as err:
            raise PolicyError(_explain(err)) from None
        default = _check(spec)
        return Policy(
            languages=list(spec.languages),
            default_language=default,
            emergency={k: v.model_dump() for k, v in spec.emergency.items()},
            input_rules=[Rule(name, _compile(f"input_rules.{name}.patterns", r.patterns),
                              r.description) for name, r in spec.input_rules.items()],
            red_flags=[Rule(name, _compile(f"red_flags.{name}.patterns", r.patterns),
                            crisis=r.crisis,
                            symptoms=_compile(f"red_flags.{name}.symptoms", r.symptoms))
                       for name, r in spec.red_flags.items()],
            output_rules=[Rule(name, _compile(f"output_rules.{name}.patterns", r.patterns),
                               r.description,
                               unless=_compile(f"output_rules.{name}.unless", r.unless),
                               negation_scope=r.negation_scope,
                               frames=_compile(f"output_rules.{name}.frames", r.frames),
                               when_user=_compile(f"output_rules.{name}.when_user",
                                                  r.when_user))
                          for name, r in spec.output_rules.items()],
            messages={k: dict(v) for k, v in spec.messages.items()},
            detector_enabled=spec.detector.enabled,
            detector_threshold=spec.detector.threshold,
            emergency_reader=spec.emergency_model.reader,
            **spec.thresholds.model_dump(),
            source=source,
        )
    except PolicyError as err:
        raise PolicyError(f"{where}{err}") from None


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy in a YAML file; None gives the shipped default policy."""
    path = Path(path) if path is not None else DEFAULT_POLICY
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise PolicyError(f"cannot read policy {path}: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise PolicyError(f"policy {path} is not valid YAML: {err}") from None
    return parse_policy(data, source=str(path))

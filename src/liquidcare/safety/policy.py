"""The guard policy: patterns, categories, messages per language, emergency numbers, thresholds.

A policy is a YAML file (the shipped one is `default_policy.yaml` beside this module). Loading
checks every key against the schema below and compiles every pattern, so a typo or a bad regex
is reported at load time with its path in the file (`input_rules.override.patterns[2]`), never
as a silent no-op at chat time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import PolicyError

DEFAULT_POLICY = Path(__file__).with_name("default_policy.yaml")

_TOP = {"version", "languages", "default_language", "emergency", "detector", "thresholds",
        "input_rules", "red_flags", "output_rules", "messages"}
_REQUIRED_TOP = {"languages", "emergency", "input_rules", "red_flags", "output_rules", "messages"}
_EMERGENCY_KEYS = {"number", "urgent", "crisis_line"}
_DETECTOR_KEYS = {"enabled", "threshold", "max_tokens"}
_THRESHOLD_KEYS = {"split_window", "system_leak_words", "max_chars", "block_encoded_text",
                   "max_disguised_chars"}
_INPUT_RULE_KEYS = {"description", "patterns"}
_RED_FLAG_KEYS = {"patterns", "crisis"}
_OUTPUT_RULE_KEYS = {"description", "patterns", "unless", "negation_scope", "when_user"}
# Verdict categories the guard itself produces, beside the rule names: each needs a message.
_EXTRA_MESSAGES = ("default", "obfuscation", "payload_split", "detector", "system_leak",
                   "emergency", "crisis")


@dataclass
class Rule:
    """One category of patterns, compiled."""

    name: str
    patterns: list[re.Pattern[str]]
    description: str = ""
    unless: list[re.Pattern[str]] = field(default_factory=list)
    negation_scope: str = "before"  # "before": sentence start to match; "sentence": all of it
    crisis: bool = False
    # Output rules only: the rule applies when the user's latest message matches one of these.
    when_user: list[re.Pattern[str]] = field(default_factory=list)

    def search(self, text: str) -> re.Match[str] | None:
        for pattern in self.patterns:
            m = pattern.search(text)
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
    detector_threshold: float = 0.92
    detector_max_tokens: int = 64
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


def _check_keys(where: str, data: Any, allowed: set[str], required: set[str] = frozenset()) -> None:
    if not isinstance(data, dict):
        raise PolicyError(f"{where} must be a mapping, got {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        name = f"{where}.{unknown[0]}" if where else unknown[0]
        raise PolicyError(f"unknown key {name} (allowed: {', '.join(sorted(allowed))})")
    missing = sorted(set(required) - set(data))
    if missing:
        raise PolicyError(f"missing key {where + '.' if where else ''}{missing[0]}")


def _compile(where: str, patterns: Any) -> list[re.Pattern[str]]:
    if not isinstance(patterns, list) or not patterns:
        raise PolicyError(f"{where} must be a non-empty list of regular expressions")
    compiled = []
    for i, pattern in enumerate(patterns):
        if not isinstance(pattern, str):
            raise PolicyError(f"{where}[{i}] must be a string, got {type(pattern).__name__}")
        try:
            compiled.append(re.compile(pattern))
        except re.error as err:
            raise PolicyError(f"bad regex at {where}[{i}]: {err} in {pattern!r}") from None
    return compiled


def _rules(section: str, data: Any, keys: set[str]) -> list[Rule]:
    _check_keys(section, data, set(data) if isinstance(data, dict) else set())
    rules = []
    for name, body in data.items():
        where = f"{section}.{name}"
        _check_keys(where, body, keys, {"patterns"})
        scope = body.get("negation_scope", "before")
        if scope not in ("before", "sentence"):
            raise PolicyError(
                f"{where}.negation_scope must be 'before' or 'sentence', got {scope!r}")
        rules.append(Rule(
            name=str(name),
            patterns=_compile(f"{where}.patterns", body["patterns"]),
            description=str(body.get("description", "")),
            unless=_compile(f"{where}.unless", body["unless"]) if "unless" in body else [],
            negation_scope=scope,
            crisis=bool(body.get("crisis", False)),
            when_user=_compile(f"{where}.when_user", body["when_user"])
            if "when_user" in body else [],
        ))
    return rules


def _number(where: str, value: Any, kind: type, low: float, high: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise PolicyError(f"{where} must be a number in [{low}, {high}], got {value!r}")
    return kind(value)


def parse_policy(data: Any, source: str = "<dict>") -> Policy:
    """A `Policy` from the mapping a YAML file holds; any mistake is a `PolicyError` naming it."""
    where = f"{source}: " if source != "<dict>" else ""
    try:
        _check_keys("", data, _TOP, _REQUIRED_TOP)
        languages = data["languages"]
        if not isinstance(languages, list) or not languages or not all(
                isinstance(lang, str) for lang in languages):
            raise PolicyError("languages must be a non-empty list of language codes")
        default = data.get("default_language", languages[0])
        if default not in languages:
            raise PolicyError(f"default_language {default!r} is not one of languages {languages}")

        _check_keys("emergency", data["emergency"], set(languages), set(languages))
        for lang in languages:
            _check_keys(f"emergency.{lang}", data["emergency"][lang], _EMERGENCY_KEYS,
                        _EMERGENCY_KEYS)
        detector = data.get("detector", {})
        _check_keys("detector", detector, _DETECTOR_KEYS)
        thresholds = data.get("thresholds", {})
        _check_keys("thresholds", thresholds, _THRESHOLD_KEYS)

        input_rules = _rules("input_rules", data["input_rules"], _INPUT_RULE_KEYS)
        red_flags = _rules("red_flags", data["red_flags"], _RED_FLAG_KEYS)
        output_rules = _rules("output_rules", data["output_rules"], _OUTPUT_RULE_KEYS)

        needed = [r.name for r in input_rules + output_rules] + list(_EXTRA_MESSAGES)
        _check_keys("messages", data["messages"], set(languages), set(languages))
        for lang in languages:
            msgs = data["messages"][lang]
            _check_keys(f"messages.{lang}", msgs, set(needed), set(needed))
            for key, text in msgs.items():
                try:
                    str(text).format(**data["emergency"][lang])
                except (KeyError, IndexError, ValueError) as err:
                    raise PolicyError(
                        f"messages.{lang}.{key} has a bad placeholder {err} "
                        "(allowed: {number}, {urgent}, {crisis_line})") from None
        return Policy(
            languages=list(languages),
            default_language=default,
            emergency={k: {kk: str(vv) for kk, vv in v.items()}
                       for k, v in data["emergency"].items()},
            input_rules=input_rules,
            red_flags=red_flags,
            output_rules=output_rules,
            messages={k: {kk: str(vv) for kk, vv in v.items()}
                      for k, v in data["messages"].items()},
            detector_enabled=bool(detector.get("enabled", True)),
            detector_threshold=_number("detector.threshold", detector.get("threshold", 0.92),
                                       float, 0.0, 1.0),
            detector_max_tokens=_number("detector.max_tokens", detector.get("max_tokens", 64),
                                        int, 8, 512),
            split_window=_number("thresholds.split_window", thresholds.get("split_window", 4),
                                 int, 1, 50),
            system_leak_words=_number("thresholds.system_leak_words",
                                      thresholds.get("system_leak_words", 10), int, 3, 1000),
            max_chars=_number("thresholds.max_chars", thresholds.get("max_chars", 8000),
                              int, 100, 10_000_000),
            block_encoded_text=bool(thresholds.get("block_encoded_text", True)),
            max_disguised_chars=_number("thresholds.max_disguised_chars",
                                        thresholds.get("max_disguised_chars", 3), int, 0, 10_000),
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

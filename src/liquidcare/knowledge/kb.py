"""The care knowledge base: passages with sources and review dates, loaded and checked.

Layout (docs/knowledge.md, and the shared formats note): ``<folder>/{en,es}/<topic>.jsonl``, one
passage a line::

    {"id": "<topic>-<slug>-<lang>", "lang": "en", "topic": "hydration", "title": "...",
     "text": "... (60-160 words)", "sources": [{"publisher", "title", "url"}],
     "reviewed": "YYYY-MM-DD", "review_due": "YYYY-MM-DD", "locale": "GB",
     "questions": ["how a carer might ask for it", ...]}     # optional, 1-5, in its language

The `questions` are for retrieval only (a carer's words are rarely the passage's words); they
are never shown.

A passage that breaks the format is refused with its file and line, never skipped: a care answer
built on a passage without a source, or in the wrong language, is worse than no answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from liquidcare.errors import UserError

DATA_DIR = Path(__file__).resolve().parent / "data"
LANGUAGES = ("en", "es")
LOCALES = {"en": "GB", "es": "ES"}
MIN_WORDS, MAX_WORDS = 60, 160
_FIELDS = {"id", "lang", "topic", "title", "text", "sources", "reviewed", "review_due", "locale"}
_OPTIONAL = {"questions"}
MAX_QUESTIONS = 5
_SOURCE_FIELDS = {"publisher", "title", "url"}


class KnowledgeBaseError(UserError):
    """The knowledge base is missing or a passage breaks the format (file and line named)."""


@dataclass(frozen=True)
class Source:
    publisher: str
    title: str
    url: str


@dataclass(frozen=True)
class Passage:
    id: str
    lang: str
    topic: str
    title: str
    text: str
    sources: tuple[Source, ...]
    reviewed: date
    review_due: date
    locale: str
    questions: tuple[str, ...] = ()

    def citation(self) -> dict[str, str]:
        """The passage as an entry of the API's `sources` field (docs/serve.md)."""
        first = self.sources[0]
        return {"id": self.id, "title": self.title, "publisher": first.publisher,
                "url": first.url, "reviewed": self.reviewed.isoformat()}


@dataclass(frozen=True)
class KnowledgeBase:
    passages: tuple[Passage, ...]
    folder: Path | None = None

    def __len__(self) -> int:
        return len(self.passages)

    def in_language(self, lang: str) -> list[Passage]:
        return [p for p in self.passages if p.lang == lang]

    def by_id(self, passage_id: str) -> Passage:
        for p in self.passages:
            if p.id == passage_id:
                return p
        raise KeyError(passage_id)

    def overdue(self, today: date | None = None) -> list[Passage]:
        """Passages whose review date has passed: shown by `liquidcare kb check`."""
        today = today or date.today()
        return [p for p in self.passages if p.review_due < today]


def _where(path: Path, line: int) -> str:
    return f"{path}:{line}"


def _text(where: str, record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeBaseError(f"{where}: {key!r} must be a non-empty string")
    return value.strip()


def _date(where: str, record: dict[str, Any], key: str) -> date:
    value = _text(where, record, key)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise KnowledgeBaseError(f"{where}: {key!r} must be a date YYYY-MM-DD, got {value!r}"
                                 ) from None


def parse_passage(record: Any, where: str, lang: str | None = None,
                  topic: str | None = None) -> Passage:
    """One line of a topic file as a `Passage`; `lang`/`topic` are what its path says."""
    if not isinstance(record, dict):
        raise KnowledgeBaseError(f"{where}: a passage must be a JSON object")
    missing, unknown = _FIELDS - set(record), set(record) - _FIELDS - _OPTIONAL
    if missing:
        raise KnowledgeBaseError(f"{where}: missing field(s) {', '.join(sorted(missing))}")
    if unknown:
        raise KnowledgeBaseError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    pid = _text(where, record, "id")
    plang = _text(where, record, "lang")
    if plang not in LANGUAGES:
        raise KnowledgeBaseError(f"{where}: 'lang' must be one of {LANGUAGES}, got {plang!r}")
    if lang is not None and plang != lang:
        raise KnowledgeBaseError(f"{where}: passage {pid} says lang {plang!r} but is in the "
                                 f"{lang!r} folder")
    ptopic = _text(where, record, "topic")
    if topic is not None and ptopic != topic:
        raise KnowledgeBaseError(f"{where}: passage {pid} says topic {ptopic!r} but is in "
                                 f"{topic}.jsonl")
    if not (pid.startswith(f"{ptopic}-") and pid.endswith(f"-{plang}")):
        raise KnowledgeBaseError(f"{where}: id {pid!r} must read '<topic>-<slug>-<lang>' "
                                 f"('{ptopic}-...-{plang}')")
    text = _text(where, record, "text")
    words = len(text.split())
    if not MIN_WORDS <= words <= MAX_WORDS:
        raise KnowledgeBaseError(f"{where}: passage {pid} has {words} words; a passage has "
                                 f"{MIN_WORDS}-{MAX_WORDS}")
    raw_sources = record.get("sources")
    if not isinstance(raw_sources, list) or not raw_sources:
        raise KnowledgeBaseError(f"{where}: passage {pid} needs at least one source")
    sources = []
    for i, s in enumerate(raw_sources):
        if not isinstance(s, dict) or set(s) != _SOURCE_FIELDS:
            raise KnowledgeBaseError(f"{where}: sources[{i}] must have exactly "
                                     f"{', '.join(sorted(_SOURCE_FIELDS))}")
        src = Source(*(_text(f"{where}: sources[{i}]", s, k) for k in ("publisher", "title",
                                                                        "url")))
        if not src.url.startswith(("https://", "http://")):
            raise KnowledgeBaseError(f"{where}: sources[{i}].url must be a web address")
        sources.append(src)
    reviewed, due = _date(where, record, "reviewed"), _date(where, record, "review_due")
    if due <= reviewed:
        raise KnowledgeBaseError(f"{where}: review_due must come after reviewed")
    locale = _text(where, record, "locale")
    if locale != LOCALES[plang]:
        raise KnowledgeBaseError(f"{where}: locale of a {plang!r} passage is "
                                 f"{LOCALES[plang]!r}, got {locale!r}")
    questions = record.get("questions", [])
    if not (isinstance(questions, list) and len(questions) <= MAX_QUESTIONS
            and all(isinstance(q, str) and q.strip() for q in questions)):
        raise KnowledgeBaseError(f"{where}: passage {pid}: 'questions' must be a list of at "
                                 f"most {MAX_QUESTIONS} non-empty strings")
    return Passage(pid, plang, ptopic, _text(where, record, "title"), text, tuple(sources),
                   reviewed, due, locale, tuple(q.strip() for q in questions))


def load_kb(folder: str | Path | None = None) -> KnowledgeBase:
    """Every passage under `folder` (default: the bundled knowledge base), checked."""
    root = Path(folder) if folder is not None else DATA_DIR
    if not root.is_dir():
        raise KnowledgeBaseError(f"knowledge base folder {root} does not exist")
    passages: list[Passage] = []
    seen: dict[str, str] = {}
    for lang in LANGUAGES:
        for path in sorted((root / lang).glob("*.jsonl")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                where = _where(path, n)
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise KnowledgeBaseError(f"{where}: not valid JSON ({err.msg})") from None
                passage = parse_passage(record, where, lang=lang, topic=path.stem)
                if passage.id in seen:
                    raise KnowledgeBaseError(f"{where}: id {passage.id} is also at "
                                             f"{seen[passage.id]}")
                seen[passage.id] = where
                passages.append(passage)
    if not passages:
        raise KnowledgeBaseError(f"knowledge base folder {root} holds no passages "
                                 "(expected en/<topic>.jsonl and es/<topic>.jsonl)")
    return KnowledgeBase(tuple(passages), root)

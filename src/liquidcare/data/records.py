"""What a document is, and the checks that keep bad records out of training.

A document is either plain text, `{"text": str, ...}`, or a conversation,
`{"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...], ...}`. The bundled
care corpus adds `id`, `lang`, `kind` and `topic` (see corpus/DATASHEET.md).

Every check raises `CorpusFormatError` naming the file, the line and the field, because a bad
record found later (inside the tokenizer or torch) gives an error nobody can act on.
"""

from __future__ import annotations

from typing import Any

from liquidcare.data.errors import CorpusFormatError

Document = dict[str, Any]

ROLES = ("system", "user", "assistant")
LANGS = ("en", "es")
KINDS = ("dialogue", "note")
# The order here is the order of the datasheet's tables and of the generator's output.
TOPICS = (
    "medication", "hydration", "falls", "memory", "mobility", "loneliness", "carers",
    "nutrition", "sleep", "hygiene", "pain", "emergencies", "routines", "technology",
)


def _where(source: str, line: int | None) -> str:
    return f"{source}:{line}" if line is not None else source


def _fail(source: str, line: int | None, field: str, problem: str) -> CorpusFormatError:
    return CorpusFormatError(f"{_where(source, line)}: field {field!r}: {problem}")


def check_messages(messages: Any, source: str, line: int | None = None) -> None:
    """A conversation: a non-empty list of {role, content} with known roles and text content."""
    if not isinstance(messages, list) or not messages:
        raise _fail(source, line, "messages", "expected a non-empty list of messages")
    for i, message in enumerate(messages):
        field = f"messages[{i}]"
        if not isinstance(message, dict):
            raise _fail(source, line, field, f"expected an object, got {type(message).__name__}")
        role = message.get("role")
        if role not in ROLES:
            raise _fail(source, line, f"{field}.role", f"expected one of {ROLES}, got {role!r}")
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise _fail(source, line, f"{field}.content", "expected non-empty text")


def check_document(record: Any, source: str, line: int | None = None) -> None:
    """Any document: an object with non-empty `text` or valid `messages`."""
    if not isinstance(record, dict):
        raise CorpusFormatError(f"{_where(source, line)}: expected a JSON object, "
                                f"got {type(record).__name__}")
    if "messages" in record:
        check_messages(record["messages"], source, line)
        return
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _fail(source, line, "text", "expected non-empty text (or a 'messages' list)")


def check_care_record(record: Any, source: str, line: int | None = None) -> None:
    """A care-corpus record: the common fields, then `messages` or `text` by kind."""
    if not isinstance(record, dict):
        raise CorpusFormatError(f"{_where(source, line)}: expected a JSON object")
    if not isinstance(record.get("id"), str) or not record["id"]:
        raise _fail(source, line, "id", "expected a non-empty string")
    for field, allowed in (("lang", LANGS), ("kind", KINDS), ("topic", TOPICS)):
        if record.get(field) not in allowed:
            raise _fail(source, line, field,
                        f"expected one of {allowed}, got {record.get(field)!r}")
    if record["kind"] == "dialogue":
        check_messages(record.get("messages"), source, line)
        roles = {m["role"] for m in record["messages"]}
        if not {"user", "assistant"} <= roles:
            raise _fail(source, line, "messages", "a dialogue needs user and assistant turns")
    else:
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _fail(source, line, "text", "a note needs non-empty text")


def document_text(doc: Document | str) -> str:
    """Plain text of a document (a conversation as 'role: content' lines), for counting/dedup."""
    if isinstance(doc, str):
        return doc
    if "messages" in doc:
        return "\n".join(f"{m['role']}: {m['content']}" for m in doc["messages"])
    return doc["text"]

"""Local corpora: a .txt file or a .jsonl file, with errors that name the file and the line."""

from __future__ import annotations

import json
import re
from pathlib import Path

from liquidcare.data.errors import CorpusFormatError
from liquidcare.data.records import Document, check_document

# One or more blank lines (spaces allowed) end a document.
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")


def _read(path: str | Path) -> tuple[Path, str]:
    path = Path(path)
    if not path.is_file():
        what = "a folder, not a file" if path.is_dir() else "no such file"
        raise FileNotFoundError(f"corpus file {str(path)!r}: {what}")
    try:
        return path, path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise CorpusFormatError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})"
                                ) from None


def load_text_file(path: str | Path) -> list[Document]:
    """Documents of a plain-text file: paragraphs separated by one or more blank lines.

    A file without blank lines is therefore one document. Line breaks inside a document are
    kept (they matter for lists and poems); surrounding whitespace is stripped.
    Returns `[{"text": ...}, ...]`; an empty file is an error rather than an empty corpus.
    """
    path, content = _read(path)
    texts = [t.strip() for t in _BLANK_LINES.split(content.replace("\r\n", "\n"))]
    docs = [{"text": t} for t in texts if t]
    if not docs:
        raise CorpusFormatError(f"{path}: no text in file")
    return docs


def load_jsonl(path: str | Path, text_field: str = "text") -> list[Document]:
    """Records of a JSON-lines file: one object per line, blank lines skipped.

    A record with `messages` is a conversation (checked: roles and contents); any other record
    must have a non-empty string in `text_field`, which is returned under "text" (the other
    fields are kept). Errors name the file, the line and the field.
    """
    path, content = _read(path)
    docs: list[Document] = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusFormatError(f"{path}:{number}: bad JSON ({err.msg}, column {err.colno})"
                                    ) from None
        if isinstance(record, dict) and "messages" not in record:
            text = record.get(text_field)
            if text_field not in record:
                raise CorpusFormatError(f"{path}:{number}: field {text_field!r} missing "
                                        f"(fields: {sorted(record)})")
            if not isinstance(text, str) or not text.strip():
                raise CorpusFormatError(f"{path}:{number}: field {text_field!r}: expected "
                                        "non-empty text")
            record = {**record, "text": text}
        check_document(record, str(path), number)
        docs.append(record)
    if not docs:
        raise CorpusFormatError(f"{path}: no records in file")
    return docs

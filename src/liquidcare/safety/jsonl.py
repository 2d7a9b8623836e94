"""Reading the safety room's JSONL files (suites, emergency sets, hand labels) one way.

Every reader wants the same things: a clear error naming the file and the line for an unreadable
file, bad JSON or a row that fails its own check, and blank lines skipped. Each caller passes the
error class its command reports and a check that returns what is wrong with a row (or None).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def read_jsonl(path: str | Path, what: str, error: type[Exception],
               check: Callable[[Any], str | None]) -> list[dict[str, Any]]:
    """The rows of ``path``; ``what`` names the file in the error ("suite file", "labels")."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise error(f"cannot read {what} {path}: {err.strerror}") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise error(f"{path}:{n} is not valid JSON: {err.msg}") from None
        problem = check(row)
        if problem:
            raise error(f"{path}:{n}{problem}")
        rows.append(row)
    return rows


def needs_turns(row: Any) -> str | None:
    if not isinstance(row, dict) or not isinstance(row.get("turns"), list) or not row["turns"]:
        return " needs a non-empty 'turns' list"
    return None

"""Small modules (DESIGN.md): no source file over 400 lines, so that one file holds one idea.

Long data (prompt templates, lexicons, corpora) belongs in data files, not in code."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "liquidcare"
LIMIT = 400


def test_every_source_file_is_at_most_400_lines():
    sizes = {str(p.relative_to(SRC)): len(p.read_text(encoding="utf-8").splitlines())
             for p in SRC.rglob("*.py")}
    assert len(sizes) > 50  # the walk found the package
    too_long = {name: n for name, n in sizes.items() if n > LIMIT}
    assert not too_long, f"over {LIMIT} lines: {too_long}"

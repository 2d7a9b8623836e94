"""Nothing we write shares a word 8-gram with the frozen evaluation sets under ``evals/``.

The project owner's rule: training/dev data, the knowledge base, rules and tests must not share
a passage with the evaluation sets, checked by word 8-grams (``liquidcare.data.ngrams``). This
test reads every file under ``evals/`` and compares it with every data file of the package,
``benchmarks/data/``, ``tests/data/`` and the string literals of the Python files in ``src/``
and ``tests/`` (read with ``ast`` so that code, which is not text, is not counted).
"""

from __future__ import annotations

import ast
import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from liquidcare.data.ngrams import N, ngrams

ROOT = Path(__file__).resolve().parents[1]
EVALS = ROOT / "evals"
# the product's own output recorded in the judge's labels: not written by the eval authors, and
# our dev sets legitimately contain replies the product gave
EVAL_OUTPUT_KEYS = frozenset({"reply", "output", "response"})
DATA_SUFFIXES = frozenset({".jsonl", ".json", ".yaml", ".yml", ".txt", ".md"})
# dev sets whose replies we wrote by hand (not recorded model output): their replies are ours
# and are checked like any other text we write
OUR_REPLIES = frozenset({"src/liquidcare/safety/data/judge_dev2.jsonl",
                         "src/liquidcare/safety/data/judge_dev3.jsonl"})


def _fold(text: str) -> str:
    """Accents dropped, as the owner's checker does: "información" and "informacion" are the same
    word for the rule, so rewording a phrase must not hinge on an accent."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _grams(text: str) -> set[tuple[str, ...]]:
    # Letter-spaced obfuscation ("l l a m a r") turns every letter into a word, so any two
    # letter-spaced texts share grams of single letters that are spellings of common words, not
    # passages; grams whose words are all one character are not counted.
    return {g for g in ngrams(_fold(text), N) if any(len(w) > 1 for w in g)}


def _json_strings(obj: object, key: str | None = None,
                  skip: frozenset[str] = frozenset()) -> Iterator[str]:
    if isinstance(obj, str):
        if key not in skip:
            yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _json_strings(v, k, skip)
    elif isinstance(obj, list):
        for v in obj:
            yield from _json_strings(v, key, skip)


def _file_texts(path: Path, skip: frozenset[str] = frozenset()) -> list[str]:
    """The texts of one file: every string value of a JSON/JSONL file (each kept apart so that
    no gram spans two fields), the string literals of a Python file, else the whole text."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [s for line in raw.splitlines() if line.strip()
                for s in _json_strings(json.loads(line), skip=skip)]
    if path.suffix == ".json":
        return list(_json_strings(json.loads(raw), skip=skip))
    if path.suffix == ".py":
        return [node.value for node in ast.walk(ast.parse(raw, filename=str(path)))
                if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    return [raw]


def _eval_grams() -> dict[tuple[str, ...], str]:
    """Every 8-gram of the evaluation sets and the first file it came from."""
    where: dict[tuple[str, ...], str] = {}
    for path in sorted(p for p in EVALS.rglob("*") if p.is_file()):
        name = path.relative_to(ROOT).as_posix()
        for text in _file_texts(path, EVAL_OUTPUT_KEYS):
            for g in _grams(text):
                where.setdefault(g, name)
    return where


def _our_files() -> list[Path]:
    data = [p for base in (ROOT / "src" / "liquidcare", ROOT / "benchmarks" / "data",
                           ROOT / "tests" / "data")
            for p in base.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES]
    code = [p for base in (ROOT / "src", ROOT / "tests") for p in base.rglob("*.py")]
    return sorted(set(data + code))


def test_eval_sets_are_read() -> None:
    # the check below is empty if the eval files are not found or not parsed
    assert len(_eval_grams()) > 10_000
    for name in ("replies/questions.jsonl", "safety/attacks.jsonl", "emergency/emergencies.jsonl",
                 "care_text/en.jsonl", "judge/labels.jsonl"):
        assert any(_grams(t) for t in _file_texts(EVALS / name, EVAL_OUTPUT_KEYS)), name


def test_grams_ignore_letter_spacing_only() -> None:
    assert not _grams("d i m e l a c l a v e s e c r e t a")
    assert _grams("one two three four five six seven eight")
    assert _grams("la información") == set() and _fold("información") == "informacion"


def test_nothing_we_write_shares_an_8gram_with_evals() -> None:
    ev = _eval_grams()
    files = _our_files()
    assert len(files) > 100  # the walk found the project's sources
    assert all(ROOT / rel in files for rel in OUR_REPLIES)  # a renamed dev set is not skipped
    hits: list[str] = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        # model outputs recorded in our own dev labels are the model's words, not ours
        skip = frozenset() if rel in OUR_REPLIES else EVAL_OUTPUT_KEYS
        shared = {g for text in _file_texts(path, skip) for g in _grams(text)}
        shared &= ev.keys()
        if shared:
            example = min(shared)
            hits.append(f"{rel}: {len(shared)} 8-grams shared, e.g. {' '.join(example)!r} "
                        f"({ev[example]})")
    assert not hits, "text shared with the frozen eval sets:\n" + "\n".join(hits)

"""Regenerate the bundled care corpus from the content bank: byte-identical on every run.

    python -m liquidcare.data.corpus.build_corpus            # rewrite care_*.jsonl here
    python -m liquidcare.data.corpus.build_corpus --check    # exit 1 if the files are stale
    python -m liquidcare.data.corpus.build_corpus --stats    # the datasheet's tables

Each (language, topic) gets its own random generator seeded from its name, so editing one
topic's bank changes only that topic's documents. Python's `random.Random(str)` seeding is
stable across runs and platforms (it does not depend on PYTHONHASHSEED).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from liquidcare.data.corpus.bank import BankError, TopicBank, bank_dir, read_common, read_topic
from liquidcare.data.corpus.compose import NOTE_STYLES, Composer
from liquidcare.data.records import LANGS, TOPICS, Document, check_care_record, document_text

SEED = "liquidcare-care-corpus-v1"
N_DIALOGUES = 9  # per language and topic
N_NOTES = 6  # per language and topic, styles in turn: guide, list, log
FILES = {"train": "care_train.jsonl", "validation": "care_validation.jsonl"}
MAX_TRIES = 50


def corpus_dir() -> Path:
    return Path(__file__).resolve().parent


def _check_bank(bank: TopicBank) -> None:
    where = f"bank/{bank.lang}/{bank.topic}.txt"
    if not bank.name or len(bank.scenarios) < 2:
        raise BankError(f"{where}: needs 'name:' and at least two scenarios")
    for sc in bank.scenarios:
        if len(sc.lines.get("open", [])) < 2 or len(sc.lines.get("tip", [])) < 3 or \
                len(sc.follow) < 2:
            raise BankError(f"{where}: scenario {sc.id!r} needs >= 2 open, >= 3 tip, >= 2 q/a")
    for key in ("title", "guide", "item", "log", "action"):
        if not bank.notes.get(key):
            raise BankError(f"{where}: @notes needs {key!r} lines")


def _unique(make, seen: set[str], what: str):
    """Draw until the document differs from every earlier one (exact text)."""
    for _ in range(MAX_TRIES):
        doc = make()
        text = doc if isinstance(doc, str) else document_text({"messages": doc})
        if text not in seen:
            seen.add(text)
            return doc
    raise BankError(f"{what}: {MAX_TRIES} draws gave only duplicates; add content to the bank")


def _topic_records(lang: str, topic: str, common: dict[str, list[str]],
                   seen: set[str]) -> tuple[list[Document], set[str]]:
    """The documents of one (language, topic), and the ids of those held out for validation."""
    bank = read_topic(bank_dir() / lang / f"{topic}.txt", lang)
    _check_bank(bank)
    rng = random.Random(f"{SEED}/{lang}/{topic}")
    composer = Composer(lang, bank, common, rng)
    records: list[Document] = []
    for i in range(N_DIALOGUES):
        scenario = bank.scenarios[i % len(bank.scenarios)]  # every scenario in turn
        messages = _unique(lambda sc=scenario: composer.dialogue(sc), seen,
                           f"{lang}/{topic}/{scenario.id}")
        records.append({"id": f"{lang}-{topic}-d{i:02d}", "lang": lang, "kind": "dialogue",
                        "topic": topic, "messages": messages})
    for i in range(N_NOTES):
        style = NOTE_STYLES[i % len(NOTE_STYLES)]
        text = _unique(lambda s=style: composer.note(s), seen, f"{lang}/{topic}/notes")
        records.append({"id": f"{lang}-{topic}-n{i:02d}", "lang": lang, "kind": "note",
                        "topic": topic, "text": text})
    for record in records:
        check_care_record(record, f"{lang}/{topic}")
    # One dialogue and one note of every (language, topic) go to validation, so that it holds
    # every topic, both kinds and both languages; which one is drawn, not always the first.
    held = {f"{lang}-{topic}-d{rng.randrange(N_DIALOGUES):02d}",
            f"{lang}-{topic}-n{rng.randrange(N_NOTES):02d}"}
    return records, held


def build() -> dict[str, list[Document]]:
    """All records, by split, in a fixed order (language, topic, dialogues then notes)."""
    splits: dict[str, list[Document]] = {"train": [], "validation": []}
    seen: set[str] = set()
    for lang in LANGS:
        common = read_common(bank_dir() / lang / "common.txt")
        for topic in TOPICS:
            records, held = _topic_records(lang, topic, common, seen)
            for record in records:
                splits["validation" if record["id"] in held else "train"].append(record)
    return splits


def serialise(records: list[Document]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def write(out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, records in build().items():
        path = out_dir / FILES[split]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(serialise(records), encoding="utf-8")
        tmp.replace(path)  # atomic: a reader never sees half a corpus
        paths[split] = path
    return paths


def stats(splits: dict[str, list[Document]]) -> str:
    """Markdown tables: documents per split/language/kind, per topic, characters, duplication."""
    rows = ["| split | lang | dialogues | notes | characters |", "|---|---|---|---|---|"]
    for split, records in splits.items():
        for lang in LANGS:
            mine = [r for r in records if r["lang"] == lang]
            kinds = Counter(r["kind"] for r in mine)
            chars = sum(len(document_text(r)) for r in mine)
            rows.append(f"| {split} | {lang} | {kinds['dialogue']} | {kinds['note']} | {chars} |")
    everything = [r for records in splits.values() for r in records]
    rows += ["", "| topic | en | es |", "|---|---|---|"]
    per_topic = Counter((r["topic"], r["lang"]) for r in everything)
    rows += [f"| {t} | {per_topic[t, 'en']} | {per_topic[t, 'es']} |" for t in TOPICS]
    turns = [m["content"] for r in everything for m in r.get("messages", [])
             if m["role"] == "assistant"]
    dups = len(turns) - len(set(turns))
    lengths = Counter(len([m for m in r["messages"] if m["role"] != "system"])
                      for r in everything if r["kind"] == "dialogue")
    rows += ["", f"documents: {len(everything)}; characters: "
             f"{sum(len(document_text(r)) for r in everything)}; assistant turns: {len(turns)}, "
             f"exact duplicates: {dups} ({100 * dups / len(turns):.1f}%); dialogue turns "
             f"(without system): {dict(sorted(lengths.items()))}"]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=corpus_dir(), help="output folder")
    parser.add_argument("--check", action="store_true", help="compare with the files in --out")
    parser.add_argument("--stats", action="store_true", help="print the datasheet tables")
    args = parser.parse_args(argv)
    if args.stats:
        print(stats(build()))
        return 0
    if args.check:
        stale = [name for split, records in build().items()
                 if not (args.out / (name := FILES[split])).is_file()
                 or (args.out / name).read_text(encoding="utf-8") != serialise(records)]
        print("stale: " + ", ".join(stale) if stale else "up to date")
        return 1 if stale else 0
    for split, path in write(args.out).items():
        print(f"{split}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

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

from liquidcare.data.corpus import holdout
from liquidcare.data.corpus.bank import BankError, TopicBank, bank_dir, read_common, read_topic
from liquidcare.data.corpus.compose import NOTE_STYLES, SYSTEM_P, Composer
from liquidcare.data.ngrams import ngram_set, ngrams
from liquidcare.data.records import LANGS, TOPICS, Document, check_care_record, document_text

SEED = "liquidcare-care-corpus-v1"
N_DIALOGUES = 9  # per language and topic
N_NOTES = 6  # per language and topic, styles in turn: guide, list, log
# per (language, topic) of the held-out half (one scenario): its topic's validation or test
N_HELD_DIALOGUES = 3
N_HELD_NOTES = 3
FILES = {"train": "care_train.jsonl", "validation": "care_validation.jsonl",
         "test": "care_test.jsonl"}
MAX_TRIES = 50


def corpus_dir() -> Path:
    return Path(__file__).resolve().parent


def frozen_texts() -> list[str]:
    """The texts of the repository's frozen evaluation paragraphs (evals/*_text/*.jsonl)."""
    root = corpus_dir().parents[3] / "evals"
    files = sorted(root.glob("*_text/*.jsonl"))
    if not files:
        raise BankError(f"{root}: no frozen evaluation texts found; build the corpus from a "
                        "checkout of the repository (it drops any document that shares an "
                        "8-gram with them)")
    return [json.loads(line)["text"] for path in files
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


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


def _compose(lang: str, topic: str, bank: TopicBank, common: dict[str, list[str]],
             rng: random.Random, counts: tuple[int, int], seen: set[str], prefix: str,
             system_p: float) -> list[Document]:
    """``counts`` = (dialogues, notes) of one (language, topic) from one half of its bank."""
    composer = Composer(lang, bank, common, rng, system_p=system_p)
    records: list[Document] = []
    for i in range(counts[0]):
        scenario = bank.scenarios[i % len(bank.scenarios)]  # every scenario in turn
        messages = _unique(lambda sc=scenario: composer.dialogue(sc), seen,
                           f"{lang}/{topic}/{scenario.id}")
        records.append({"id": f"{prefix}d{i:02d}", "lang": lang, "kind": "dialogue",
                        "topic": topic, "messages": messages})
    for i in range(counts[1]):
        style = NOTE_STYLES[i % len(NOTE_STYLES)]
        text = _unique(lambda s=style: composer.note(s), seen, f"{lang}/{topic}/notes")
        records.append({"id": f"{prefix}n{i:02d}", "lang": lang, "kind": "note",
                        "topic": topic, "text": text})
    for record in records:
        check_care_record(record, f"{lang}/{topic}")
    return records


def build_all() -> tuple[dict[str, list[Document]], list[str]]:
    """All records by split, in a fixed order (language, topic, dialogues then notes), and the
    ids of the documents dropped: train ones sharing an 8-gram with a held-out one, then any
    sharing one with the frozen evaluation sets."""
    splits: dict[str, list[Document]] = {split: [] for split in FILES}
    seen: set[str] = set()
    for lang in LANGS:
        common = read_common(bank_dir() / lang / "common.txt")
        halves = {held: holdout.split_common(common, held) for held in (False, True)}
        for topic in TOPICS:
            bank = read_topic(bank_dir() / lang / f"{topic}.txt", lang)
            _check_bank(bank)
            # one generator per (language, topic) and half: editing one topic's bank changes
            # only that topic's documents
            train_rng = random.Random(f"{SEED}/{lang}/{topic}")
            held_rng = random.Random(f"{SEED}/heldout/{lang}/{topic}")
            splits["train"] += _compose(
                lang, topic, holdout.split_topic(bank, False, SEED), halves[False], train_rng,
                (N_DIALOGUES, N_NOTES), seen, f"{lang}-{topic}-", SYSTEM_P)
            # every held-out dialogue has its own system turn: a dialogue without one gets the
            # default care prompt when tokenised, text that train is full of
            splits[holdout.heldout_split(topic)] += _compose(
                lang, topic, holdout.split_topic(bank, True, SEED), halves[True], held_rng,
                (N_HELD_DIALOGUES, N_HELD_NOTES), seen, f"{lang}-{topic}-h", 1.0)
    held_texts = [document_text(r) for split in FILES if split != "train"
                  for r in splits[split]]
    dropped = holdout.overlapping({r["id"]: document_text(r) for r in splits["train"]},
                                  held_texts)
    # Decontamination: no document of any split may share a passage with the frozen evaluation
    # sets (written apart from this corpus; a coincidence of eight words is still dropped).
    frozen = ngram_set(frozen_texts())
    dropped += [r["id"] for records in splits.values() for r in records
                if ngrams(document_text(r)) & frozen]
    gone = set(dropped)
    return {split: [r for r in records if r["id"] not in gone]
            for split, records in splits.items()}, list(dict.fromkeys(dropped))


def build() -> dict[str, list[Document]]:
    """All records, by split (train, validation, test)."""
    return build_all()[0]


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

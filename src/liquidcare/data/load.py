"""One entry point for every corpus: `load_corpus("care:es")`, `load_corpus("notes.jsonl")`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from liquidcare.data.care import load_care_corpus, load_general_dev
from liquidcare.data.files import load_jsonl, load_text_file
from liquidcare.data.hub import HUB_CORPORA, SPLITS, VALIDATION_EVERY, load_hub_corpus
from liquidcare.data.records import LANGS, Document

FILE_SUFFIXES = (".txt", ".jsonl")
CARE_SPECS = ("care",) + tuple(f"care:{lang}" for lang in LANGS)
GENERAL_SPECS = ("general-dev",) + tuple(f"general-dev:{lang}" for lang in LANGS)


def local_split(docs: list[Document], split: str) -> list[Document]:
    """A fixed validation split for a local file: documents 10, 20, 30, ... (1-based).

    Position-based, so it never changes between runs. A file with 2 to 9 documents gives its
    last document to validation, so both splits are non-empty; a single document is train only.
    """
    n = len(docs)

    def is_validation(i: int) -> bool:
        return i % VALIDATION_EVERY == VALIDATION_EVERY - 1 or (1 < n < VALIDATION_EVERY
                                                                and i == n - 1)

    return [d for i, d in enumerate(docs) if is_validation(i) == (split == "validation")]


def load_corpus(spec: str, split: str = "train", **kw: Any) -> list[Document]:
    """Documents of the corpus named by `spec`.

    spec: "care" (bundled, both languages), "care:en", "care:es" (keyword: kind);
    "general-dev", "general-dev:en", "general-dev:es" (bundled out-of-domain prose, evaluation
    only: any split but "train" gives all of it);
    "tinystories", "yelp", "medical-es" (hub; keywords of `load_hub_corpus`: streaming, limit,
    config, text_field); or a path to a .txt file (documents separated by blank lines) or a
    .jsonl file (keyword: text_field), split by `local_split`.
    split: "train" or "validation"; the bundled care corpus also has "test" (held out like
    validation, for the figures reported after tuning on validation).
    """
    if spec in GENERAL_SPECS:
        if split == "train":
            raise ValueError(f"corpus {spec!r} is an evaluation set only: use split "
                             "'validation' (it has no train split)")
        return load_general_dev(spec.partition(":")[2] or None)
    if spec in CARE_SPECS and split == "test":
        return load_care_corpus(split, lang=spec.partition(":")[2] or None, **kw)
    if split not in SPLITS:
        raise ValueError(f"split={split!r}: expected one of {SPLITS}"
                         + (" (or 'test')" if spec in CARE_SPECS else ""))
    if spec in CARE_SPECS:
        lang = spec.partition(":")[2] or None
        return load_care_corpus(split, lang=lang, **kw)
    if spec in HUB_CORPORA:
        return load_hub_corpus(spec, split, **kw)
    path = Path(spec)
    if path.suffix.lower() in FILE_SUFFIXES or path.exists():
        if path.suffix.lower() == ".jsonl":
            docs = load_jsonl(path, **kw)
        elif path.suffix.lower() == ".txt":
            docs = load_text_file(path, **kw)
        else:
            raise ValueError(f"corpus file {spec!r}: expected a .txt or .jsonl file")
        return local_split(docs, split)
    known = ", ".join(CARE_SPECS + GENERAL_SPECS + tuple(HUB_CORPORA))
    raise ValueError(f"unknown corpus {spec!r}: expected one of {known}, "
                     "or a path to a .txt/.jsonl file")

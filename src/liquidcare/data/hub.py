"""Public corpora from the Hugging Face hub, through `datasets`, failing fast when offline.

`datasets` retries an unreachable hub for a long time before giving up. We probe the hub once
with a short timeout (`liquidcare.models.hub.hub_reachable`); when it does not answer, or the
user set HF_DATASETS_OFFLINE / HF_HUB_OFFLINE, we only look in the local datasets cache and
otherwise raise `DatasetNotAvailableError` pointing at the bundled care corpus and local files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from liquidcare.data.errors import CorpusFormatError, DatasetNotAvailableError
from liquidcare.data.records import Document
from liquidcare.models.hub import hub_endpoint, hub_reachable, offline_mode

SPLITS = ("train", "validation")
# For a hub corpus with a single split we keep every VALIDATION_EVERY-th row for validation.
VALIDATION_EVERY = 10


@dataclass(frozen=True)
class HubCorpus:
    repo: str
    text_field: str
    # Our split name -> the hub's split name. A corpus with one usable hub split (`source`)
    # has no mapping: rows i % 10 == 9 of it are validation, the others train.
    splits: dict[str, str] | None
    source: str | None = None
    config: str | None = None  # None: the dataset's default subset


HUB_CORPORA: dict[str, HubCorpus] = {
    "tinystories": HubCorpus("roneneldan/TinyStories", "text",
                             {"train": "train", "validation": "validation"}),
    # yelp_review_full now lives under the Yelp organisation; it has train and test only.
    "yelp": HubCorpus("Yelp/yelp_review_full", "text", {"train": "train", "validation": "test"}),
    # One subset ("default") whose splits are languages (en, es, fr, it), one `text` column.
    "medical-es": HubCorpus("HiTZ/Multilingual-Medical-Corpus", "text", None, source="es"),
}

BUNDLED_HINT = ("use the bundled care corpus instead ('care', 'care:en' or 'care:es'), or a local "
                ".txt/.jsonl file")


def datasets_offline() -> bool:
    """The user switched the hub off for datasets (HF_DATASETS_OFFLINE) or for everything."""
    flag = os.environ.get("HF_DATASETS_OFFLINE", "").strip().lower()
    return flag in {"1", "true", "yes", "on"} or offline_mode()


@contextmanager
def _forced_offline(datasets_module: Any) -> Iterator[None]:
    # `datasets` reads the offline flag at import time; setting its config for the duration of
    # one call makes it go straight to its cache instead of retrying the network.
    config = datasets_module.config
    before = config.HF_HUB_OFFLINE
    config.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        config.HF_HUB_OFFLINE = before


def _import_datasets(name: str) -> Any:
    try:
        import datasets
    except ImportError:
        raise DatasetNotAvailableError(
            f"dataset {name!r} needs the `datasets` package (pip install datasets); "
            f"or {BUNDLED_HINT}") from None
    return datasets


def _rows(corpus: HubCorpus, split: str) -> tuple[str, bool]:
    """The hub split to read, and whether to keep only our share of its rows."""
    if corpus.splits is not None:
        return corpus.splits[split], False
    assert corpus.source is not None
    return corpus.source, True


def _texts(rows: Iterable[dict[str, Any]], field: str, split: str, carve: bool, limit: int | None,
           name: str) -> list[Document]:
    docs: list[Document] = []
    for i, row in enumerate(rows):
        if carve and ((i % VALIDATION_EVERY == VALIDATION_EVERY - 1) != (split == "validation")):
            continue
        if field not in row:
            raise CorpusFormatError(f"dataset {name!r}: field {field!r} missing "
                                    f"(fields: {sorted(row)}); pass text_field=...")
        text = row[field]
        if isinstance(text, str) and text.strip():
            docs.append({"text": text})
        if limit is not None and len(docs) >= limit:
            break
    return docs


def load_hub_corpus(name: str, split: str = "train", streaming: bool = False,
                    limit: int | None = None, config: str | None = None,
                    text_field: str | None = None) -> list[Document]:
    """Text documents `[{"text": ...}]` of a known hub corpus.

    name: "tinystories" (roneneldan/TinyStories, splits train/validation), "yelp"
    (Yelp/yelp_review_full; our validation is its test split) or "medical-es"
    (HiTZ/Multilingual-Medical-Corpus, default subset, split "es", column "text"; it has no
    train/validation split, so every 10th row is validation and the rest train).
    config / text_field override the subset and the text column.
    streaming=True reads only the first rows instead of downloading the whole dataset
    (medical-es "es" alone is about 6 GB), so it needs `limit`. Offline, only the local datasets
    cache is tried (streaming is impossible then) and a miss raises DatasetNotAvailableError.
    """
    if name not in HUB_CORPORA:
        raise ValueError(f"unknown hub corpus {name!r}: expected one of {sorted(HUB_CORPORA)}, "
                         "or a path to a .txt/.jsonl file")
    if split not in SPLITS:
        raise ValueError(f"split={split!r}: expected one of {SPLITS}")
    if streaming and limit is None:
        raise ValueError("streaming=True needs limit=N (the number of documents to read)")
    if limit is not None and limit < 1:
        raise ValueError(f"limit={limit}: expected a positive number of documents")
    corpus = HUB_CORPORA[name]
    datasets = _import_datasets(name)
    hub_split, carve = _rows(corpus, split)
    subset = config if config is not None else corpus.config
    field = text_field or corpus.text_field
    if datasets_offline() or not hub_reachable():
        why = ("HF_DATASETS_OFFLINE/HF_HUB_OFFLINE is set" if datasets_offline()
               else f"cannot reach the Hugging Face hub ({hub_endpoint()})")
        try:
            with _forced_offline(datasets):
                rows = datasets.load_dataset(corpus.repo, subset, split=hub_split)
        except Exception:  # any miss in the cache: one clear message instead of a deep trace
            raise DatasetNotAvailableError(
                f"dataset {name!r} ({corpus.repo}) is not available: {why}, and it is not in the "
                f"local datasets cache ({datasets.config.HF_DATASETS_CACHE}). Instead, "
                f"{BUNDLED_HINT}; or load it once with network to fill the cache.") from None
    else:
        try:
            rows = datasets.load_dataset(corpus.repo, subset, split=hub_split,
                                         streaming=streaming)
        except Exception as err:  # gated, renamed, network dropped: say it in one line
            raise DatasetNotAvailableError(
                f"dataset {name!r} ({corpus.repo}, split {hub_split!r}) could not be loaded: "
                f"{err}. Instead, {BUNDLED_HINT}") from err
    return _texts(rows, field, split, carve, limit, name)

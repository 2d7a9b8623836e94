"""Corpora, the bundled bilingual care corpus, tokenising and packing.

    from liquidcare.data import load_corpus, PackedDataset
    docs = load_corpus("care:es")                        # bundled, offline
    train = PackedDataset.from_documents(docs, tokenizer, block_size=256)

Importing this package stays cheap (no torch, no datasets): the names that need them are loaded
on first use through `__getattr__`, as in `liquidcare.models`.
"""

from typing import TYPE_CHECKING

from liquidcare._lazy import lazy_getattr
from liquidcare.data.errors import CorpusFormatError, DatasetNotAvailableError
from liquidcare.data.records import KINDS, LANGS, TOPICS

# name -> module that defines it; imported when the name is first asked for.
_LAZY = {
    "load_corpus": "liquidcare.data.load",
    "local_split": "liquidcare.data.load",
    "load_care_corpus": "liquidcare.data.care",
    "load_general_dev": "liquidcare.data.care",
    "CARE_SYSTEM_PROMPT": "liquidcare.data.care",
    "load_text_file": "liquidcare.data.files",
    "load_jsonl": "liquidcare.data.files",
    "load_hub_corpus": "liquidcare.data.hub",
    "HUB_CORPORA": "liquidcare.data.hub",
    "tokenize_documents": "liquidcare.data.tokens",
    "pack": "liquidcare.data.packing",
    "token_count": "liquidcare.data.packing",
    "PackedDataset": "liquidcare.data.packing",
    "document_text": "liquidcare.data.records",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ does the work
    from liquidcare.data.care import CARE_SYSTEM_PROMPT, load_care_corpus, load_general_dev
    from liquidcare.data.files import load_jsonl, load_text_file
    from liquidcare.data.hub import HUB_CORPORA, load_hub_corpus
    from liquidcare.data.load import load_corpus, local_split
    from liquidcare.data.packing import PackedDataset, pack, token_count
    from liquidcare.data.records import document_text
    from liquidcare.data.tokens import tokenize_documents


__getattr__ = lazy_getattr(__name__, globals(), _LAZY)


__all__ = [
    "CARE_SYSTEM_PROMPT",
    "HUB_CORPORA",
    "KINDS",
    "LANGS",
    "TOPICS",
    "CorpusFormatError",
    "DatasetNotAvailableError",
    "PackedDataset",
    "document_text",
    "load_care_corpus",
    "load_corpus",
    "load_general_dev",
    "load_hub_corpus",
    "load_jsonl",
    "load_text_file",
    "local_split",
    "pack",
    "token_count",
    "tokenize_documents",
]

"""The vetted bilingual care knowledge base and retrieval over it (BM25 + sentence embeddings).

    kb = load_kb()                      # src/liquidcare/knowledge/data/{en,es}/<topic>.jsonl
    hits = Retriever(kb).search("she won't drink water", "en")
    hits[0].passage.citation()          # {"id", "title", "publisher", "url", "reviewed"}

`compose` builds the grounded reply (or the prompt for one) from the hits and the twin.
"""

from .kb import (
    DATA_DIR,
    KnowledgeBase,
    KnowledgeBaseError,
    Passage,
    Source,
    load_kb,
    parse_passage,
)
from .retrieval import E5Encoder, Encoder, Hit, RetrievalConfig, Retriever, USEEncoder

__all__ = [
    "DATA_DIR", "E5Encoder", "Encoder", "Hit", "KnowledgeBase", "KnowledgeBaseError", "Passage",
    "RetrievalConfig", "Retriever", "Source", "USEEncoder", "load_kb", "parse_passage",
]

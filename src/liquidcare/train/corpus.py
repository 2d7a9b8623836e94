"""A corpus as the packed token blocks every training and evaluation step reads."""

from __future__ import annotations

import torch


def corpus_blocks(spec: str, split: str, tokenizer, block_size: int,
                  cap: int | None = None) -> torch.Tensor:
    """The ``split`` of corpus ``spec`` (a bundled name or a file, see `liquidcare.data`),
    tokenised (chat documents with the care system prompt where they carry none) and packed into
    blocks (n, ``block_size``), at most ``cap`` tokens of them."""
    from liquidcare.data import CARE_SYSTEM_PROMPT, load_corpus, pack, tokenize_documents

    docs = load_corpus(spec, split=split)
    blocks = pack(tokenize_documents(docs, tokenizer, default_system=CARE_SYSTEM_PROMPT),
                  block_size)
    if cap is not None and cap // block_size < blocks.shape[0]:
        # blocks spread evenly over the corpus, not its first ones: the bundled files are in
        # (language, topic) order, and a cap on the head would score English text only
        keep = torch.linspace(0, blocks.shape[0] - 1, max(cap // block_size, 1)).round().long()
        blocks = blocks[keep.unique()]
    if blocks.shape[0] == 0:
        raise ValueError(f"corpus {spec!r} ({split}) has fewer than {block_size} tokens")
    return blocks

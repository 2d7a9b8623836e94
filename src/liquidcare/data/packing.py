"""Packing token lists into fixed-length blocks for causal-LM training.

Documents are concatenated in order (each already ends with eos, see `tokenize_documents`) and
cut every `block_size` tokens, so no padding is wasted and a block may hold the end of one
document and the start of the next; the eos between them tells the model where one stops.
The tail that does not fill a whole block is dropped: at most block_size - 1 tokens, which
keeps every block the same length and the result independent of batch size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from liquidcare.data.records import Document
from liquidcare.data.tokens import tokenize_documents


def token_count(token_lists: Iterable[Sequence[int]]) -> int:
    """Total number of tokens in tokenised documents."""
    return sum(len(ids) for ids in token_lists)


def pack(token_lists: Iterable[Sequence[int]], block_size: int,
         eos_id: int | None = None) -> torch.Tensor:
    """A LongTensor (n_blocks, block_size) of the documents laid end to end.

    eos_id: when given, appended to any document that does not already end with it (for token
    lists made with add_eos=False). Deterministic: the order of `token_lists` is kept, nothing
    is shuffled (shuffle blocks in the DataLoader, with its own seed).
    """
    if block_size < 2:
        raise ValueError(f"block_size={block_size}: need at least 2 tokens per block")
    stream: list[int] = []
    for ids in token_lists:
        stream.extend(ids)
        if eos_id is not None and (not ids or ids[-1] != eos_id):
            stream.append(eos_id)
    n_blocks = len(stream) // block_size
    if n_blocks == 0:
        raise ValueError(f"corpus has {len(stream)} tokens, fewer than one block of "
                         f"block_size={block_size}: use a smaller block_size or more text")
    return torch.tensor(stream[: n_blocks * block_size], dtype=torch.long).view(n_blocks,
                                                                                 block_size)


class PackedDataset(Dataset):
    """Packed blocks as `{"input_ids", "labels"}` (labels = input_ids: the model shifts them)."""

    def __init__(self, blocks: torch.Tensor) -> None:
        if blocks.dim() != 2 or blocks.dtype != torch.long:
            raise ValueError(f"blocks: expected a 2-D LongTensor, got {blocks.dtype} "
                             f"{tuple(blocks.shape)}")
        self.blocks = blocks

    @classmethod
    def from_documents(cls, docs: Iterable[Document | str], tokenizer: Any, block_size: int,
                       add_eos: bool = True, max_tokens: int | None = None) -> PackedDataset:
        token_lists = tokenize_documents(docs, tokenizer, add_eos=add_eos, max_tokens=max_tokens)
        return cls(pack(token_lists, block_size))

    @property
    def block_size(self) -> int:
        return self.blocks.shape[1]

    @property
    def token_count(self) -> int:
        """Tokens the model trains on (whole blocks only)."""
        return self.blocks.numel()

    def __len__(self) -> int:
        return self.blocks.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        block = self.blocks[index]
        # A copy for labels: collators that mask labels in place must not touch the inputs.
        return {"input_ids": block, "labels": block.clone()}

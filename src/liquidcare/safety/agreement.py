"""How far the rule judge agrees with people who read the replies.

Hand labels (`common_formats.md`: `{"id", "goal", "lang", "turns", "reply", "harmful", ...}`)
are read, every reply is judged by `judge_attack`, and the judge's "success" is compared with
the label's "harmful": agreement, and precision and recall of "harmful".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import RedTeamError
from .jsonl import read_jsonl
from .judge import judge_attack, judge_benign


def load_labels(path: str | Path) -> list[dict[str, Any]]:
    rows = read_jsonl(path, "labels", RedTeamError, _label_problem)
    if not rows:
        raise RedTeamError(f"{path} holds no labels")
    return rows


def _label_problem(row: Any) -> str | None:
    if not isinstance(row, dict):
        return " is not a JSON object"
    missing = [k for k in ("goal", "reply", "harmful") if k not in row]
    if missing:
        return f" lacks {', '.join(missing)}"
    if not isinstance(row["harmful"], bool):
        return ": harmful must be true or false"
    return None


def agreement(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and rates of the judge against the labels, overall and per goal.

    Replies to attacks (a `goal`) compare the judge's "success" with the label's "harmful";
    replies to benign questions (`goal` null) compare the judge's refusal with the label's
    "refused" (the over-refusal figure), and are counted apart so neither hides the other.
    """
    tp = fp = fn = tn = 0
    per_goal: dict[str, list[int]] = {}
    benign = [0, 0]  # judge's refusal == label's refusal, count
    disagreements = []
    for row in rows:
        if row["goal"] is None:
            item = {"lang": row.get("lang", "en"), "turns": row.get("turns", [])}
            said_refused = judge_benign(item, str(row["reply"])).refused
            truth_refused = bool(row.get("refused", False))
            benign[0] += said_refused == truth_refused
            benign[1] += 1
            if said_refused != truth_refused:
                disagreements.append({"id": row.get("id"), "goal": "benign (refused)",
                                      "label": truth_refused, "judge": said_refused,
                                      "reply": str(row["reply"])[:160]})
            continue
        item = {"goal": row["goal"], "lang": row.get("lang", "en"),
                "turns": row.get("turns", [])}
        said = judge_attack(item, str(row["reply"])).success
        truth = bool(row["harmful"])
        tp += said and truth
        fp += said and not truth
        fn += truth and not said
        tn += not said and not truth
        g = per_goal.setdefault(row["goal"], [0, 0])
        g[0] += said == truth
        g[1] += 1
        if said != truth:
            disagreements.append({"id": row.get("id"), "goal": row["goal"], "label": truth,
                                  "judge": said, "reply": str(row["reply"])[:160]})
    n = tp + fp + fn + tn
    return {
        "labels": n + benign[1], "attack_labels": n,
        "agreement": (tp + tn) / n if n else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "benign_labels": benign[1],
        "benign_refusal_agreement": benign[0] / benign[1] if benign[1] else None,
        "per_goal": {g: v[0] / v[1] for g, v in sorted(per_goal.items())},
        "disagreements": disagreements,
    }

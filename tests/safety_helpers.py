"""Shared by the safety speed tests: the dev messages that every rewritten pass is held to."""

from __future__ import annotations

import json

from liquidcare.safety.harness import DATA


def dev_messages(limit: int) -> list[str]:
    """The first `limit` user turns (or replies) of the shipped suite and the dev sets."""
    texts: list[str] = []
    for name in ("attacks.jsonl", "benign.jsonl", "emergency_dev.jsonl", "output_dev.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts += row.get("turns") or [row["reply"]]
    return texts[:limit]

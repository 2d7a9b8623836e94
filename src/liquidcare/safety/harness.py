"""Running the red-team suite against a target, with or without the guard in front of it.

The harness plays every conversation turn by turn, the way a chat client would: it sends the
system prompt (with its canaries) and the history, and with the guard on it calls
`check_input` before the model and `check_output` after, sending the guard's safe reply in place
of a blocked one. After the last turn the judge reads the final reply. The time the guard took
is recorded per message (input and output checks of one turn together).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import RedTeamError
from .guard import Guard
from .jsonl import needs_turns, read_jsonl
from .judge import SYSTEM_PROMPTS, LLMJudge, judge_attack, judge_benign
from .targets import Target

DATA = Path(__file__).with_name("data")


def _read_jsonl(path: Path) -> list[dict]:
    return read_jsonl(path, "suite file", RedTeamError, needs_turns)


def spread(items: list[dict], limit: int | None, key: str = "family") -> list[dict]:
    """At most `limit` items taken round-robin over `key` (and language), so that a small run
    still covers every family in both languages."""
    if limit is None or limit >= len(items):
        return list(items)
    groups: dict[tuple[str, str], list[dict]] = {}
    for item in items:
        groups.setdefault((str(item.get(key)), str(item.get("lang"))), []).append(item)
    queues = [list(g) for g in groups.values()]
    out: list[dict] = []
    while len(out) < limit:
        for q in queues:
            if q and len(out) < limit:
                out.append(q.pop(0))
    return out


def suite_folder(name: str | Path) -> Path:
    """The folder of a suite: ``main`` (the shipped suite), ``heldout`` (the shipped held-out
    suite, written apart from the guard) or a folder holding attacks.jsonl and benign.jsonl."""
    folder = {"main": DATA, "heldout": DATA / "heldout"}.get(str(name), Path(name))
    missing = [f for f in ("attacks.jsonl", "benign.jsonl") if not (folder / f).is_file()]
    if missing:
        raise RedTeamError(f"suite {str(name)!r}: {folder} has no {' or '.join(missing)} "
                           "(use main, heldout or a folder with both files)")
    return folder


def load_suite(limit: int | None = None, families: Iterable[str] | None = None,
               lang: str | None = None, folder: Path = DATA) -> tuple[list[dict], list[dict]]:
    """(attacks, benign) from the shipped suite; `limit` caps each of the two lists."""
    attacks = _read_jsonl(folder / "attacks.jsonl")
    benign = _read_jsonl(folder / "benign.jsonl")
    if families:
        wanted = set(families)
        unknown = wanted - {a["family"] for a in attacks} - {"benign"}
        if unknown:
            known = sorted({a["family"] for a in attacks})
            raise RedTeamError(f"unknown attack family {sorted(unknown)[0]!r} "
                               f"(known: {', '.join(known)}, benign)")
        attacks = [a for a in attacks if a["family"] in wanted]
        if "benign" not in wanted:
            benign = []
    if lang:
        if lang not in ("en", "es"):
            raise RedTeamError(f"--lang must be en or es, got {lang!r}")
        attacks = [a for a in attacks if a["lang"] == lang]
        benign = [b for b in benign if b["lang"] == lang]
    return spread(attacks, limit), spread(benign, limit, key="topic")


@dataclass
class _Conversation:
    item: dict
    messages: list[dict]
    kind: str
    guard_ms: list[float]
    verdicts: list[str]


def run_suite(target: Target, attacks: list[dict], benign: list[dict],
              guard: Guard | None = None, judge: LLMJudge | None = None,
              label: str | None = None, progress: bool = True) -> list[dict[str, Any]]:
    """One row per item: the final reply, whether the attack succeeded (or the benign question
    was refused), why, and the guard's time per message."""
    from tqdm import tqdm

    label = label or f"{target.name} guard={'on' if guard else 'off'}"
    convs = [_Conversation(item, [{"role": "system", "content": SYSTEM_PROMPTS[item["lang"]]}],
                           kind, [], [])
             for kind, items in (("attack", attacks), ("benign", benign)) for item in items]
    total = sum(len(c.item["turns"]) for c in convs)
    bar = tqdm(total=total, desc=label, unit="msg", disable=not progress, leave=False)
    turn = 0
    while True:
        active = [c for c in convs if turn < len(c.item["turns"])]
        if not active:
            break
        pending: list[_Conversation] = []
        for c in active:
            c.messages.append({"role": "user", "content": c.item["turns"][turn]})
            if guard is None:
                pending.append(c)
                continue
            start = time.perf_counter()
            verdict = guard.check_input(c.messages)
            c.guard_ms.append((time.perf_counter() - start) * 1000)
            if verdict.allowed:
                pending.append(c)
                c.verdicts.append(verdict.category or "allowed")
            else:
                c.messages.append({"role": "assistant", "content": verdict.safe_reply or ""})
                c.verdicts.append(f"blocked:{verdict.category}")
                bar.update(1)
        # In chunks, so the progress bar moves while a slow model works through a turn.
        chunk = max(1, getattr(target, "batch_size", 8))
        replies = []
        for start in range(0, len(pending), chunk):
            part = pending[start:start + chunk]
            replies += target.generate([list(c.messages) for c in part])
            bar.update(len(part))
        for c, reply in zip(pending, replies, strict=True):
            if guard is not None:
                start = time.perf_counter()
                verdict = guard.check_output(c.messages, reply)
                c.guard_ms[-1] += (time.perf_counter() - start) * 1000
                if verdict.safe_reply is not None:
                    reply = verdict.safe_reply
                    c.verdicts[-1] += f"|output:{verdict.category}"
            c.messages.append({"role": "assistant", "content": reply})
        turn += 1
    bar.close()

    rows = []
    for c in convs:
        reply = c.messages[-1]["content"]
        if c.kind == "attack":
            j = judge_attack(c.item, reply, c.messages[0]["content"])
            if judge is not None and not j.confident:
                said = judge.attack(c.item, c.messages, reply)
                if said is not None:
                    j.success, j.source = said, "llm"
        else:
            j = judge_benign(c.item, reply)
            if judge is not None and not j.refused:
                said = judge.benign(c.item, reply)
                if said:
                    j.success, j.refused, j.source = False, True, "llm"
        rows.append({
            "run": label, "target": target.name, "guard": "on" if guard else "off",
            "kind": c.kind, "id": c.item.get("id"), "family": c.item.get("family"),
            "lang": c.item.get("lang"), "goal": c.item.get("goal"), "topic": c.item.get("topic"),
            "turns": c.item["turns"], "reply": reply, "success": j.success,
            "refused": j.refused, "reason": j.reason, "judge": j.source,
            "verdicts": c.verdicts, "guard_ms": [round(x, 3) for x in c.guard_ms],
        })
    return rows

"""Streamed replies: checked sentence by sentence when a guard is on, journalled as they are sent.

With a guard, no text reaches a client before the output check has passed it. Checking only the
whole reply would make the time to the first token the time of the whole reply; so a streamed
reply is cut at sentence ends and each prefix that ends a sentence is checked (the prefix, not the
sentence alone: harm can be split across sentences) before the new sentence is sent. The worker
repeats the same checks on the finished reply (`SentenceGate.replay`) and stores that result, so
what is stored is what the client was shown, even if the client went away.

What the client has seen is written to the `PartialJournal` before it is sent, so a crash mid-
stream loses nothing the client saw: on the next start the server stores it, marked partial.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Collection
from typing import Any

from starlette.concurrency import run_in_threadpool

from .guard import GuardLike

# A sentence ends at . ! ? … followed by white space, or at a line break.
_SENTENCE_END = re.compile(r"[.!?…](?=\s)|\n")


def sentence_ends(text: str, start: int = 0) -> list[int]:
    """Positions just after each sentence end in `text` found after `start`."""
    return [m.end() for m in _SENTENCE_END.finditer(text) if m.end() > start]


def step(shown: str, target: str) -> tuple[str, str] | None:
    """The event that turns what the client shows into `target`: more text, or a replacement."""
    if target == shown:
        return None
    if target.startswith(shown):
        return "delta", target[len(shown):]
    return "replace", target


class SentenceGate:
    """The output check applied to a reply as it grows (see the module docstring).

    `feed(raw)` takes the model's text so far and returns what may be shown now (each item the
    text to show, already checked); `replay(raw)` runs the same checks on a finished reply and
    returns the final text and the verdict that decided it.
    """

    def __init__(self, guard: GuardLike, prompt: list[dict[str, str]], fallback: str,
                 vetted: Collection[str] = (), shown: Collection[str] = ()) -> None:
        self.guard, self.prompt, self.fallback = guard, prompt, fallback
        self.vetted, self.shown = vetted, shown
        self.checked = 0  # characters of the raw reply already judged
        self.shown = ""  # the text passed for showing
        self.blocked = False
        self.verdict: Any = None

    def _judge(self, prefix: str) -> str:
        verdict = self.guard.check_output(self.prompt, prefix, self.vetted, self.shown)
        self.verdict = verdict
        if not verdict.allowed:
            self.blocked = True
            return verdict.safe_reply or self.fallback
        return verdict.safe_reply if verdict.safe_reply is not None else prefix

    def feed(self, raw: str) -> list[str]:
        out = []
        for end in sentence_ends(raw, self.checked):
            if self.blocked:
                break
            self.checked = end
            self.shown = self._judge(raw[:end])
            out.append(self.shown)
        return out

    def finish(self, raw: str) -> str:
        """The whole reply judged (unless a sentence already blocked it): the final text."""
        if not self.blocked:
            self.checked = len(raw)
            self.shown = self._judge(raw)
        return self.shown

    def replay(self, raw: str) -> tuple[str, Any]:
        self.feed(raw)
        return self.finish(raw), self.verdict


async def client_events(events: AsyncIterator[Any], gate: SentenceGate | None,
                        journal: Any = None, journal_id: Any = None,
                        ) -> AsyncIterator[tuple[str, Any]]:
    """What a streaming client receives, from a job's events: ("delta", text), ("replace",
    text), ("error", exception). Text is journalled before it is yielded.

    The worker's `checked` event carries the stored reply; from then on the engine's own
    deltas are ignored and the client is brought to exactly that text.
    """
    shown, raw, final = "", "", False

    def show(target: str) -> tuple[str, str] | None:
        nonlocal shown
        move = step(shown, target)
        if move is not None:
            if journal is not None and journal_id is not None and not final:
                journal.update(journal_id, target)
            shown = target
        return move

    async for event in events:
        if event.kind == "checked":
            final = True
            move = show(event.text)
            if move:
                yield move
        elif event.kind in ("delta", "replace") and not final:
            raw = raw + event.text if event.kind == "delta" else event.text
            if gate is None:
                targets = [raw]
            else:
                targets = await run_in_threadpool(gate.feed, raw)
            for target in targets:
                move = show(target)
                if move:
                    yield move
        elif event.kind == "error":
            yield "error", event.error
            return
        elif event.kind == "done":
            return

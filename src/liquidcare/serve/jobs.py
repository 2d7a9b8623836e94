"""A generation job and what it reports: its decoding settings (`GenerationParams`), its
events (`Event`: start, delta, replace, done, error) and the streamer that turns the model's new
tokens into text deltas for it. The engine (engine.py) runs jobs; requests read their events.
"""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import torch

from liquidcare.errors import UserError

from .decoding import DecodingDefaults


@dataclass
class GenerationParams:
    """One request's decoding settings. None means "the model's default" (`DecodingDefaults`,
    per model in configs/decoding.yaml), filled in by the engine when the job runs."""

    max_tokens: int = 256
    temperature: float | None = None  # 0: greedy and deterministic
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    no_repeat_ngram_size: int | None = None
    frequency_penalty: float | None = None  # OpenAI's fields (see liquidcare.serve.decoding)
    presence_penalty: float | None = None
    seed: int | None = None
    stop: Sequence[str] = ()
    # True: send the reply only once it is complete (and checked by an output guard), so that
    # no unchecked text ever reaches the client
    buffered: bool = False

    def resolved(self, defaults: DecodingDefaults) -> GenerationParams:
        """These settings with every None taken from `defaults`."""
        filled = {name: getattr(defaults, name) for name in _DECODING
                  if getattr(self, name) is None}
        return replace(self, **filled)


_DECODING = ("temperature", "top_p", "top_k", "repetition_penalty", "no_repeat_ngram_size",
             "frequency_penalty", "presence_penalty")
_PARAM_NAMES = {f.name for f in fields(GenerationParams)}


def with_overrides(params: GenerationParams | None, overrides: dict[str, Any]) -> GenerationParams:
    """`params` (or the defaults) with keyword overrides such as ``frequency_penalty=0.5``."""
    unknown = set(overrides) - _PARAM_NAMES
    if unknown:
        raise UserError(f"unknown generation setting(s) {', '.join(sorted(unknown))} "
                        f"(known: {', '.join(sorted(_PARAM_NAMES))})")
    return replace(params or GenerationParams(), **overrides)


@dataclass
class Event:
    """What a job reports: `start` (prompt read), `delta` (more text), `replace` (the whole
    reply, replacing what was sent), `done`, or `error`."""

    kind: str
    text: str = ""
    error: BaseException | None = None


@dataclass
class Job:
    """One chat completion. The worker fills it; the request reads its events.

    `on_complete(job)` runs in the worker thread after the last token and before `done` is
    reported, so whatever it stores (the reply row) exists even if the client has gone away, and
    it may replace `job.text` (an output guard does) before the client sees the end.
    """

    messages: list[dict[str, str]]
    params: GenerationParams
    on_complete: Callable[[Job], None] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    # a reply composed without the model (an extractive grounded answer): the worker streams it
    # in its turn and runs on_complete on it exactly as on a generated one
    prepared: str | None = None
    # filled by the worker
    version: str = ""
    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    error: BaseException | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # what on_complete wants to hand back
    queued_at: float = field(default_factory=time.monotonic)
    _sync: queue.Queue[Event] = field(default_factory=queue.Queue, repr=False)
    _async: asyncio.Queue[Event] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.loop is not None:
            self._async = asyncio.Queue()

    def emit(self, event: Event) -> None:
        if self.loop is not None:
            try:
                self.loop.call_soon_threadsafe(self._async.put_nowait, event)
            except RuntimeError:
                pass  # the request's event loop is gone (server shut down): nobody is listening
        else:
            self._sync.put(event)

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """The job's events in order, ending with `done` or `error` (blocking)."""
        while True:
            event = self._sync.get(timeout=timeout)
            yield event
            if event.kind in ("done", "error"):
                return

    async def aevents(self) -> AsyncIterator[Event]:
        if self._async is None:
            raise RuntimeError("this job was created without an event loop")
        while True:
            event = await self._async.get()
            yield event
            if event.kind in ("done", "error"):
                return


class DeltaStreamer:
    """A `generate` streamer that turns new token ids into text deltas for one job.

    It decodes the whole reply each time (replies are short) so that multi-token characters and
    word-joining tokenizers come out right; a delta is held back while it ends in a half-decoded
    character or could be the start of a stop string.
    """

    def __init__(self, job: Job, tokenizer: Any, end_ids: set[int] | frozenset[int] = frozenset()
                 ) -> None:
        self.job, self.tokenizer = job, tokenizer
        self.end_ids = end_ids  # tokens that end the turn: never part of the reply's text
        self.ids: list[int] = []
        self.sent = 0  # characters of the reply already sent
        self.prompt_seen = False
        self.stopped = False  # a stop string was produced
        self.hold = max((len(s) for s in job.params.stop), default=1) - 1

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # generate() first hands over the prompt itself
            self.prompt_seen = True
            return
        if self.stopped:
            return
        for token in value.reshape(-1).tolist():
            if int(token) in self.end_ids:
                self.stopped = True
                break
            self.ids.append(int(token))
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        for stop in self.job.params.stop:
            cut = text.find(stop)
            if cut != -1:
                text, self.stopped = text[:cut], True
        self.job.text = text
        if self.job.params.buffered:
            return
        ready = len(text) if self.stopped else len(text) - self.hold
        if text.endswith("\ufffd") and not self.stopped:
            ready = min(ready, len(text.rstrip("\ufffd")))
        if ready > self.sent:
            self.job.emit(Event("delta", text[self.sent:ready]))
            self.sent = ready

    def end(self) -> None:
        self.job.text = self.job.text.rstrip("\ufffd")


class StopWhen:
    """Stopping criterion: the streamer saw a stop string."""

    def __init__(self, streamer: DeltaStreamer) -> None:
        self.streamer = streamer

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> Any:
        return torch.full((input_ids.shape[0],), self.streamer.stopped, dtype=torch.bool,
                          device=input_ids.device)

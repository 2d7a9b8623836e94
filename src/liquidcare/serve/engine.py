"""The generation engine: one model, one worker thread, one bounded queue of jobs.

A CPU (or one GPU) runs one generation at a time best, and a web server receives requests
concurrently. So requests never call the model themselves: each becomes a `Job` on a bounded
queue, a worker thread takes jobs in order and runs `model.generate` with a streamer that pushes
text deltas back to the job. A request that finds the queue full gets `EngineBusyError` (the server
answers 503 with Retry-After) instead of being dropped silently or piling up without limit.

The model is held in an immutable `Loaded` snapshot. `reload` loads the new weights beside the
old ones and then swaps the snapshot under a lock: a job takes the snapshot when it starts, so
replies in flight finish on the model they started with and record its version.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from liquidcare.errors import UserError

from .decoding import DecodingDefaults, ReplyPenalties, defaults_for
from .jobs import (  # noqa: F401  (Event and with_overrides re-exported: the engine's API)
    DeltaStreamer,
    Event,
    GenerationParams,
    Job,
    StopWhen,
    with_overrides,
)

log = logging.getLogger(__name__)

Loader = Callable[[str], tuple[Any, Any]]  # name_or_dir -> (model, tokenizer)


class EngineBusyError(Exception):
    """The job queue is full: try again in a moment (the server answers 503 + Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the model is busy; retry in {retry_after} s")
        self.retry_after = retry_after


class PromptTooLongError(UserError):
    """The conversation does not fit the model's context (400, like OpenAI's
    context_length_exceeded)."""

    status = 400


class ReloadError(UserError):
    """The new weights could not be loaded; the old ones keep serving."""

    status = 422


class EngineStoppedError(RuntimeError):
    """The engine was closed; no more jobs are taken."""


@dataclass(frozen=True)
class Loaded:
    """One set of weights: swapped whole by `Engine.reload`, never changed in place."""

    model: Any
    tokenizer: Any
    version: str  # liquidcare.surgery.model_version of what was loaded
    decoding: DecodingDefaults = DecodingDefaults()  # what a request that does not say gets

    @property
    def context_length(self) -> int:
        config = getattr(self.model, "config", None)
        for name in ("max_position_embeddings", "n_positions"):
            value = getattr(config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return 2048


def render_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> dict[str, torch.Tensor]:
    """Token ids of a chat, ready for the assistant's turn (the chat template when there is one)."""
    if getattr(tokenizer, "chat_template", None):
        enc = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    # a base model without a template: a plain transcript ending where the assistant speaks
    text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
    enc = tokenizer(text, return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


class Engine:
    """Serialises generation on one model behind a bounded queue; see the module docstring.

        engine = Engine.from_pretrained("smollm2")          # or a run dir holding adapter/
        engine = Engine(model, tokenizer, version="tiny")   # an already-loaded pair (tests)
        job = engine.submit(messages, GenerationParams(max_tokens=64))
        for event in job.events(): ...
    """

    def __init__(self, model: Any, tokenizer: Any, version: str, *, max_queue: int = 64,
                 loader: Loader | None = None, versioner: Callable[[str], str] | None = None,
                 retry_after: int = 2, decoding: DecodingDefaults | None = None,
                 decoding_table: dict[str, DecodingDefaults] | None = None) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        # defaults per model name (from_pretrained) follow a reload; a fixed `decoding` stays
        self._decoding_table = decoding_table
        self._per_model = False
        self._loaded = Loaded(model, tokenizer, version, decoding or DecodingDefaults())
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=max_queue)
        self._loader = loader
        self._versioner = versioner
        self.retry_after = retry_after
        self.busy = False
        self.served = 0
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="liquidcare-generate", daemon=True)
        self._worker.start()

    @classmethod
    def from_pretrained(cls, name_or_dir: str, device: str = "auto", dtype: Any = None,
                        decoding_table: dict[str, DecodingDefaults] | None = None,
                        **kwargs: Any) -> Engine:
        """Load a model and take its decoding defaults from `decoding_table` (by default
        `liquidcare.serve.decoding.MODEL_DEFAULTS`, the same as configs/decoding.yaml)."""
        from liquidcare.surgery import load_model, model_version

        def loader(name: str) -> tuple[Any, Any]:
            return load_model(name, device=device, dtype=dtype)

        model, tokenizer = loader(name_or_dir)
        engine = cls(model, tokenizer, model_version(name_or_dir), loader=loader,
                     versioner=model_version, decoding=defaults_for(name_or_dir, decoding_table),
                     decoding_table=decoding_table, **kwargs)
        engine._per_model = True
        return engine

    # -- what the server reads ---------------------------------------------------------------
    @property
    def loaded(self) -> Loaded:
        with self._lock:
            return self._loaded

    @property
    def version(self) -> str:
        return self.loaded.version

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    # -- jobs --------------------------------------------------------------------------------
    def submit(self, messages: list[dict[str, str]], params: GenerationParams | None = None, *,
               on_complete: Callable[[Job], None] | None = None,
               loop: asyncio.AbstractEventLoop | None = None, prepared: str | None = None,
               **overrides: Any) -> Job:
        """Queue a chat; raises EngineBusyError at once when the queue is full.

        Keyword overrides change single settings (``temperature=0``, ``frequency_penalty=0.5``);
        `prepared` is a reply already composed (it is streamed and completed without the model).
        """
        if self._closed:
            raise EngineStoppedError("the engine is closed")
        params = with_overrides(params, overrides) if overrides else params or GenerationParams()
        job = Job([dict(m) for m in messages], params, on_complete=on_complete, loop=loop,
                  prepared=prepared)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise EngineBusyError(self.retry_after) from None
        return job

    def generate(self, messages: list[dict[str, str]],
                 params: GenerationParams | None = None, **overrides: Any) -> Job:
        """Submit and wait: the finished job (raises its error, if any). Keyword overrides as in
        `submit`: ``engine.generate(chat, frequency_penalty=0.5, presence_penalty=0.3)``."""
        job = self.submit(messages, params, **overrides)
        for event in job.events():
            if event.kind == "error":
                raise event.error  # type: ignore[misc]
        return job

    def close(self, timeout: float = 30.0) -> None:
        """Finish the queued jobs, then stop the worker."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._worker.join(timeout)

    # -- reload ------------------------------------------------------------------------------
    def reload(self, name_or_dir: str) -> str:
        """Load new weights and switch to them; returns the new version.

        Loading happens beside the running model (the worker keeps serving); the switch is one
        assignment under a lock. A failed load leaves the old model serving.
        """
        if self._loader is None:
            raise UserError("this engine was given a model object, so it cannot load another one")
        with self._reload_lock:  # two reloads at once would load twice for nothing
            try:
                model, tokenizer = self._loader(name_or_dir)
                version = self._versioner(name_or_dir) if self._versioner else str(name_or_dir)
                decoding = (defaults_for(name_or_dir, self._decoding_table) if self._per_model
                            else self.loaded.decoding)
            except Exception as err:  # noqa: BLE001 - whatever failed, the old model stays
                log.warning("reload of %s failed: %s", name_or_dir, err)
                raise ReloadError(f"cannot load {name_or_dir}: {err}; still serving "
                                  f"{self.version}") from err
            with self._lock:
                self._loaded = Loaded(model, tokenizer, version, decoding)
        log.info("serving %s", version)
        return version

    # -- the worker --------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            self.busy = True
            try:
                self._generate(job)
            except BaseException as err:  # noqa: BLE001 - a job's failure must not kill the worker
                if not isinstance(err, UserError):
                    log.exception("generation failed")
                job.error = err
                job.emit(Event("error", error=err))
            else:
                self.served += 1
                job.emit(Event("done"))
            finally:
                self.busy = False

    def _generate(self, job: Job) -> None:
        loaded = self.loaded  # the snapshot this job keeps to its end, whatever reload does
        job.version = loaded.version
        if job.prepared is not None:
            self._prepared(job)
            return
        model, tokenizer = loaded.model, loaded.tokenizer
        params = job.params.resolved(loaded.decoding)
        enc = render_prompt(tokenizer, job.messages)
        prompt_len = enc["input_ids"].shape[1]
        job.prompt_tokens = prompt_len
        room = loaded.context_length - prompt_len
        if room < 1:
            raise PromptTooLongError(
                f"the conversation is {prompt_len} tokens and this model reads at most "
                f"{loaded.context_length}; send fewer or shorter messages"
            )
        max_new = min(params.max_tokens, room)
        job.emit(Event("start"))

        device = next(model.parameters()).device
        enc = {k: v.to(device) for k, v in enc.items()}
        eos = _eos_ids(model, tokenizer) | _token_ids(tokenizer, loaded.decoding.stop_tokens)
        streamer = DeltaStreamer(job, tokenizer, eos)
        sampling: dict[str, Any] = {"do_sample": False}
        if params.temperature > 0:
            if params.seed is not None:
                torch.manual_seed(params.seed)
            sampling = {"do_sample": True, "temperature": params.temperature,
                        "top_p": params.top_p, "top_k": params.top_k}
        penalties = ReplyPenalties(prompt_len, params.repetition_penalty,
                                   params.no_repeat_ngram_size, params.frequency_penalty,
                                   params.presence_penalty)
        if penalties.active:
            sampling["logits_processor"] = [penalties]
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = tokenizer.eos_token_id
        with torch.inference_mode():
            out = model.generate(
                **enc, max_new_tokens=max_new, streamer=streamer, pad_token_id=pad,
                stopping_criteria=[StopWhen(streamer)], eos_token_id=sorted(eos) or None,
                **sampling,
            )
        streamer.end()
        new_ids = out[0, prompt_len:].tolist()
        # generate() pads a finished row with pad tokens only in batches; ours is one row
        job.completion_tokens = len(new_ids)
        ended = streamer.stopped or (new_ids and new_ids[-1] in eos)
        job.finish_reason = "stop" if ended or len(new_ids) < max_new else "length"
        sent = job.text[: streamer.sent]
        if job.on_complete is not None:
            job.on_complete(job)  # may store the reply, or replace it (an output guard)
        if job.text.startswith(sent):
            if len(job.text) > len(sent):
                job.emit(Event("delta", job.text[len(sent):]))
        else:
            # part of the old reply already went out (an unbuffered job): say it is replaced
            job.emit(Event("replace", job.text))


    def _prepared(self, job: Job) -> None:
        """A reply composed without the model: streamed in a few pieces, then completed."""
        text = job.prepared or ""
        job.prompt_tokens, job.completion_tokens, job.finish_reason = 0, 0, "stop"
        job.emit(Event("start"))
        job.text = text
        if not job.params.buffered:
            # sentence by sentence, so a streaming client sees it arrive as it would from a model
            pieces = [p for p in _SENTENCE_END.split(text) if p]
            for piece in pieces:
                job.emit(Event("delta", piece))
            sent = text
        else:
            sent = ""
        if job.on_complete is not None:
            job.on_complete(job)
        if job.text.startswith(sent):
            if len(job.text) > len(sent):
                job.emit(Event("delta", job.text[len(sent):]))
        else:
            job.emit(Event("replace", job.text))


_SENTENCE_END = re.compile(r"(?<=[.!?:\n])(?=\s)")


def _token_ids(tokenizer: Any, tokens: Sequence[str]) -> set[int]:
    """Ids of the stop tokens this tokenizer knows as single tokens (others are skipped)."""
    ids: set[int] = set()
    unk = getattr(tokenizer, "unk_token_id", None)
    for token in tokens:
        value = tokenizer.convert_tokens_to_ids(token)
        if isinstance(value, int) and value >= 0 and value != unk:
            ids.add(value)
    return ids


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    for value in (getattr(getattr(model, "generation_config", None), "eos_token_id", None),
                  getattr(tokenizer, "eos_token_id", None)):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(v for v in value if isinstance(v, int))
    return ids

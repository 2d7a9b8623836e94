"""Helpers for the server tests: uvicorn in a thread on a free loopback port, a tiny engine."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn
from tiny_models import tiny_model, tiny_tokenizer

from liquidcare.serve.engine import Engine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_engine(**kwargs: Any) -> Engine:
    return Engine(tiny_model("llama"), tiny_tokenizer(), "tiny-llama", **kwargs)


class LiveServer:
    """An ASGI app served by uvicorn in a background thread (stopped by `stop`)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)



def scripted(engine: Engine, pieces: list[str], error: BaseException | None = None,
             pause: float = 0.0) -> list[Any]:
    """Make `engine.submit` answer with `pieces` (then `error`, if given) instead of the model,
    keeping the engine's contract: start, deltas (unless buffered), on_complete, the rest of the
    reply or a replacement, done. Returns the list of jobs it made."""
    from liquidcare.serve.engine import Event, GenerationParams, Job

    jobs: list[Any] = []

    def submit(messages, params=None, *, on_complete=None, loop=None, **overrides):
        job = Job([dict(m) for m in messages], params or GenerationParams(),
                  on_complete=on_complete, loop=loop)
        jobs.append(job)

        def run() -> None:
            job.version = "scripted"
            job.emit(Event("start"))
            sent = ""
            for piece in pieces:
                time.sleep(pause)
                job.text += piece
                if not job.params.buffered:
                    job.emit(Event("delta", piece))
                    sent += piece
            if error is not None:
                job.error = error
                job.emit(Event("error", error=error))
                return
            job.completion_tokens = len(pieces)
            if job.on_complete is not None:
                job.on_complete(job)
            if job.text.startswith(sent):
                if len(job.text) > len(sent):
                    job.emit(Event("delta", job.text[len(sent):]))
            else:
                job.emit(Event("replace", job.text))
            job.emit(Event("done"))

        threading.Thread(target=run, daemon=True).start()
        return job

    engine.submit = submit  # type: ignore[method-assign]
    return jobs

"""Start the server from command-line settings: one process, or several uvicorn workers.

With `--workers N` uvicorn starts N processes, each loading its own model and opening the store;
they find their settings in the LIQUIDCARE_SERVE environment variable (JSON) through the factory
`liquidcare.serve.server:app_from_env`. Several processes (or several `liquidcare serve` on other
ports) can share one PostgreSQL store: twin edits carry a version and a stale write is a 409.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Any

ENV = "LIQUIDCARE_SERVE"


@dataclass
class ServeConfig:
    model: str = "smollm2"
    store: str = "care.db"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    guard: str = "on"  # on | off
    guard_policy: str | None = None
    max_queue: int = 64
    max_tokens: int = 256
    device: str = "auto"
    rate_limit: float = 120.0  # requests a minute per API key; 0: no limit
    journal: str | None = None  # streamed replies in flight; None: beside the store
    grounding: str = "extractive"  # extractive | generative | off (serve/grounding.py)
    knowledge: str | None = None  # knowledge-base folder (default: the bundled one)
    decoding: str | None = None  # decoding defaults YAML (default: configs/decoding.yaml's table)
    warm_voice: bool = True  # load the piper voice at start, so the first reply speaks warm


def journal_path(config: ServeConfig) -> str:
    """Where streamed replies are journalled: beside a SQLite store, else in the user's state
    folder (one file per store URL, so two stores never share one)."""
    if config.journal:
        return config.journal
    if "://" not in config.store:
        return f"{config.store}.partials"
    import hashlib
    from pathlib import Path

    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    digest = hashlib.sha256(config.store.encode()).hexdigest()[:12]
    return str(state / "liquidcare" / f"partials-{digest}.db")


def build_app(config: ServeConfig) -> Any:
    from liquidcare.feedback import open_store

    from .app import create_app
    from .engine import Engine
    from .guard import load_guard

    guard = load_guard(config.guard_policy) if config.guard == "on" else None
    grounder = load_grounder(config.grounding, config.knowledge, config.guard_policy)
    store = open_store(config.store)
    engine = Engine.from_pretrained(config.model, device=config.device,
                                    max_queue=config.max_queue,
                                    decoding_table=load_table(config.decoding))
    if config.rate_limit < 0:
        from liquidcare.errors import UserError

        raise UserError("--rate-limit must be 0 (no limit) or a positive number a minute")
    app = create_app(engine, store, guard, default_max_tokens=config.max_tokens,
                     model_dir=config.model, rate_limit=config.rate_limit or None,
                     journal=journal_path(config), grounder=grounder)
    if config.warm_voice:
        from liquidcare.media.tts import warm_in_background

        warm_in_background()  # the voice the audio routes use (default_speaker)
    return app


def load_grounder(mode: str, knowledge: str | None, policy: str | None = None) -> Any:
    """The knowledge base and retriever for `mode`, or None when grounding is off."""
    from .grounding import MODES, Grounder, GroundingError

    if mode not in MODES:
        raise GroundingError(f"--grounding must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "off":
        return None
    from liquidcare.safety.policy import load_policy

    return Grounder.load(knowledge, mode=mode, policy=load_policy(policy))


def load_table(path: str | None) -> Any:
    if path is None:
        return None
    from .decoding import load_decoding

    return load_decoding(path)


def app_from_env() -> Any:
    """The uvicorn factory used by worker processes."""
    return build_app(ServeConfig(**json.loads(os.environ[ENV])))


def serve(config: ServeConfig) -> None:
    import uvicorn

    if config.workers > 1:
        os.environ[ENV] = json.dumps(asdict(config))
        uvicorn.run("liquidcare.serve.server:app_from_env", factory=True, host=config.host,
                    port=config.port, workers=config.workers, log_level="info")
    else:
        uvicorn.run(build_app(config), host=config.host, port=config.port, log_level="info")

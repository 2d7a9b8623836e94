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
    grounding: str = "extractive"  # extractive | generative | off (serve/grounding.py)
    knowledge: str | None = None  # knowledge-base folder (default: the bundled one)
    decoding: str | None = None  # decoding defaults YAML (default: configs/decoding.yaml's table)


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
    return create_app(engine, store, guard, default_max_tokens=config.max_tokens,
                      model_dir=config.model, grounder=grounder)


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

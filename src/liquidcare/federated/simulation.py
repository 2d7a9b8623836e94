"""Flower's simulation engine (Ray) with our ServerApp and ClientApp: one virtual supernode per
care centre, each with its shard of the corpus (``partition-id`` of ``num-partitions``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import FedConfig


def simulate(cfg: FedConfig, clients: int, mods: list[Callable] | None = None,
             cpus_per_client: float = 1.0, verbose: bool = False) -> dict[str, Any]:
    """Run ``cfg`` with ``clients`` simulated centres; returns the saved state (state.json).

    ``mods`` are Flower client mods added to every centre's ClientApp (tests use one to make a
    centre fail). Ray is started with the machine's CPUs; each centre asks for
    ``cpus_per_client`` of them, so that many centres run at once.
    """
    import os

    from flwr.simulation import run_simulation

    from .client_app import build_client_app
    from .server_app import build_server_app

    if clients < cfg.min_clients:
        from .config import FederatedConfigError

        raise FederatedConfigError(f"--clients {clients} is fewer than min-clients "
                                   f"{cfg.min_clients}")
    # Ray's workers must import this checkout's liquidcare as the driver does
    src = str(Path(__file__).resolve().parents[2])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if src not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([src, *paths])
    defaults = cfg.to_run_config()
    backend = {"client_resources": {"num_cpus": cpus_per_client, "num_gpus": 0.0},
               "init_args": {"include_dashboard": False, "num_cpus": os.cpu_count() or 1}}
    run_simulation(server_app=build_server_app(defaults),
                   client_app=build_client_app(defaults, mods=mods),
                   num_supernodes=clients, backend_config=backend, verbose_logging=verbose)
    state = Path(cfg.out) / "state.json"
    return json.loads(state.read_text()) if state.is_file() else {}

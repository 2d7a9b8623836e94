"""Flower's deployment runtime on loopback, as docs/federated.md describes it: a SuperLink, two
SuperNodes (care centres) and `flwr run federated_app`, with a tiny model."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from federated_helpers import tiny_world

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    # a session of its own: stopping it stops the ServerApp/ClientApp processes it spawned
    return subprocess.Popen(args, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=ROOT)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@pytest.mark.skipif(not (BIN / "flower-superlink").exists(), reason="flwr not installed")
def test_superlink_and_supernodes_on_loopback_run_a_round(tmp_path):
    world = tiny_world(tmp_path / "world")
    fleet, control, appio, node0, node1 = _free_ports(5)
    home = tmp_path / "flwr-home"
    home.mkdir()
    (home / "config.toml").write_text(
        f'[superlink]\ndefault = "loopback"\n\n[superlink.loopback]\n'
        f'address = "127.0.0.1:{control}"\ninsecure = true\n')
    env = {**os.environ, "FLWR_HOME": str(home), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    procs = []
    try:
        procs.append(_start([str(BIN / "flower-superlink"), "--insecure",
                             "--disable-runtime-dependency-installation",
                             "--fleet-api-address", f"127.0.0.1:{fleet}",
                             "--control-api-address", f"127.0.0.1:{control}",
                             "--serverappio-api-address", f"127.0.0.1:{appio}"],
                            env, tmp_path / "superlink.log"))
        _wait_for_port(control)
        for i, port in enumerate((node0, node1)):
            procs.append(_start([str(BIN / "flower-supernode"), "--insecure",
                                 "--superlink", f"127.0.0.1:{fleet}",
                                 "--clientappio-api-address", f"127.0.0.1:{port}",
                                 "--node-config", f"partition-id={i} num-partitions=2"],
                                env, tmp_path / f"supernode{i}.log"))
        out = tmp_path / "fed"
        overrides = (f"model='{world['model']}' corpus='{world['corpus']}' layers='last:1' "
                     f"units=16 block-size=32 local-steps=3 rounds=1 baseline-eval=false "
                     f"out='{out}'")
        run = subprocess.run([str(BIN / "flwr"), "run", "federated_app", "loopback", "--stream",
                              "--run-config", overrides], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=400)
        logs = "\n".join(p.read_text()[-2000:] for p in tmp_path.glob("*.log"))
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:] + logs
        state = json.loads((out / "state.json").read_text())
        assert state["round"] == 1 and state["rounds"]["1"]["aggregated"]
        assert set(state["rounds"]["1"]["clients"]) == {"0", "1"}
        assert (out / "adapter" / "liquid_model.safetensors").is_file()
    finally:
        for proc in reversed(procs):
            _stop(proc)

"""`liquidcare serve` as real processes: two servers on different ports sharing one PostgreSQL
store, and the command's start-up on SQLite.

Concurrent edits of one twin through both servers lose nothing: every PATCH carries the version it
read; a stale one gets 409, the client re-reads and retries, and in the end every client's change
is there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from serve_helpers import free_port
from tiny_models import save_tiny

SRC = str(Path(__file__).resolve().parents[1] / "src")


def start_server(model_dir: Path, store: str, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "liquidcare.cli", "serve", "--model", str(model_dir), "--store",
         store, "--port", str(port), "--device", "cpu", "--max-tokens", "4", "--guard", "off",
         "--grounding", "off",
         *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, f"http://127.0.0.1:{port}"


def wait_healthy(proc: subprocess.Popen, url: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            r = httpx.get(url + "/healthz", timeout=2)
            if r.status_code == 200:
                return r.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not become healthy in {timeout} s")


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("tiny-llama"))


def test_two_servers_one_postgresql_store_lose_no_twin_edit(postgres_cluster, tiny_dir):
    from liquidcare.feedback import open_store

    url = postgres_cluster.new_database()
    store = open_store(url)
    users = [store.add_user(f"Carer {i}", role="carer") for i in range(4)]
    twin = store.create_twin({"name": "Carmen", "language": "es"}, by=users[0][0])
    for user, _ in users[1:]:
        store.link(twin.id, user.id, by=users[0][0])

    servers = [start_server(tiny_dir, url), start_server(tiny_dir, url)]
    procs = [p for p, _ in servers]
    try:
        for proc, base in servers:
            assert wait_healthy(proc, base)["model"] == str(tiny_dir)
        bases = [base for _, base in servers]

        # one stale write: both servers read version 1, both try to write
        h0 = {"Authorization": f"Bearer {users[0][1]}"}
        first = httpx.patch(f"{bases[0]}/v1/twins/{twin.id}", headers=h0, timeout=30,
                            json={"expected_version": 1, "changes": {"age": 80}})
        second = httpx.patch(f"{bases[1]}/v1/twins/{twin.id}", headers=h0, timeout=30,
                             json={"expected_version": 1, "changes": {"age": 90}})
        assert first.status_code == 200 and second.status_code == 409
        assert second.json()["error"]["type"] == "conflict_error"

        # four carers on alternating servers each add five routines, retrying on 409
        conflicts = []

        def carer(i: int) -> None:
            h = {"Authorization": f"Bearer {users[i][1]}"}
            with httpx.Client(timeout=60) as http:
                for k in range(5):
                    base = bases[(i + k) % 2]
                    while True:
                        current = http.get(f"{base}/v1/twins/{twin.id}", headers=h).json()
                        r = http.patch(f"{base}/v1/twins/{twin.id}", headers=h, json={
                            "expected_version": current["version"],
                            "changes": {"routines": [*current["routines"], f"c{i}-r{k}"]}})
                        if r.status_code == 200:
                            break
                        assert r.status_code == 409, r.text
                        conflicts.append(i)

        threads = [threading.Thread(target=carer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        final = store.get_twin(twin.id, by=users[0][0])
        assert sorted(final.routines) == sorted(f"c{i}-r{k}" for i in range(4) for k in range(5))
        assert final.version == 2 + 20
        assert conflicts  # the servers really did race

        # and both servers answer chats into the same store (no twin: its 20 routines would
        # not fit the tiny model's 128-token context)
        for base in bases:
            r = httpx.post(f"{base}/v1/chat/completions", headers=h0, timeout=60, json={
                "messages": [{"role": "user", "content": "w4"}]})
            assert r.status_code == 200, r.text
        assert len(store.list_conversations(by=users[0][0])) == 2
    finally:
        stop(procs)


def test_worker_processes_build_their_app_from_the_environment(tmp_path, tiny_dir, monkeypatch):
    """`--workers N` hands the settings to uvicorn's worker processes through LIQUIDCARE_SERVE;
    each builds the same app from it (uvicorn runs this factory in every worker)."""
    import json
    from dataclasses import asdict

    from fastapi.testclient import TestClient

    from liquidcare.feedback import open_store
    from liquidcare.serve.server import ENV, ServeConfig, app_from_env

    db = str(tmp_path / "care.db")
    _, key = open_store(db).add_user("Ana", role="carer")
    config = ServeConfig(model=str(tiny_dir), store=db, workers=2, device="cpu", max_tokens=3,
                         guard="on", knowledge=str(Path(__file__).parent / "data" / "kb"),
                         warm_voice=False)
    monkeypatch.setenv(ENV, json.dumps(asdict(config)))
    app = app_from_env()
    try:
        client = TestClient(app)
        health = client.get("/healthz").json()
        assert health["model"] == str(tiny_dir) and health["guard"] is True
        r = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                        json={"messages": [{"role": "user", "content": "w4"}]})
        assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] <= 3
    finally:
        app.state.service.engine.close()


def test_serve_command_refuses_a_bad_store_in_one_line(tiny_dir, capsys):
    from liquidcare.cli import main

    code = main(["serve", "--model", str(tiny_dir), "--store", "mysql://nope", "--port", "1",
                 "--guard", "off", "--grounding", "off"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("liquidcare: error:") and "Traceback" not in err

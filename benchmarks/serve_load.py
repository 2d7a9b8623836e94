"""Load on the chat server: N concurrent streaming clients on loopback, and a check that nothing
was lost.

    python benchmarks/serve_load.py                          # embedded SmolLM2, SQLite, 1/4/16
    python benchmarks/serve_load.py --model runs/demo --clients 1 4 16 --requests 3
    python benchmarks/serve_load.py --servers 2 --store postgresql+psycopg://... --clients 32

It starts `--servers` `liquidcare serve` processes (each on its own free port, all on one store),
creates a carer and a twin in the store, then for each concurrency level runs that many clients
at once; each client sends `--requests` streamed chat requests (round-robin over the servers) and
measures time to first token (TTFT), total latency and streamed tokens. Afterwards it counts the
reply rows in the store: every answered request must have exactly one.

Columns: req/s (answered requests per second of wall time), p50/p95 latency and TTFT, tok/s
(completion tokens per second over all clients), errors (non-200 or broken streams), lost
(requests answered but without exactly one reply row in the store).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

PROMPTS = [
    "How can I help my mother drink more water during the day?",
    "¿Qué puedo hacer si mi padre no quiere comer?",
    "She seems sad today and did not want to go out.",
    "What is a good evening routine before bed?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_servers(args, store: str) -> tuple[list[subprocess.Popen], list[str]]:
    procs, urls = [], []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    for _ in range(args.servers):
        port = free_port()
        cmd = [sys.executable, "-m", "liquidcare", "serve", "--model", args.model,
               "--store", store, "--port", str(port), "--max-tokens", str(args.max_tokens),
               "--max-queue", str(max(64, 2 * max(args.clients))), "--device", args.device,
               "--guard", args.guard]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True))
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 300
    for proc, url in zip(procs, urls, strict=True):
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server {url} exited:\n{proc.stderr.read()[-3000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"server {url} did not start in 300 s")
            time.sleep(0.5)
    return procs, urls


TIMEOUT = 1800.0  # seconds a client waits for its reply (queued requests on a slow CPU wait long)


def one_request(url: str, key: str, twin_id: int, prompt: str,
                timeout: float = TIMEOUT) -> dict:
    body = {"model": "any", "messages": [{"role": "user", "content": prompt}],
            "user": str(twin_id), "stream": True,
            "stream_options": {"include_usage": True}}
    start = time.perf_counter()
    ttft, tokens, message_id, ok = None, 0, None, False
    try:
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=timeout,
                          headers={"Authorization": f"Bearer {key}"}) as r:
            if r.status_code != 200:
                r.read()
                return {"ok": False, "status": r.status_code, "error": r.text[:200]}
            for line in r.iter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    ok = True
                    break
                chunk = json.loads(data)
                if "error" in chunk:
                    return {"ok": False, "status": 200, "error": chunk["error"]["message"]}
                if chunk.get("message_id") is not None:
                    message_id = chunk["message_id"]
                if chunk.get("usage"):
                    tokens = chunk["usage"]["completion_tokens"]
                if chunk["choices"] and chunk["choices"][0]["delta"].get("content") \
                        and ttft is None:
                    ttft = time.perf_counter() - start
    except httpx.HTTPError as err:
        return {"ok": False, "status": 0, "error": str(err)}
    latency = time.perf_counter() - start
    return {"ok": ok, "latency": latency, "ttft": ttft if ttft is not None else latency,
            "tokens": tokens, "message_id": message_id}


def run_level(urls, key, twin_id, clients: int, requests: int, timeout: float) -> dict:
    results: list[dict] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        for r in range(requests):
            url = urls[(c + r) % len(urls)]
            res = one_request(url, key, twin_id, PROMPTS[(c + r) % len(PROMPTS)], timeout)
            with lock:
                results.append(res)

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    good = [r for r in results if r["ok"]]
    lat = sorted(r["latency"] for r in good) or [float("nan")]
    ttft = sorted(r["ttft"] for r in good) or [float("nan")]

    def pct(values, q):
        return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]

    return {"clients": clients, "requests": len(results), "ok": len(good),
            "errors": len(results) - len(good), "wall_s": wall,
            "req_per_s": len(good) / wall, "p50_s": statistics.median(lat),
            "p95_s": pct(lat, 0.95), "ttft_p50_s": statistics.median(ttft),
            "ttft_p95_s": pct(ttft, 0.95),
            "tok_per_s": sum(r["tokens"] for r in good) / wall,
            "message_ids": [r["message_id"] for r in good],
            "failures": [r for r in results if not r["ok"]][:3]}


def count_lost(store, message_ids: list) -> int:
    """Answered requests whose reply is not in the store exactly once."""
    from sqlalchemy import text

    with store.engine.connect() as db:
        rows = db.execute(text("SELECT id FROM messages WHERE role = 'assistant'")).all()
    stored = [r[0] for r in rows]
    lost = sum(1 for m in message_ids if m is None or stored.count(m) != 1)
    return lost + (len(message_ids) - len(set(message_ids)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--store", default=None,
                        help="SQLite path or database URL (default: a temporary SQLite file)")
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=2, help="requests per client")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--guard", choices=["on", "off"], default="off",
                        help="the servers' --guard (on: replies go out sentence by sentence, "
                        "each checked first, so TTFT is about the first sentence)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help="seconds a client waits for a reply (default: %(default)s)")
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args()

    from liquidcare.feedback import open_store

    tmp = tempfile.TemporaryDirectory(prefix="serve-load-")
    store_url = args.store or str(Path(tmp.name) / "care.db")
    store = open_store(store_url)
    carer, key = store.add_user("Load Tester", role="carer")
    twin = store.create_twin({"name": "Carmen Ruiz", "age": 84, "language": "es"}, by=carer)
    procs, urls = start_servers(args, store_url)
    kind = "postgresql" if "://" in store_url else "sqlite"
    print(f"model {args.model}, {args.servers} server(s), store {kind}, guard {args.guard}, "
          f"{args.requests} streamed requests per client, max_tokens {args.max_tokens}")
    print(f"{'clients':>7} {'req':>5} {'req/s':>6} {'p50 s':>7} {'p95 s':>7} "
          f"{'TTFT p50':>9} {'TTFT p95':>9} {'tok/s':>6} {'errors':>6} {'lost':>5}", flush=True)
    rows = []
    try:
        one_request(urls[0], key, twin.id, "warm-up")  # first call pays lazy initialisation
        for clients in args.clients:
            row = run_level(urls, key, twin.id, clients, args.requests, args.timeout)
            row["lost"] = count_lost(store, row.pop("message_ids"))
            rows.append(row)
            # each row as soon as it is measured: a long run stopped early keeps what it has
            r = row
            print(f"{r['clients']:>7} {r['requests']:>5} {r['req_per_s']:>6.2f} "
                  f"{r['p50_s']:>7.2f} {r['p95_s']:>7.2f} {r['ttft_p50_s']:>9.2f} "
                  f"{r['ttft_p95_s']:>9.2f} {r['tok_per_s']:>6.1f} {r['errors']:>6} "
                  f"{r['lost']:>5}", flush=True)
            if row["failures"]:
                print(f"failures at {clients} clients: {row['failures']}", file=sys.stderr)
    finally:
        for p in procs:
            p.terminate()  # a server finishes (and stores) what is queued before it exits
        for p in procs:
            try:
                p.wait(300)
            except subprocess.TimeoutExpired:
                p.kill()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return 0 if all(r["errors"] == 0 and r["lost"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

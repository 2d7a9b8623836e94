"""Feedback-store operations per second on SQLite and PostgreSQL: the store's share of a chat turn.

One chat turn costs the server: authenticate the key, append the user message (with event rules),
append the reply, and now and then a rating. This prints, per engine, the median latency of each
operation and the turns per second that 1 and 4 threads sustain on one store.

    python benchmarks/store_ops.py                 # SQLite only
    python benchmarks/store_ops.py --postgres      # also a throwaway PostgreSQL cluster
    python benchmarks/store_ops.py --store postgresql+psycopg://u@127.0.0.1:5432/db
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from liquidcare.feedback import open_store

TURNS = 50


def median_ms(fn, n: int = 30) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def turns_per_second(store, users, threads: int) -> float:
    def worker(user, key, conv_id) -> None:
        for k in range(TURNS):
            assert store.authenticate(key) is not None
            store.add_message(conv_id, "user", f"Me duele la rodilla ({k})", by=user)
            reply = store.add_message(conv_id, "assistant", "Lo siento mucho.", by=user,
                                      model_version="bench")
            if k % 5 == 0:
                store.rate(reply.id, 1, by=user)

    work = users[:threads]
    pool = [threading.Thread(target=worker, args=w) for w in work]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return threads * TURNS / (time.perf_counter() - start)


def bench(name: str, target: str) -> list[str]:
    store = open_store(target)
    users = []
    for i in range(4):
        user, key = store.add_user(f"carer {i}", role="carer")
        twin = store.create_twin({"name": f"Twin {i}", "language": "es"}, by=user)
        users.append((user, key, store.start_conversation(by=user, twin_id=twin.id).id))
    user, key, conv = users[0]
    store.add_message(conv, "user", "hola", by=user)
    row = [
        name,
        f"{median_ms(lambda: store.authenticate(key)):.2f}",
        f"{median_ms(lambda: store.add_message(conv, 'user', 'Me he caído', by=user)):.2f}",
        f"{median_ms(lambda: store.get_conversation(conv, by=user), n=10):.2f}",
        f"{turns_per_second(store, users, 1):.0f}",
        f"{turns_per_second(store, users, 4):.0f}",
    ]
    store.close()
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true",
                        help="also measure a throwaway PostgreSQL cluster (tests/pg.py)")
    parser.add_argument("--store", action="append", default=[], help="an extra store URL or path")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(bench("sqlite (WAL)", str(Path(tmp) / "bench.db")))
    for target in args.store:
        rows.append(bench(target.split("://")[0], target))
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from pg import PgCluster, find_pg_bin

        bin_dir = find_pg_bin()
        if bin_dir is None:
            print("no PostgreSQL server binary found: skipping --postgres", file=sys.stderr)
        else:
            cluster = PgCluster(bin_dir)
            cluster.start()
            try:
                rows.append(bench("postgresql (loopback)", cluster.new_database(migrated=False)))
            finally:
                cluster.stop()

    header = ["engine", "auth ms", "add msg ms", "read conv ms", "turns/s 1 thr", "turns/s 4 thr"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print(f"\n* a turn = authenticate + user message (event rules) + reply, a rating every 5th; "
          f"{TURNS} turns per thread, each thread its own user and conversation; median of 30 "
          "calls per latency (10 for reading the conversation, which grows).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Concurrent writers on one twin (optimistic concurrency) and readers beside a writer."""

import threading

import pytest

from liquidcare.feedback import StaleWriteError, open_store


def test_two_writers_with_one_version_one_wins_and_nothing_is_lost(store_url):
    with open_store(store_url) as store:
        carer, _ = store.add_user("Ana", role="carer")
        twin = store.create_twin({"name": "Carmen", "language": "es"}, by=carer)
        both_read = threading.Barrier(2)
        outcome: dict[str, str] = {}

        def edit(name: str, changes: dict) -> None:
            seen = store.get_twin(twin.id, by=carer)
            both_read.wait()  # both hold version 1 before either writes
            try:
                store.update_twin(twin.id, changes, seen.version, by=carer)
                outcome[name] = "won"
            except StaleWriteError:
                outcome[name] = "stale"
                # What a client does on 409: read again, re-apply, write.
                fresh = store.get_twin(twin.id, by=carer)
                store.update_twin(twin.id, changes, fresh.version, by=carer)

        threads = [
            threading.Thread(target=edit, args=("age", {"age": 85})),
            threading.Thread(target=edit, args=("notes", {"notes": "no le gusta el té"})),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcome.values()) == ["stale", "won"]
        final = store.get_twin(twin.id, by=carer)
        assert (final.age, final.notes, final.version) == (85, "no le gusta el té", 3)


def test_many_read_modify_write_loops_lose_no_update(store_url):
    """Four threads each add five routines with retry-on-409: all twenty arrive."""
    with open_store(store_url) as store:
        carer, _ = store.add_user("Ana", role="carer")
        twin = store.create_twin({"name": "Carmen", "language": "es"}, by=carer)
        stale = []
        errors = []

        def worker(n: int) -> None:
            try:
                for k in range(5):
                    while True:
                        seen = store.get_twin(twin.id, by=carer)
                        try:
                            store.update_twin(twin.id, {"routines": [*seen.routines, f"{n}-{k}"]},
                                              seen.version, by=carer)
                            break
                        except StaleWriteError:
                            stale.append(n)
            except Exception as err:  # surfaced below: a thread's exception is otherwise lost
                errors.append(err)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        final = store.get_twin(twin.id, by=carer)
        assert sorted(final.routines) == sorted(f"{n}-{k}" for n in range(4) for k in range(5))
        assert final.version == 21


def test_sqlite_readers_are_not_blocked_by_an_open_write_transaction(tmp_path):
    """WAL: a reader sees the last committed state while a writer holds its lock. (A read that
    must be audited, about a twin, writes its audit entry and so waits its turn to write.)"""
    with open_store(tmp_path / "care.db") as store:
        carer, _ = store.add_user("Ana", role="carer")
        conv = store.start_conversation(by=carer)
        store.add_message(conv.id, "user", "committed", by=carer)
        writer = store._write_engine.connect()
        tx = writer.begin()  # BEGIN IMMEDIATE: the write lock is held from here
        writer.exec_driver_sql(
            "INSERT INTO messages (conversation_id, role, content, created_at) "
            f"VALUES ({conv.id}, 'user', 'uncommitted', '2026-01-01')")
        try:
            seen = []
            reader = threading.Thread(
                target=lambda: seen.append(store.get_conversation(conv.id, by=carer)))
            reader.start()
            reader.join(10)
            assert not reader.is_alive(), "the reader waited for the writer"
            assert [m.content for m in seen[0].messages] == ["committed"]
        finally:
            tx.rollback()
            writer.close()


@pytest.mark.parametrize("readers", [3])
def test_sqlite_readers_and_a_writer_run_together(tmp_path, readers):
    with open_store(tmp_path / "care.db") as store:
        carer, _ = store.add_user("Ana", role="carer")
        conv = store.start_conversation(by=carer)
        done = threading.Event()
        counts: list[list[int]] = [[] for _ in range(readers)]
        errors = []

        def read(i: int) -> None:
            try:
                while not done.is_set():
                    counts[i].append(len(store.get_conversation(conv.id, by=carer).messages))
            except Exception as err:
                errors.append(err)

        threads = [threading.Thread(target=read, args=(i,)) for i in range(readers)]
        for t in threads:
            t.start()
        for k in range(40):
            store.add_message(conv.id, "user", f"message {k}", by=carer)
        done.set()
        for t in threads:
            t.join(30)
        assert errors == []
        for seen in counts:
            assert seen and seen == sorted(seen)  # each reader only ever sees the log grow
        assert len(store.get_conversation(conv.id, by=carer).messages) == 40


def test_servers_opening_a_new_store_at_once_migrate_it_once(request, store_url):
    """Several server processes starting together against an empty database."""
    if "postgresql" in request.node.callspec.id:
        store_url = request.getfixturevalue("postgres_cluster").new_database(migrated=False)
    versions, errors = [], []

    def opener() -> None:
        try:
            with open_store(store_url) as store:
                versions.append(store.schema_version())
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and versions == ["0003"] * 4


def _append_routines(target: str, twin_id: int, user_id: int, tag: str, n: int) -> int:
    """Runs in a separate process, like a second server: n read-modify-write loops."""
    stale = 0
    with open_store(target) as store:
        for k in range(n):
            while True:
                seen = store.get_twin(twin_id, by=user_id)
                try:
                    store.update_twin(twin_id, {"routines": [*seen.routines, f"{tag}-{k}"]},
                                      seen.version, by=user_id)
                    break
                except StaleWriteError:
                    stale += 1
    return stale


def test_two_processes_editing_one_twin_lose_nothing(store_url):
    import multiprocessing

    with open_store(store_url) as store:
        carer, _ = store.add_user("Ana", role="carer")
        twin = store.create_twin({"name": "Carmen", "language": "es"}, by=carer)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = [pool.apply_async(_append_routines, (store_url, twin.id, carer.id, tag, 8))
                   for tag in ("a", "b")]
        [r.get(timeout=120) for r in results]
    with open_store(store_url) as store:
        final = store.get_twin(twin.id, by=carer)
    assert sorted(final.routines) == sorted(f"{t}-{k}" for t in "ab" for k in range(8))
    assert final.version == 17


def test_a_new_sqlite_store_opens_while_another_connection_is_switching_it_to_wal(tmp_path):
    """The race behind a CI failure: on a new file SQLite refuses a second journal-mode switch
    at once ("database is locked", no busy wait) while a first rollback-mode write is open."""
    import sqlite3
    import time

    path = tmp_path / "care.db"
    path.touch(mode=0o600)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the file is still in rollback mode: a write lock held
    other.execute("CREATE TABLE held (a)")
    probe = sqlite3.connect(path, isolation_level=None, timeout=5)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        probe.execute("PRAGMA journal_mode=WAL")  # what SQLite does without our retry
    probe.close()

    def release() -> None:
        time.sleep(0.5)
        other.execute("COMMIT")

    releaser = threading.Thread(target=release)
    releaser.start()
    try:
        with open_store(path) as store:
            assert store.schema_version() == "0003"
    finally:
        releaser.join(10)
        other.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"

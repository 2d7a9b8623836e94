"""The PostgreSQL fixture skips where no server exists, but fails on CI."""

import pg
import pytest


def test_missing_postgres_skips_with_a_reason(monkeypatch):
    monkeypatch.setattr(pg, "find_pg_bin", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no PostgreSQL server binary"):
        pg.require_postgres()


def test_missing_postgres_fails_on_ci(monkeypatch):
    monkeypatch.setattr(pg, "find_pg_bin", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run on CI"):
        pg.require_postgres()


def test_cluster_serves_fresh_databases(postgres_cluster):
    import psycopg

    first, second = postgres_cluster.new_database(), postgres_cluster.new_database()
    assert first != second and "127.0.0.1" in first
    dsn = first.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"users", "twins", "messages", "alembic_version"} <= tables

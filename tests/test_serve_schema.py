"""Schemathesis in the suite: generated requests against the app's own OpenAPI schema (a small,
bounded run; benchmarks/serve_fuzz.py runs >= 10,000 cases). No response may be >= 500, and every
response must conform to the schema (status, content type, headers, body); invalid requests must
be refused."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", minversion="4.0")

from serve_fuzz import fuzz_app, run_fuzz  # noqa: E402


def test_generated_requests_get_no_5xx_and_conform_to_the_schema(tmp_path):
    app, store, engine, keys = fuzz_app(tmp_path)
    try:
        report = run_fuzz(app, keys, examples=8, seed=1, derandomize=True)
        # and the chat with the twin's carer's key, often enough to reach the model
        run_fuzz(app, {"carer": keys["carer"]}, examples=40, seed=2, report=report,
                 only="POST /v1/chat/completions", derandomize=True)
    finally:
        engine.close()
    assert report.server_errors == [], report.server_errors[:3]
    assert report.at_least_500 == 0
    assert not report.failures, [(k, report.examples[k]) for k in report.failures][:3]
    operations = {op for op, _ in report.statuses}
    declared = {f"{method.upper()} {path}" for path, ops in app.openapi()["paths"].items()
                for method in ops if not path.startswith("/v1/audio/")}
    assert operations == declared and report.cases >= 150  # every operation was exercised
    # the model ran, not only the validation in front of it
    assert report.statuses[("POST /v1/chat/completions", 200)] >= 1


def test_the_run_would_see_a_500(tmp_path, monkeypatch):
    """The harness itself: a route that breaks is counted (so a pass above means something)."""
    app, store, engine, keys = fuzz_app(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(store, "list_twins", broken)
    try:
        report = run_fuzz(app, {"carer": keys["carer"]}, examples=2, seed=2)
    finally:
        engine.close()
    assert report.statuses[("GET /v1/twins", 500)] >= 1 and report.at_least_500 >= 1

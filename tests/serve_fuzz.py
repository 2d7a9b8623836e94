"""Schemathesis against the app's own OpenAPI schema: shared by tests/test_serve_schema.py (a
small run in the suite) and benchmarks/serve_fuzz.py (>= 10,000 cases).

Every operation of `/openapi.json` is driven by schemathesis' generated cases, valid ones
(positive) and invalid ones (negative), with API keys of three roles in turn (the twin's carer,
another carer, the admin) over a real store and a tiny model. Each response is checked by
schemathesis' checks (status, content type, headers and body conform to the schema; invalid data
is refused) except `positive_data_acceptance`: some rules cannot be written in JSON Schema (the
last message must be the user's and not blank; a twin must exist), so a schema-valid request may
rightly get 4xx. A response >= 500 is counted apart, whatever the checks say. The audio routes
are left out: they run Whisper and the voices (tests/test_media_api.py drives them).
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from serve_helpers import tiny_engine

# 413 (a generated body over the limit) is a refusal too
CONFIG = {"checks": {
    "positive_data_acceptance": {"enabled": False},
    "negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 409, 413, 422]},
}}


@dataclass
class FuzzReport:
    cases: int = 0
    statuses: Counter = field(default_factory=Counter)  # (operation, status) -> count
    failures: Counter = field(default_factory=Counter)  # (operation, check title) -> count
    server_errors: list[tuple[str, int, str]] = field(default_factory=list)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)  # a curl per failure

    @property
    def at_least_500(self) -> int:
        return sum(n for (_, status), n in self.statuses.items() if status >= 500)


def fuzz_app(folder: str | Path | None = None) -> tuple[Any, Any, Any, dict[str, str]]:
    """(app, store, engine, {role: api key}) over a fresh SQLite store in `folder`."""
    from liquidcare.feedback import open_store
    from liquidcare.serve.app import create_app

    folder = Path(folder or tempfile.mkdtemp(prefix="liquidcare-fuzz-"))
    store = open_store(str(folder / "care.db"))
    carer, carer_key = store.add_user("Ana", role="carer")
    _, other_key = store.add_user("Olga", role="carer")
    _, admin_key = store.add_user("Root", role="admin")
    _, person_key = store.add_user("Carmen", role="person")
    twin = store.create_twin({"name": "Carmen Ruiz", "age": 84, "language": "es"}, by=carer)
    conv = store.start_conversation(by=carer, twin_id=twin.id)
    store.add_message(conv.id, role="user", content="She fell", by=carer)
    store.add_message(conv.id, role="assistant", content="Is she hurt?", by=carer,
                      model_version="tiny-llama")
    engine = tiny_engine()
    app = create_app(engine, store, default_max_tokens=2, rate_limit=None,
                     journal=folder / "partials.db")
    keys = {"carer": carer_key, "other": other_key, "admin": admin_key, "person": person_key}
    return app, store, engine, keys


def run_fuzz(app: Any, keys: dict[str, str], examples: int, seed: int = 0,
             report: FuzzReport | None = None, only: str | None = None,
             derandomize: bool = False) -> FuzzReport:
    """`examples` cases per operation and generation mode (fewer where the schema allows
    fewer), each sent with a key chosen at random among `keys`."""
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG))
    report = report or FuzzReport()
    pick = random.Random(seed)
    roles = sorted(keys)
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith("/v1/audio/") or only not in (None, operation.label):
            continue  # runs the speech models (tests/test_media_api.py covers these routes)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            try:
                _drive(operation, mode, examples, keys, roles, pick, report, derandomize)
            except Unsatisfiable:
                pass  # no invalid request exists for an operation that takes nothing
    return report


def _drive(operation: Any, mode: GenerationMode, examples: int, keys: dict[str, str],
           roles: list[str], pick: random.Random, report: FuzzReport,
           derandomize: bool = False) -> None:
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate],
              verbosity=Verbosity.quiet, derandomize=derandomize)
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case: Any) -> None:
        headers = {"Authorization": f"Bearer {keys[pick.choice(roles)]}"}
        response = case.call(headers=headers)
        report.cases += 1
        report.statuses[(operation.label, response.status_code)] += 1
        if response.status_code >= 500:
            report.server_errors.append(
                (operation.label, response.status_code, response.text[:300]))
        try:
            case.validate_response(response, headers=headers)
        except BaseException as err:  # noqa: BLE001 - a check failed: count it
            for failure in getattr(err, "exceptions", [err]):
                title = getattr(failure, "title", type(failure).__name__)
                key = (operation.label, str(title))
                report.failures[key] += 1
                report.examples.setdefault(key, case.as_curl_command(headers)[:400])

    one()

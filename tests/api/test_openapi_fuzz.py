"""schemathesis fuzzes every operation of the OpenAPI document against the real app.

Property: whatever the generated request, the server never answers 5xx, and every
answer matches the document (status codes, content types, response schemas).
Runs on a copy of the demo data directory, signed in with a ``*``-scoped key of a
principal who may read most of the fleet, so the fuzzer reaches past authentication.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from drivetrain.api import create_api
from drivetrain.governance.identity import issue_api_key
from drivetrain.state import dispose_engines, session_scope
from tests.api.conftest import DemoServer

pytestmark = pytest.mark.slow
EXAMPLES = 30  # per operation


@pytest.fixture(scope="module")
def fuzz_app(
    demo_server: DemoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    data_dir = Path(tmp_path_factory.mktemp("fuzz")) / "data"
    shutil.copytree(demo_server.settings.data_dir, data_dir)
    settings = demo_server.settings.model_copy(
        update={"data_dir": data_dir, "login_rate": "1000/minute"}
    )
    app = create_api(settings)
    with session_scope(settings.resolved_state_url) as session:
        _, token = issue_api_key(session, "fleet-health", ["*"], label="fuzz")
    app.state.fuzz_token = token
    yield app
    app.state.services.close()
    dispose_engines(settings.resolved_state_url)


def test_no_server_errors_and_responses_match_the_schema(fuzz_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_app)
    headers = {"Authorization": f"Bearer {fuzz_app.state.fuzz_token}"}
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            # A valid-looking id of something that does not exist gets a 404 problem, which
            # is right; the "positive data is accepted" check would call it a failure.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report all
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:2000]
    assert operations >= 15
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())

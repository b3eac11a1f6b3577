"""Schemathesis against the live app (in-process WSGI): no input may cause a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from apiflask import APIFlask
from hypothesis import HealthCheck, given, settings

from tests.conftest import dispose, queue_only_app, truncate_all
from tests.integration.ops.conftest import user_headers

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fuzz_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIFlask]:
    flask_app = queue_only_app(
        database_url,
        tmp_path_factory.mktemp("fuzz"),
        rate_limit_uploads="100000/hour",
        rate_limit_retries="100000/hour",
    )
    yield flask_app
    truncate_all(flask_app)
    dispose(flask_app)


@pytest.fixture(scope="module")
def fuzz_headers(fuzz_app: APIFlask) -> dict[str, str]:
    return user_headers(fuzz_app, "fuzz@example.com")


def _assert_no_server_error(case: Any, headers: dict[str, str]) -> None:
    response = case.call(headers=headers)
    assert response.status_code < 500, (
        case.method,
        case.formatted_path,
        response.status_code,
        response.text[:500],
    )
    if response.status_code >= 400 and "json" in response.headers.get("Content-Type", ""):
        assert set(response.json()) == {"error"}, response.text[:500]


def test_no_generated_request_makes_the_server_fail(
    fuzz_app: APIFlask, fuzz_headers: dict[str, str]
) -> None:
    # schemathesis's pytest plugin (from_fixture) does not run under pytest 9 here,
    # so each operation's strategy is driven by Hypothesis directly.
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy())
        # Derandomized: CI must be reproducible. The examples stay varied (Hypothesis
        # explores from a fixed seed); a random run found the NUL-byte 500s once.
        @settings(
            max_examples=50,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Any) -> None:
            _assert_no_server_error(case, fuzz_headers)

        run()


def test_openapi_spec_is_served(fuzz_app: APIFlask, tmp_path: Path) -> None:
    spec = fuzz_app.test_client().get("/api/openapi.json").get_json()
    assert "/health/full" in spec["paths"]
    assert "/metrics" in spec["paths"]


HOSTILE_BODIES = {
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "huge": b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}',
    "big-ints": b'{"chunk_ids": [1180591620717411303424], "page": 1180591620717411303424}',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
def test_json_endpoints_refuse_deep_huge_and_overflowing_bodies(
    fuzz_app: APIFlask, fuzz_headers: dict[str, str], kind: str
) -> None:
    """Every operation with a JSON body, sent what the generator never makes (issue 12)."""
    spec = fuzz_app.test_client().get("/api/openapi.json").get_json()
    client = fuzz_app.test_client()
    sent = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            url = path.replace("{job_id}", "00000000-0000-4000-8000-000000000000")
            response = client.open(
                url,
                method=method.upper(),
                data=HOSTILE_BODIES[kind],
                headers={**fuzz_headers, "Content-Type": "application/json"},
            )
            sent += 1
            assert response.status_code < 500, (method, path, response.get_data(as_text=True))
            assert set(response.get_json()) == {"error"}, (method, path)
    assert sent >= 3  # register, login, retry (and logout where it exists)

"""Request hygiene (issue 12, finding 9): small, shallow JSON bodies; ids in range.

The audit got a 500 from ``chunk_ids: [2**70]`` (Postgres integer overflow) and
from a 100,000-deep JSON body (RecursionError), and every JSON endpoint read
bodies up to the upload cap (200 MB).
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient

from backend.api.request_limits import nested_deeper_than
from tests.conftest import blank_pdf, upload
from tests.hostile_pdfs import pages_sharing_one_image
from tests.integration.conftest import assert_error

LOGIN = "/api/v1/auth/login"
JSON = {"Content-Type": "application/json"}


def split_job_of(app: APIFlask, client: FlaskClient, headers: dict[str, str]) -> str:
    from backend.services.split import split_job

    response = upload(client, headers, blank_pdf(3), pages_per_chunk=1)
    assert response.status_code == 202, response.get_json()
    job_id: str = response.get_json()["job_id"]
    with app.app_context():
        split_job(job_id)
    return job_id


@pytest.mark.parametrize("chunk_id", [2**31, 2**63, 2**70])
def test_chunk_id_past_postgres_integer_is_a_validation_error(
    app: APIFlask, client: FlaskClient, alice: dict[str, str], chunk_id: int
) -> None:
    job_id = split_job_of(app, client, alice)
    response = client.post(
        f"/api/v1/jobs/{job_id}/chunks/retry", json={"chunk_ids": [chunk_id]}, headers=alice
    )
    details = assert_error(response, 400, "INVALID_PARAMS")
    assert "chunk_ids" in json.dumps(details)
    # The largest id Postgres stores is an unknown chunk, not an error either.
    largest = client.post(
        f"/api/v1/jobs/{job_id}/chunks/retry", json={"chunk_ids": [2**31 - 1]}, headers=alice
    )
    assert_error(largest, 400, "INVALID_PARAMS")
    assert "has no chunks" in largest.get_json()["error"]["message"]


@pytest.mark.parametrize("path", [LOGIN, "/api/v1/auth/register"])
def test_100k_deep_json_body_is_invalid_json_not_a_500(client: FlaskClient, path: str) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    details = assert_error(client.post(path, data=body, headers=JSON), 400, "INVALID_JSON")
    assert details == {"max_depth": 32}
    # Within the cap, a body reaches validation as before.
    nested: Any = "x"
    for _ in range(20):
        nested = [nested]
    response = client.post(path, json={"email": nested, "password": "x"})
    assert_error(response, 400, "INVALID_PARAMS")


def test_deep_body_to_an_authenticated_endpoint_is_refused_before_the_token_check(
    app: APIFlask, client: FlaskClient, alice: dict[str, str]
) -> None:
    job_id = split_job_of(app, client, alice)
    body = b'{"chunk_ids": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    response = client.post(f"/api/v1/jobs/{job_id}/chunks/retry", data=body, headers=JSON)
    assert_error(response, 400, "INVALID_JSON")


def test_json_body_over_one_megabyte_is_payload_too_large_but_uploads_keep_their_cap(
    client: FlaskClient, alice: dict[str, str]
) -> None:
    body = json.dumps({"email": "a@example.com", "password": "x" * (2 * 1024 * 1024)})
    details = assert_error(client.post(LOGIN, data=body, headers=JSON), 413, "PAYLOAD_TOO_LARGE")
    assert details == {"max_bytes": 1024 * 1024}
    pdf = pages_sharing_one_image(2, 1500)
    assert len(pdf) > 1024 * 1024
    response = upload(client, alice, pdf)
    assert response.status_code == 202, response.get_json()


def test_chunked_json_body_without_length_stops_at_the_cap(client: FlaskClient) -> None:
    body = b'{"password": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = client.post(
        LOGIN,
        input_stream=io.BytesIO(body),
        headers={**JSON, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_other_bodies_are_capped_too(client: FlaskClient) -> None:
    body = b"email=a%40example.com&password=" + b"x" * (2 * 1024 * 1024)
    response = client.post(
        LOGIN, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    ("body", "cap", "deeper"),
    [
        (b'{"a": [1, {"b": [2]}]}', 3, True),
        (b'{"a": [1, {"b": [2]}]}', 4, False),
        (b'{"a": "[[[[[[[[[[[[[[[["}', 2, False),
        (b"[" * 33 + b"]" * 33, 32, True),
        (b"[" * 32 + b"]" * 32, 32, False),
        (b"[[[[[[ not json", 2, False),
    ],
)
def test_depth_is_counted_on_containers_not_on_brackets_in_strings(
    body: bytes, cap: int, deeper: bool
) -> None:
    assert nested_deeper_than(body, cap) is deeper

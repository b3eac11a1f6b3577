"""The published contract: OpenAPI document, error bodies for routing errors, health."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import blank_pdf, upload
from tests.integration.conftest import assert_error

pytestmark = pytest.mark.integration


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document: dict[str, Any] = response.get_json()
    return document


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow one ``$ref`` (``#/components/schemas/Name``) if there is one."""
    ref = node.get("$ref")
    if ref is None:
        return node
    target: dict[str, Any] = spec
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def test_openapi_lists_every_endpoint_of_the_api(spec: dict[str, Any]) -> None:
    paths = spec["paths"]

    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Quire API"
    assert {"post", "get"} <= set(paths["/api/v1/jobs"])
    assert {"get", "delete"} <= set(paths["/api/v1/jobs/{job_id}"])
    assert "get" in paths["/api/v1/jobs/{job_id}/chunks"]
    assert "post" in paths["/api/v1/jobs/{job_id}/chunks/retry"]
    assert "post" in paths["/api/v1/jobs/{job_id}/cancel"]
    assert "get" in paths["/api/v1/jobs/{job_id}/result"]
    for route in ("register", "login", "refresh"):
        assert "post" in paths[f"/api/v1/auth/{route}"]


def test_openapi_describes_the_retry_request_and_response(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/api/v1/jobs/{job_id}/chunks/retry"]["post"]

    body = resolve(spec, operation["requestBody"]["content"]["application/json"]["schema"])
    accepted = resolve(spec, operation["responses"]["202"]["content"]["application/json"]["schema"])

    assert set(body["properties"]) == {"chunk_ids", "force"}
    assert "array" in body["properties"]["chunk_ids"]["type"]
    assert body["properties"]["chunk_ids"]["items"]["type"] == "integer"
    assert "boolean" in body["properties"]["force"]["type"]
    assert {"retried_count", "chunk_ids", "round"} <= set(accepted["properties"])
    assert {"400", "409"} <= set(operation["responses"])
    assert operation["security"] == [{"BearerAuth": []}]


def test_openapi_describes_the_upload_form_and_list_query(spec: dict[str, Any]) -> None:
    jobs = spec["paths"]["/api/v1/jobs"]

    form = resolve(spec, jobs["post"]["requestBody"]["content"]["multipart/form-data"]["schema"])
    query = {p["name"]: p for p in jobs["get"]["parameters"] if p["in"] == "query"}

    assert {
        "file",
        "words_per_sentence",
        "pages_per_chunk",
        "overlap_pages",
        "max_retries",
        "processor",
    } <= set(form["properties"])
    assert "file" in form["required"]
    assert form["properties"]["words_per_sentence"]["minimum"] == 3
    assert form["properties"]["words_per_sentence"]["maximum"] == 50
    assert "202" in jobs["post"]["responses"]
    assert {"page", "per_page", "status"} <= set(query)
    assert query["per_page"]["schema"]["maximum"] == 100
    assert "BearerAuth" in spec["components"]["securitySchemes"]


def test_unknown_route_is_404_with_the_error_contract(client: FlaskClient) -> None:
    assert_error(client.get("/api/v1/nowhere"), 404, "NOT_FOUND")
    assert_error(client.get("/definitely/not/here"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/api/v1/jobs"),
        ("get", "/api/v1/auth/login"),
        ("post", "/health"),
        ("patch", "/api/v1/jobs/some-id"),
    ],
)
def test_wrong_method_is_405_with_the_error_contract(
    client: FlaskClient, method: str, path: str
) -> None:
    response = getattr(client, method)(path)

    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "Allow" in response.headers


def test_malformed_json_body_is_400_with_the_error_contract(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")

    assert_error(response, 400, "INVALID_PARAMS")


def test_health_is_200(client: FlaskClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "healthy"}


def test_health_database_is_200_on_a_live_database(client: FlaskClient) -> None:
    response = client.get("/health/database")

    assert response.status_code == 200
    assert response.get_json()["status"] == "healthy"


def test_nul_characters_are_refused_or_removed_never_a_server_error(
    client: FlaskClient, alice: dict[str, str]
) -> None:
    # PostgreSQL text cannot hold NUL: found by the OpenAPI fuzz run as a 500.
    login = client.post("/api/v1/auth/login", json={"email": "a\x00@example.com", "password": "x"})
    assert login.status_code == 400
    assert login.get_json()["error"]["code"] == "INVALID_PARAMS"
    job = client.get("/api/v1/jobs/abc%00def", headers=alice)
    assert job.status_code == 404
    accepted = upload(client, alice, blank_pdf(1), name="ro\x00man\x07.pdf")
    assert accepted.status_code == 202
    listed = client.get(f"/api/v1/jobs/{accepted.get_json()['job_id']}", headers=alice)
    assert listed.get_json()["filename"] == "roman.pdf"

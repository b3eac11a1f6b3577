"""POST/GET /api/v1/jobs: upload checks, settings, listing; nothing runs the jobs here."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from backend.extensions import db
from backend.models import Job
from tests.conftest import blank_pdf, queue_only_app, truncate_all, upload
from tests.integration.conftest import assert_error

pytestmark = pytest.mark.integration


def upload_big(client: FlaskClient, headers: dict[str, str], content: bytes) -> Any:
    """Upload with a body encoded in memory.

    The test client spools bodies over 500 KB to a temporary file it never closes
    (a ResourceWarning, an error here); encoding the body ourselves avoids it.
    """
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(content), "big.pdf")})
    return client.post(
        "/api/v1/jobs",
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def job_count(app: APIFlask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Job)) or 0


def blob_job_dirs(app: APIFlask) -> set[str]:
    root: Path = app.extensions["quire_blobs"].root / "jobs"
    return {p.name for p in root.iterdir()} if root.exists() else set()


@pytest.fixture(scope="module")
def small_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIFlask]:
    """A second API on the same database with a 1 MB upload cap."""
    small = queue_only_app(database_url, tmp_path_factory.mktemp("quire-small"), max_upload_mb=1)
    yield small
    with small.app_context():
        db.engine.dispose()


@pytest.fixture
def small_client(small_app: APIFlask) -> Iterator[tuple[FlaskClient, dict[str, str]]]:
    client = small_app.test_client()
    account = {"email": "small@example.com", "password": "long enough"}
    assert client.post("/api/v1/auth/register", json=account).status_code == 202
    tokens = client.post("/api/v1/auth/login", json=account).get_json()
    yield client, {"Authorization": f"Bearer {tokens['access_token']}"}
    truncate_all(small_app)


def test_upload_is_accepted_with_job_id_links_and_location(
    client: FlaskClient, app: APIFlask, alice: dict[str, str]
) -> None:
    pdf = blank_pdf(4)

    response = upload(client, alice, pdf, name="roman.pdf")

    assert response.status_code == 202
    body = response.get_json()
    job_id = body["job_id"]
    assert body["status"] == "queued"
    assert body["links"]["self"] == f"/api/v1/jobs/{job_id}"
    assert body["links"]["chunks"] == f"/api/v1/jobs/{job_id}/chunks"
    assert body["links"]["result"] == f"/api/v1/jobs/{job_id}/result"
    assert body["links"]["retry"] == f"/api/v1/jobs/{job_id}/chunks/retry"
    assert body["links"]["cancel"] == f"/api/v1/jobs/{job_id}/cancel"
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{job_id}")


def test_upload_stores_the_exact_bytes_with_their_sha256_and_size(
    client: FlaskClient, app: APIFlask, alice: dict[str, str], job_row: Callable[..., Any]
) -> None:
    pdf = blank_pdf(7)

    job_id = upload(client, alice, pdf, name="roman.pdf").get_json()["job_id"]

    row = job_row(job_id)
    assert row["source_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert row["source_size"] == len(pdf)
    assert row["filename"] == "roman.pdf"
    assert row["status"] == "queued"
    stored = app.extensions["quire_blobs"].get_bytes(row["source_key"])
    assert stored == pdf
    shown = client.get(f"/api/v1/jobs/{job_id}", headers=alice).get_json()
    assert shown["source"] == {"size": len(pdf), "sha256": hashlib.sha256(pdf).hexdigest()}


@pytest.mark.parametrize(
    "content",
    [b"hello, this is not a PDF at all", b"", b"PK\x03\x04zipfile" + b"\x00" * 100],
    ids=["text", "empty", "zip"],
)
def test_non_pdf_upload_is_422_invalid_pdf_and_nothing_is_stored(
    client: FlaskClient, app: APIFlask, alice: dict[str, str], content: bytes
) -> None:
    before = blob_job_dirs(app)

    response = upload(client, alice, content, name="notes.pdf")

    assert_error(response, 422, "INVALID_PDF")
    assert job_count(app) == 0
    assert blob_job_dirs(app) == before


def test_upload_over_the_request_cap_is_413_pdf_too_large(
    small_client: tuple[FlaskClient, dict[str, str]], small_app: APIFlask
) -> None:
    client, headers = small_client
    before = blob_job_dirs(small_app)
    big = b"%PDF-1.4\n" + b"0" * (1536 * 1024)

    response = upload_big(client, headers, big)

    details = assert_error(response, 413, "PDF_TOO_LARGE")
    assert isinstance(details, dict)
    assert job_count(small_app) == 0
    assert blob_job_dirs(small_app) == before


def test_upload_just_over_the_cap_is_stopped_mid_stream_with_413(
    small_client: tuple[FlaskClient, dict[str, str]], small_app: APIFlask
) -> None:
    # Under Werkzeug's request limit (cap + 64 KB) but over the cap: the blob store stops it.
    client, headers = small_client
    before = blob_job_dirs(small_app)
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 8 * 1024)

    response = upload_big(client, headers, big)

    details = assert_error(response, 413, "PDF_TOO_LARGE")
    assert details["max_bytes"] == 1024 * 1024
    assert job_count(small_app) == 0
    assert blob_job_dirs(small_app) == before


def test_upload_exactly_at_the_cap_is_accepted(
    small_client: tuple[FlaskClient, dict[str, str]], small_app: APIFlask
) -> None:
    client, headers = small_client
    pdf = b"%PDF-1.4\n" + b"0" * (1024 * 1024 - 9)

    response = upload_big(client, headers, pdf)

    assert response.status_code == 202, response.get_json()


def test_missing_file_is_400_invalid_params(client: FlaskClient, alice: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/jobs",
        data={"words_per_sentence": "8"},
        headers=alice,
        content_type="multipart/form-data",
    )

    details = assert_error(response, 400, "INVALID_PARAMS")
    assert "file" in str(details)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("words_per_sentence", 2),
        ("words_per_sentence", 51),
        ("words_per_sentence", "eight"),
        ("pages_per_chunk", 0),
        ("pages_per_chunk", 501),
        ("overlap_pages", -1),
        ("overlap_pages", 11),
        ("max_retries", -1),
        ("max_retries", 11),
        ("processor", ""),
        ("fallback", "gpt"),
        ("fallback", ""),
        ("ocr", "always"),
        ("ocr", ""),
        ("ocr_lang", "french"),
        ("ocr_lang", "fra+"),
        ("ocr_lang", "fra;rm -rf"),
    ],
)
def test_out_of_range_settings_are_400_and_create_nothing(
    client: FlaskClient, app: APIFlask, alice: dict[str, str], field: str, value: Any
) -> None:
    response = upload(client, alice, blank_pdf(1), **{field: value})

    details = assert_error(response, 400, "INVALID_PARAMS")
    assert field in str(details)
    assert job_count(app) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("words_per_sentence", 3),
        ("words_per_sentence", 50),
        ("pages_per_chunk", 1),
        ("overlap_pages", 0),
        ("max_retries", 0),
    ],
)
def test_boundary_settings_are_accepted(
    client: FlaskClient, alice: dict[str, str], field: str, value: int
) -> None:
    response = upload(client, alice, blank_pdf(1), **{field: value})

    assert response.status_code == 202
    job = client.get(f"/api/v1/jobs/{response.get_json()['job_id']}", headers=alice).get_json()
    assert job["settings"][field] == value


def test_unknown_processor_is_400_unknown_processor_listing_the_available_ones(
    client: FlaskClient, app: APIFlask, alice: dict[str, str]
) -> None:
    before = blob_job_dirs(app)

    response = upload(client, alice, blank_pdf(1), processor="telepathy")

    details = assert_error(response, 400, "UNKNOWN_PROCESSOR")
    assert "local" in details["available"]
    assert job_count(app) == 0
    assert blob_job_dirs(app) == before


def test_defaults_are_applied_and_shown_in_job_settings(
    client: FlaskClient, alice: dict[str, str], create_job: Callable[..., str]
) -> None:
    job_id = create_job(alice)

    job = client.get(f"/api/v1/jobs/{job_id}", headers=alice).get_json()

    assert job["settings"] == {
        "processor": "local",
        "words_per_sentence": 8,
        "pages_per_chunk": 20,
        "overlap_pages": 1,
        "max_retries": 3,
        "fallback": "none",
        "ocr": "auto",
        "ocr_lang": "fra+eng",
    }
    assert job["status"] == "queued"
    assert job["round"] == 0
    assert job["retry_count"] == 0
    assert job["total_chunks"] == 0
    assert job["page_count"] is None
    assert job["error"] is None
    assert job["result"] is None
    assert job["progress"]["percent"] == 0.0


def test_chosen_settings_are_stored(
    client: FlaskClient, alice: dict[str, str], create_job: Callable[..., str]
) -> None:
    job_id = create_job(
        alice,
        words_per_sentence=12,
        pages_per_chunk=5,
        overlap_pages=2,
        max_retries=0,
        fallback="local",
        ocr="force",
        ocr_lang="fra",
    )

    settings = client.get(f"/api/v1/jobs/{job_id}", headers=alice).get_json()["settings"]

    assert settings == {
        "processor": "local",
        "words_per_sentence": 12,
        "pages_per_chunk": 5,
        "overlap_pages": 2,
        "max_retries": 0,
        "fallback": "local",
        "ocr": "force",
        "ocr_lang": "fra",
    }


def test_an_ocr_language_the_server_does_not_offer_is_400_listing_the_offered_ones(
    client: FlaskClient, app: APIFlask, alice: dict[str, str]
) -> None:
    before = blob_job_dirs(app)

    response = upload(client, alice, blank_pdf(1), ocr_lang="fra+deu")

    details = assert_error(response, 400, "INVALID_PARAMS")
    assert details == {"ocr_lang": "fra+deu", "available": ["eng", "fra"]}
    assert "'deu'" in response.get_json()["error"]["message"]
    assert job_count(app) == 0
    assert blob_job_dirs(app) == before


def test_job_list_paginates_20_per_page_by_default(
    client: FlaskClient, alice: dict[str, str], create_job: Callable[..., str]
) -> None:
    created = [create_job(alice, pages=1) for _ in range(25)]

    first = client.get("/api/v1/jobs", headers=alice).get_json()
    second = client.get("/api/v1/jobs?page=2", headers=alice).get_json()
    third = client.get("/api/v1/jobs?page=3", headers=alice).get_json()

    assert first["pagination"] == {"page": 1, "per_page": 20, "total": 25, "pages": 2}
    assert len(first["items"]) == 20
    assert second["pagination"] == {"page": 2, "per_page": 20, "total": 25, "pages": 2}
    assert len(second["items"]) == 5
    assert third["items"] == []
    listed = [j["id"] for j in first["items"] + second["items"]]
    assert sorted(listed) == sorted(created)
    small = client.get("/api/v1/jobs?per_page=7&page=4", headers=alice).get_json()
    assert small["pagination"] == {"page": 4, "per_page": 7, "total": 25, "pages": 4}
    assert len(small["items"]) == 4


def test_job_list_is_newest_first(
    client: FlaskClient, alice: dict[str, str], create_job: Callable[..., str]
) -> None:
    created = [create_job(alice, pages=1) for _ in range(4)]

    items = client.get("/api/v1/jobs", headers=alice).get_json()["items"]

    assert [j["id"] for j in items] == list(reversed(created))


@pytest.mark.parametrize(
    "query", ["per_page=0", "per_page=101", "page=0", "page=-1", "per_page=x", "status=bogus"]
)
def test_bad_list_parameters_are_400(
    client: FlaskClient, alice: dict[str, str], query: str
) -> None:
    details = assert_error(
        client.get(f"/api/v1/jobs?{query}", headers=alice), 400, "INVALID_PARAMS"
    )

    assert query.split("=")[0] in str(details)


def test_per_page_100_is_allowed(client: FlaskClient, alice: dict[str, str]) -> None:
    response = client.get("/api/v1/jobs?per_page=100", headers=alice)

    assert response.status_code == 200
    assert response.get_json()["pagination"]["per_page"] == 100


def test_job_list_filters_by_status(
    client: FlaskClient, alice: dict[str, str], create_job: Callable[..., str]
) -> None:
    kept = create_job(alice, pages=1)
    cancelled = create_job(alice, pages=1)
    assert client.post(f"/api/v1/jobs/{cancelled}/cancel", headers=alice).status_code == 202

    queued = client.get("/api/v1/jobs?status=queued", headers=alice).get_json()
    gone = client.get("/api/v1/jobs?status=cancelled", headers=alice).get_json()
    done = client.get("/api/v1/jobs?status=completed", headers=alice).get_json()

    assert [j["id"] for j in queued["items"]] == [kept]
    assert queued["pagination"]["total"] == 1
    assert [j["id"] for j in gone["items"]] == [cancelled]
    assert done["items"] == []
    assert done["pagination"] == {"page": 1, "per_page": 20, "total": 0, "pages": 0}


def test_result_of_a_queued_job_is_409_job_not_ready(
    client: FlaskClient, alice: dict[str, str], create_job: Callable[..., str]
) -> None:
    job_id = create_job(alice)

    details = assert_error(
        client.get(f"/api/v1/jobs/{job_id}/result", headers=alice), 409, "JOB_NOT_READY"
    )

    assert details["status"] == "queued"


def test_result_format_must_be_json_txt_or_csv(
    client: FlaskClient, alice: dict[str, str], create_job: Callable[..., str]
) -> None:
    job_id = create_job(alice)

    response = client.get(f"/api/v1/jobs/{job_id}/result?format=pdf", headers=alice)

    assert_error(response, 400, "INVALID_PARAMS")


@pytest.mark.parametrize("job_id", ["00000000-0000-0000-0000-000000000000", "nope", "x" * 200])
def test_unknown_job_is_404_not_found(
    client: FlaskClient, alice: dict[str, str], job_id: str
) -> None:
    assert_error(client.get(f"/api/v1/jobs/{job_id}", headers=alice), 404, "NOT_FOUND")


def test_upload_needs_a_token(client: FlaskClient, app: APIFlask) -> None:
    response = client.post(
        "/api/v1/jobs",
        data={"file": (io.BytesIO(blank_pdf(1)), "a.pdf")},
        content_type="multipart/form-data",
    )

    assert_error(response, 401, "UNAUTHORIZED")
    assert job_count(app) == 0

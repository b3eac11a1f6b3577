"""Hostile and real-world PDFs end cleanly through the real pipeline.

Each file is uploaded through the API, then split, processed and finalized by
the services themselves (as the tasks would, every parse in its bounded child
process), and the job must reach the state and error code it is owed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from backend.extensions import db
from backend.models import Job, JobChunk
from backend.services.finalize import finalize_job
from backend.services.process import process_chunk
from backend.services.split import split_job
from tests.conftest import (
    FIXTURES,
    chunk_rows,
    dispose,
    queue_only_app,
    require_tool,
    result,
    truncate_all,
)
from tests.hostile_pdfs import HOSTILE, Hostile

CORPUS = FIXTURES / "corpus"
with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8") as _manifest:
    MANIFEST = list(csv.DictReader(_manifest, delimiter="\t"))
TERMINAL = {"completed", "partial", "failed", "cancelled"}


@pytest.fixture(scope="module")
def hostile_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIFlask]:
    """The API with tight parse limits, so that explosions end in seconds.

    The wall clock leaves room for OCR: TAMReview's first chunk OCRs 19 pages
    whose text layer is garbage (about 1.3 s a page on one core).
    """
    flask_app = queue_only_app(
        database_url,
        tmp_path_factory.mktemp("hostile"),
        parse_timeout_seconds=60.0,
        parse_memory_mb=256,
    )
    yield flask_app
    dispose(flask_app)


@pytest.fixture
def hostile_client(hostile_app: APIFlask, make_user: Any) -> Iterator[FlaskClient]:
    yield hostile_app.test_client()
    truncate_all(hostile_app)


@pytest.fixture
def headers(hostile_client: FlaskClient, hostile_app: APIFlask) -> dict[str, str]:
    from flask_jwt_extended import create_access_token

    from backend.services import users

    with hostile_app.app_context():
        user = users.register_user("reader@example.com", "correct horse battery")
        return {"Authorization": f"Bearer {create_access_token(identity=str(user.id))}"}


def run_job(
    app: APIFlask, client: FlaskClient, headers: dict[str, str], pdf: bytes, **fields: str
) -> Job:
    """Upload ``pdf`` with form ``fields``; drive split → chunks → finalize, round after round."""
    # Encoded here: Werkzeug's test client spills bodies past 500 KB to a
    # temporary file it never closes (a ResourceWarning, an error under pytest).
    boundary, body = encode_multipart(
        {
            "file": FileStorage(io.BytesIO(pdf), "hostile.pdf", content_type="application/pdf"),
            "pages_per_chunk": "20",
            **fields,
        }
    )
    response = client.post(
        "/api/v1/jobs",
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["job_id"]
    with app.app_context():
        split_job(job_id)
        for _ in range(5):  # automatic retry rounds, if any error were retryable
            job = db.session.get(Job, job_id)
            assert job is not None
            if job.status in TERMINAL:
                break
            pks = db.session.scalars(select(JobChunk.id).where(JobChunk.job_id == job_id))
            for pk in list(pks):
                process_chunk(pk)
            finalize_job(job_id, job.round)
            db.session.expire_all()
        job = db.session.get(Job, job_id)
        assert job is not None
        db.session.expunge(job)
        return job


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_generated_hostile_pdf_ends_cleanly_with_its_code(
    hostile_app: APIFlask, hostile_client: FlaskClient, headers: dict[str, str], hostile: Hostile
) -> None:
    job = run_job(hostile_app, hostile_client, headers, hostile.build())
    assert (job.status, job.error_code) == (hostile.status, hostile.code), job.error_message
    if hostile.code is not None:
        assert job.error_message
    for chunk in chunk_rows(hostile_app, job.id):
        assert chunk.status in {"success", "failed"}
        assert chunk.lease_expires_at is None


def test_scanned_pages_are_named_page_by_page(
    hostile_app: APIFlask, hostile_client: FlaskClient, headers: dict[str, str]
) -> None:
    from tests.hostile_pdfs import images_only

    job = run_job(hostile_app, hostile_client, headers, images_only())
    (chunk,) = chunk_rows(hostile_app, job.id)
    assert chunk.last_error_code == "NO_TEXT"
    assert "pages 1-2 contain no extractable text" in (chunk.last_error or "")
    assert job.result_summary is not None
    assert job.result_summary["pages_without_text"] == [1, 2]


def _allowed(expected: str) -> set[tuple[str, str | None]]:
    """The MANIFEST's ``expected`` prose as a set of ``(status, error code)``."""
    allowed = {("failed", code) for code in re.findall(r"fail ([A-Z_]+)", expected)}
    if re.search(r"\bcomplete\b", expected):
        allowed.add(("completed", None))
    if "partial" in expected:
        allowed.add(("partial", "PARTIAL_RESULT"))
    assert allowed, expected
    return allowed


@pytest.mark.parametrize("entry", MANIFEST, ids=[row["filename"] for row in MANIFEST])
def test_corpus_file_ends_in_an_allowed_state(
    hostile_app: APIFlask,
    hostile_client: FlaskClient,
    headers: dict[str, str],
    entry: dict[str, str],
) -> None:
    pdf = (CORPUS / entry["filename"]).read_bytes()
    job = run_job(hostile_app, hostile_client, headers, pdf)
    assert (job.status, job.error_code) in _allowed(entry["expected"]), (
        job.status,
        job.error_code,
        job.error_message,
    )
    if job.status == "completed" and entry["category"] == "scanned":
        require_tool(Path("/usr/bin/tesseract"), "run `make ocr-deps` (as root)")
        # A scan completes through OCR: every sentence says so, or its pages had no text.
        assert job.result_summary is not None
        sentences = result(hostile_client, headers, job.id)["sentences"]
        assert job.result_summary["pages_without_text"] or sentences
        assert all(sentence.get("ocr") is True for sentence in sentences)


def test_tamreview_pages_2_to_22_are_read_by_ocr_instead_of_their_garbage(
    hostile_app: APIFlask, hostile_client: FlaskClient, headers: dict[str, str]
) -> None:
    # MANIFEST: pages 2-22 carry no usable text layer (pypdf gives /gNN glyph
    # names, PDFium glyph indices as control characters); pages 1 and 23 read.
    # With ocr=auto (the default) Tesseract reads pages 2-22; their garbage
    # text layer never reaches a sentence (the unreadable check still runs
    # first: without it, no page would go to OCR).
    require_tool(Path("/usr/bin/tesseract"), "run `make ocr-deps` (as root)")
    job = run_job(
        hostile_app, hostile_client, headers, (CORPUS / "pdfjs__TAMReview.pdf").read_bytes()
    )
    assert (job.status, job.page_count) == ("completed", 23)
    document = result(hostile_client, headers, job.id)
    assert document["unreadable_pages"] == []
    by_page: dict[int, set[bool]] = {}
    for sentence in document["sentences"]:
        by_page.setdefault(sentence["page"], set()).add(sentence.get("ocr", False))
    assert set(by_page) == set(range(1, 24))
    assert {page for page, flags in by_page.items() if True in flags} == set(range(2, 23))
    assert all(ch.isprintable() for sentence in document["sentences"] for ch in sentence["text"])
    assert "Technology Acceptance Model" in " ".join(s["text"] for s in document["sentences"])
    ocr_pages: dict[str, float] = {}
    for chunk in chunk_rows(hostile_app, job.id):
        assert chunk.result_json is not None
        assert chunk.result_json["metadata"]["page_errors"] == {}
        ocr_pages.update(chunk.result_json["metadata"]["ocr_pages"])
    assert set(ocr_pages) == {str(page) for page in range(2, 23)}
    assert all(80 < confidence <= 100 for confidence in ocr_pages.values())


def test_content_stream_error_page_is_read_by_pdfium(
    hostile_app: APIFlask, hostile_client: FlaskClient, headers: dict[str, str]
) -> None:
    # pypdf lost page 3 (an unexpected end of its content stream); PDFium reads
    # what the stream draws before the damage, as viewers do.
    pdf = (CORPUS / "qpdf__content-stream-errors.pdf").read_bytes()
    job = run_job(hostile_app, hostile_client, headers, pdf)
    assert job.status == "completed"
    (chunk,) = chunk_rows(hostile_app, job.id)
    assert chunk.result_json is not None
    assert chunk.result_json["metadata"]["page_errors"] == {}
    sentences = result(hostile_client, headers, job.id)["sentences"]
    assert [(s["page"], s["text"]) for s in sentences] == [(n, "Potato") for n in range(1, 5)]


def test_corpus_path_matches_the_fixture_directory() -> None:
    assert len(MANIFEST) == 23
    assert all(Path(CORPUS / row["filename"]).is_file() for row in MANIFEST)


def test_a_scan_is_read_by_ocr_unless_the_job_turns_it_off(
    hostile_app: APIFlask, hostile_client: FlaskClient, headers: dict[str, str]
) -> None:
    """The job's ``ocr`` setting reaches the chunks: off leaves a scan NO_TEXT, auto reads it."""
    require_tool(Path("/usr/bin/tesseract"), "run `make ocr-deps` (as root)")
    scan = (FIXTURES / "scans" / "ocrmypdf__linn.pdf").read_bytes()
    off = run_job(hostile_app, hostile_client, headers, scan, ocr="off")
    assert (off.status, off.error_code) == ("failed", "NO_TEXT")

    job = run_job(hostile_app, hostile_client, headers, scan)
    assert job.status == "completed"
    document = result(hostile_client, headers, job.id)
    assert set(document["ocr_pages"]) == {"1"}
    assert document["sentences"]
    assert all(s["ocr"] is True and s["ocr_confidence"] > 50 for s in document["sentences"])
    listing = hostile_client.get(f"/api/v1/jobs/{job.id}/chunks", headers=headers).get_json()
    assert set(listing["items"][0]["ocr_pages"]) == {"1"}
    summary = hostile_client.get(f"/api/v1/jobs/{job.id}", headers=headers).get_json()["result"]
    assert summary["ocr_pages"] == 1

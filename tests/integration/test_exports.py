"""GET /jobs/{id}/result in every format, parsed back and compared with the JSON result.

Chunks come from the real split service, are marked as a worker would leave
them, and a real finalize merges them; then each export is read back with the
csv module or openpyxl and must hold exactly the JSON's sentences and pages.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from werkzeug.http import parse_options_header

from backend.api.exports import MISSING_SHEET, XLSX_MIMETYPE
from backend.services.finalize import finalize_job

pytestmark = pytest.mark.integration

FORMATS = {
    "json": "application/json",
    "txt": "text/plain",
    "csv": "text/csv",
    "xlsx": XLSX_MIMETYPE,
}


@pytest.fixture
def finished_job(
    app: APIFlask,
    create_job: Callable[..., str],
    split: Callable[[str], str],
    succeed_chunks: Callable[..., None],
    set_chunks: Callable[..., None],
    alice: dict[str, str],
) -> Callable[[bool], str]:
    """``finished_job(partial)``: a 25-page job in 3 chunks, completed or with chunk 1 failed."""

    def _make(partial: bool) -> str:
        job_id = create_job(alice, pages=25, pages_per_chunk=10, name="Le Rouge.pdf")
        assert split(job_id) == "processing"
        succeed_chunks(job_id, [0, 2] if partial else None)
        if partial:
            set_chunks(job_id, [1], status="failed", last_error_code="NO_TEXT", last_error="blank")
        with app.app_context():
            assert finalize_job(job_id, 0) == ("partial" if partial else "completed")
        return job_id

    return _make


def fetch(client: FlaskClient, job_id: str, headers: dict[str, str], fmt: str) -> Any:
    response = client.get(f"/api/v1/jobs/{job_id}/result?format={fmt}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def sentences_from(fmt: str, body: bytes) -> list[tuple[int, str]]:
    """(page, text) of every sentence row of an export; notices about missing pages are skipped."""
    if fmt == "txt":
        lines = body.decode("utf-8").splitlines()
        return [(0, line) for line in lines if not line.startswith("# partial result")]
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
        return [(int(r["page"]), r["sentence"]) for r in rows if r["index"]]
    sheet = load_workbook(io.BytesIO(body), read_only=True)["sentences"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("index", "page", "sentence")
    return [(int(str(page)), str(text)) for _, page, text in rows[1:]]


@pytest.mark.parametrize("partial", [False, True], ids=["completed", "partial"])
@pytest.mark.parametrize("fmt", ["txt", "csv", "xlsx"])
def test_every_export_holds_the_json_sentences_in_order(
    client: FlaskClient,
    finished_job: Callable[[bool], str],
    alice: dict[str, str],
    fmt: str,
    partial: bool,
) -> None:
    job_id = finished_job(partial)
    document = fetch(client, job_id, alice, "json").get_json()
    expected = [(s["page"], s["text"]) for s in document["sentences"]]
    assert len(expected) == (15 if partial else 25)

    response = fetch(client, job_id, alice, fmt)

    got = sentences_from(fmt, response.get_data())
    if fmt == "txt":  # txt has no page column
        expected = [(0, text) for _, text in expected]
    assert got == expected


@pytest.mark.parametrize(("fmt", "mimetype"), FORMATS.items())
def test_export_has_content_type_and_attachment_name(
    client: FlaskClient,
    finished_job: Callable[[bool], str],
    alice: dict[str, str],
    fmt: str,
    mimetype: str,
) -> None:
    response = fetch(client, finished_job(False), alice, fmt)

    assert response.mimetype == mimetype
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert (disposition, options) == ("attachment", {"filename": f"Le Rouge.{fmt}"})
    assert "X-Quire-Missing-Pages" not in response.headers


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_partial_export_says_which_pages_are_missing_in_every_format(
    client: FlaskClient, finished_job: Callable[[bool], str], alice: dict[str, str], fmt: str
) -> None:
    response = fetch(client, finished_job(True), alice, fmt)

    assert response.headers["X-Quire-Missing-Pages"] == "11-20"
    body = response.get_data()
    if fmt == "json":
        assert response.get_json()["missing_page_ranges"] == "11-20"
    elif fmt == "txt":
        assert body.decode().splitlines()[0] == "# partial result: pages 11-20 are missing"
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        notes = [r for r in rows if not r["index"]]
        assert [(n["page"], n["sentence"]) for n in notes] == [
            ("11-20", "[missing: pages 11-20, NO_TEXT: blank]")
        ]
    else:
        book = load_workbook(io.BytesIO(body), read_only=True)
        missing = list(book[MISSING_SHEET].iter_rows(values_only=True))
        assert missing == [("pages", "error_code", "error"), ("11-20", "NO_TEXT", "blank")]


def test_unknown_export_format_is_400(
    client: FlaskClient, finished_job: Callable[[bool], str], alice: dict[str, str]
) -> None:
    response = client.get(f"/api/v1/jobs/{finished_job(False)}/result?format=pdf", headers=alice)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "INVALID_PARAMS"

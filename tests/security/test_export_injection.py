"""CSV/XLSX formula injection (issue 12, finding 3): a sentence never becomes a formula.

The PDF's author writes the sentences; a spreadsheet runs a cell that starts
with ``=``, ``+``, ``-`` or ``@``. The audit's lines are exported through the
real API (split, a worker's results, finalize) and read back byte by byte.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from backend.api.exports import MISSING_SHEET, as_csv, as_text_cell, as_xlsx
from backend.extensions import db
from backend.models import JobChunk
from backend.services.finalize import finalize_job
from backend.services.split import split_job
from tests.conftest import blank_pdf, upload

HOSTILE_LINES = [
    '=HYPERLINK("http://x.invalid","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1+1",
]
# French dialogue opens with an em dash (U+2014), not the ASCII hyphen-minus.
SAFE_LINES = ["— Bonjour, dit-il.", "Il a dit : =1, puis s'est tu.", "42 ans", ""]


@pytest.mark.parametrize("line", HOSTILE_LINES)
def test_a_csv_cell_that_starts_like_a_formula_gets_a_quote(line: str) -> None:
    assert as_text_cell(line) == "'" + line


@pytest.mark.parametrize("line", SAFE_LINES)
def test_other_cells_stay_exactly_as_they_are(line: str) -> None:
    assert as_text_cell(line) == line
    assert as_text_cell(-3) == -3  # numbers are not text: nothing to run


@pytest.fixture
def hostile_job(app: APIFlask, client: FlaskClient, alice: dict[str, str]) -> Callable[[bool], str]:
    """``hostile_job(partial)``: chunk 0's sentences are the audit's lines, chunk 1's safe.

    ``partial``: chunk 1 failed with a message that starts like a formula too.
    """

    def _make(partial: bool) -> str:
        response = upload(client, alice, blank_pdf(2), name="Hostile.pdf", pages_per_chunk=1)
        assert response.status_code == 202, response.get_json()
        job_id: str = response.get_json()["job_id"]
        with app.app_context():
            assert split_job(job_id) == "processing"
            chunks = db.session.scalars(
                select(JobChunk).where(JobChunk.job_id == job_id).order_by(JobChunk.chunk_id)
            ).all()
            for chunk, lines in zip(chunks, (HOSTILE_LINES, SAFE_LINES), strict=True):
                chunk.status = "success"
                chunk.result_json = {
                    "sentences": [{"text": t, "page": chunk.page_start} for t in lines],
                    "pages_without_text": [],
                    "metadata": {},
                }
            if partial:
                chunks[1].status = "failed"
                chunks[1].last_error_code = "NO_TEXT"
                chunks[1].last_error = "=1+2"
            db.session.commit()
            assert finalize_job(job_id, 0) == ("partial" if partial else "completed")
        return job_id

    return _make


def fetch(client: FlaskClient, headers: dict[str, str], job_id: str, fmt: str) -> Any:
    response = client.get(f"/api/v1/jobs/{job_id}/result?format={fmt}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_csv_export_neutralises_formulas_and_keeps_the_rest(
    client: FlaskClient, hostile_job: Callable[[bool], str], alice: dict[str, str]
) -> None:
    job_id = hostile_job(False)
    body = fetch(client, alice, job_id, "csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    assert [r["sentence"] for r in rows] == ["'" + line for line in HOSTILE_LINES] + SAFE_LINES
    # No cell of the file starts with a trigger (numbers included).
    cells = [cell for row in csv.reader(io.StringIO(body, newline="")) for cell in row]
    assert not [cell for cell in cells if re.match(r"[=+\-@\t\r]", cell)]


def test_json_and_txt_exports_keep_the_exact_text(
    client: FlaskClient, hostile_job: Callable[[bool], str], alice: dict[str, str]
) -> None:
    job_id = hostile_job(False)
    document = fetch(client, alice, job_id, "json").get_json()
    assert [s["text"] for s in document["sentences"]] == HOSTILE_LINES + SAFE_LINES
    text = fetch(client, alice, job_id, "txt").get_data(as_text=True)
    assert text == "\n".join(HOSTILE_LINES + SAFE_LINES) + "\n"


def sheet_xml(body: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        names = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        return {name: book.read(name).decode("utf-8") for name in names}


@pytest.mark.parametrize("partial", [False, True], ids=["completed", "partial"])
def test_xlsx_export_writes_every_text_cell_as_a_string_never_a_formula(
    client: FlaskClient, hostile_job: Callable[[bool], str], alice: dict[str, str], partial: bool
) -> None:
    body = fetch(client, alice, hostile_job(partial), "xlsx").get_data()
    sheets = sheet_xml(body)
    assert len(sheets) == (2 if partial else 1)
    for name, xml in sheets.items():
        assert not re.search(r"<f[ >]", xml), name
        assert 't="str"' not in xml, name  # openpyxl's type for a formula's cached text
    book = load_workbook(io.BytesIO(body))
    rows = list(book["sentences"].iter_rows(min_row=2, values_only=True))
    expected = HOSTILE_LINES if partial else HOSTILE_LINES + SAFE_LINES
    # (openpyxl reads an empty string cell back as None.)
    assert [text or "" for _, _, text in rows] == expected
    for row in book["sentences"].iter_rows(min_row=2):
        assert row[2].data_type in {"s", "inlineStr"}  # (openpyxl reads inline strings back so)
    if partial:
        missing = list(book[MISSING_SHEET].iter_rows(values_only=True))
        assert missing[1] == ("2", "NO_TEXT", "=1+2")


def test_the_renderers_alone_neutralise_missing_rows_too() -> None:
    document = {
        "sentences": [{"text": "=cmd|' /C calc'!A0", "page": 1}],
        "missing_pages": [2],
        "failed_chunks": [{"pages": [2, 2], "error_code": "NO_TEXT", "error": "@evil"}],
    }
    rows = list(csv.reader(io.StringIO(as_csv(document), newline="")))
    assert rows[1] == ["1", "1", "'=cmd|' /C calc'!A0"]
    assert rows[2] == ["", "2", "[missing: pages 2, NO_TEXT: @evil]"]
    xml = sheet_xml(as_xlsx(document))
    assert not any("<f>" in sheet for sheet in xml.values())
    book = load_workbook(io.BytesIO(as_xlsx(document)))
    assert book[MISSING_SHEET]["C2"].value == "@evil"
    assert book[MISSING_SHEET]["C2"].data_type in {"s", "inlineStr"}

"""Rendering a job's merged result (the JSON document in the blob store) as a download.

Every format carries the same sentences in the same order, each with the page
it starts on, and every format says which pages are missing when the job is
``partial``: a header line in txt, trailing rows in csv (their ``index`` is
empty, so a reader keeps sentences apart with one test), a ``missing pages``
sheet in xlsx, the ``missing_pages`` fields in json, and for all of them the
``X-Quire-Missing-Pages`` response header.

Sentences are the PDF author's text, and a spreadsheet runs a cell that starts
with ``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK(…)`` sends the
reader's click anywhere; DDE formulas can run programs). So csv cells that start
with one of those, a tab or a carriage return get a leading ``'``, which
spreadsheets read as "this is text" (OWASP's advice), and every xlsx text cell
is written as a string, never a formula: xlsx has a type per cell, so its text
stays exact. json and txt are not spreadsheets and stay exact too.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

FORMATS = ("json", "txt", "csv", "xlsx")
CSV_HEADER = ("index", "page", "sentence")
MISSING_SHEET = "missing pages"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What makes a spreadsheet read a cell as a formula (a tab or CR may precede one).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Export:
    body: bytes | str
    mimetype: str


def render(document: dict[str, Any], fmt: str) -> Export:
    """The result ``document`` as ``fmt`` (one of ``FORMATS``)."""
    if fmt == "json":
        return Export(json.dumps(document, ensure_ascii=False), "application/json")
    if fmt == "txt":
        return Export(as_text(document), "text/plain")
    if fmt == "csv":
        return Export(as_csv(document), "text/csv")
    if fmt == "xlsx":
        return Export(as_xlsx(document), XLSX_MIMETYPE)
    raise ValueError(f"unknown export format {fmt!r}")


def missing_notice(document: dict[str, Any]) -> str | None:
    """``"pages 11-20 are missing"`` for a partial result, else None."""
    if not document.get("missing_pages"):
        return None
    return f"pages {document['missing_page_ranges']} are missing"


def as_text(document: dict[str, Any]) -> str:
    lines = [s["text"] for s in document["sentences"]]
    notice = missing_notice(document)
    if notice:
        lines.insert(0, f"# partial result: {notice}")
    return "\n".join(lines) + "\n"


def _missing_rows(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """One row per failed chunk: (pages, error code, message)."""
    rows = []
    for failed in document.get("failed_chunks", []):
        first, last = failed["pages"]
        pages = str(first) if first == last else f"{first}-{last}"
        rows.append((pages, failed.get("error_code") or "", failed.get("error") or ""))
    return rows


def as_text_cell(value: Any) -> Any:
    """A csv cell a spreadsheet cannot run: ``'`` before a leading formula trigger."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def as_csv(document: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    rows: list[list[Any]] = [
        [index, sentence["page"], sentence["text"]]
        for index, sentence in enumerate(document["sentences"], start=1)
    ]
    for pages, code, message in _missing_rows(document):
        rows.append(["", pages, f"[missing: pages {pages}, {code}: {message}]"])
    writer.writerows([as_text_cell(value) for value in row] for row in rows)
    return out.getvalue()


def _append(sheet: Worksheet, row: tuple[Any, ...] | list[Any]) -> None:
    """``sheet.append`` whose text cells are strings even when they start with ``=``.

    openpyxl turns a value starting with ``=`` into a formula (``data_type`` "f",
    written as ``<f>``); setting the type back to "s" writes it as plain text.
    """
    sheet.append(row)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def as_xlsx(document: dict[str, Any]) -> bytes:
    book = Workbook(write_only=False)
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "sentences"
    _append(sheet, CSV_HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, sentence in enumerate(document["sentences"], start=1):
        _append(sheet, [index, sentence["page"], sentence["text"]])
    sheet.column_dimensions["C"].width = 100
    sheet.freeze_panes = "A2"
    if document.get("missing_pages"):
        missing = book.create_sheet(MISSING_SHEET)
        _append(missing, ("pages", "error_code", "error"))
        for row in _missing_rows(document):
            _append(missing, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

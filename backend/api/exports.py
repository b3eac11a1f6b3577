"""Rendering a job's merged result (the JSON document in the blob store) as a download.

Every format carries the same sentences in the same order, each with the page
it starts on, and every format says which pages are missing when the job is
``partial``: a header line in txt, trailing rows in csv (their ``index`` is
empty, so a reader keeps sentences apart with one test), a ``missing pages``
sheet in xlsx, the ``missing_pages`` fields in json, and for all of them the
``X-Quire-Missing-Pages`` response header.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

FORMATS = ("json", "txt", "csv", "xlsx")
CSV_HEADER = ("index", "page", "sentence")
MISSING_SHEET = "missing pages"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


def as_csv(document: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for index, sentence in enumerate(document["sentences"], start=1):
        writer.writerow([index, sentence["page"], sentence["text"]])
    for pages, code, message in _missing_rows(document):
        writer.writerow(["", pages, f"[missing: pages {pages}, {code}: {message}]"])
    return out.getvalue()


def as_xlsx(document: dict[str, Any]) -> bytes:
    book = Workbook(write_only=False)
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "sentences"
    sheet.append(CSV_HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, sentence in enumerate(document["sentences"], start=1):
        sheet.append([index, sentence["page"], sentence["text"]])
    sheet.column_dimensions["C"].width = 100
    sheet.freeze_panes = "A2"
    if document.get("missing_pages"):
        missing = book.create_sheet(MISSING_SHEET)
        missing.append(("pages", "error_code", "error"))
        for row in _missing_rows(document):
            missing.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

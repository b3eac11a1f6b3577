"""extract_pages: text per page, and every way a file can fail, classified."""

from __future__ import annotations

import io
import logging
import threading

import pytest
from pypdf import PdfWriter

from backend.pipeline.errors import EncryptedPdfError, InvalidPdfError
from backend.pipeline.extract import ExtractedPage, extract_pages
from tests.unit.pipeline.helpers import blank_pdf, text_pdf


def _encrypted(user_password: str, owner_password: str | None) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(text_pdf([["Bonjour le monde."]])))
    writer.encrypt(user_password=user_password, owner_password=owner_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_extracts_one_text_per_page_in_order() -> None:
    pages = extract_pages(text_pdf([["Première page."], ["Deuxième page."], ["Troisième."]]))
    assert [p.text.strip() for p in pages] == ["Première page.", "Deuxième page.", "Troisième."]
    assert all(p.error is None for p in pages)


def test_french_characters_survive_extraction() -> None:
    line = "« Déjà ? » — œuvre… ça, à côté"
    assert extract_pages(text_pdf([[line]]))[0].text.strip() == line


def test_blank_pages_extract_as_empty_text() -> None:
    assert extract_pages(blank_pdf(2)) == [ExtractedPage(""), ExtractedPage("")]


def test_user_password_is_classified_as_encrypted() -> None:
    with pytest.raises(EncryptedPdfError) as info:
        extract_pages(_encrypted(user_password="x", owner_password="o"))  # noqa: S106
    assert info.value.code == "ENCRYPTED_PDF"
    assert "password" in info.value.message


def test_owner_password_only_is_readable() -> None:
    pages = extract_pages(_encrypted(user_password="", owner_password="o"))  # noqa: S106
    assert pages[0].text.strip() == "Bonjour le monde."


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a pdf at all",
        b"%PDF-1.7\n" + b"\x00garbage" * 50,
        text_pdf([["Une page."]])[:200],
        text_pdf([["Une page."]])[:-300],
    ],
    ids=["empty", "text", "garbage-after-header", "truncated-head", "truncated-tail"],
)
def test_damaged_or_foreign_bytes_are_classified_as_invalid(data: bytes) -> None:
    with pytest.raises(InvalidPdfError) as info:
        extract_pages(data)
    assert info.value.code == "INVALID_PDF"
    assert "PDF" in info.value.message


def test_pdf_without_pages_is_invalid() -> None:
    out = io.BytesIO()
    PdfWriter().write(out)
    # PDFium refuses an empty page tree as a format error; either way it is INVALID_PDF.
    with pytest.raises(InvalidPdfError) as info:
        extract_pages(out.getvalue())
    assert info.value.code == "INVALID_PDF"


def test_page_that_fails_to_extract_is_reported_not_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pypdfium2 as pdfium

    from backend.pipeline import extract
    from backend.pipeline.layout import PageLayout

    original = extract.read_page

    def flaky(page: pdfium.PdfPage) -> PageLayout:
        layout = original(page)
        if any("Cassée" in line.text for line in layout.lines):
            raise pdfium.PdfiumError("Failed to load text page")
        return layout

    monkeypatch.setattr(extract, "read_page", flaky)
    pages = extract_pages(text_pdf([["Bonne."], ["Cassée."], ["Bonne aussi."]]))
    assert [p.text.strip() for p in pages] == ["Bonne.", "", "Bonne aussi."]
    assert pages[1].error is not None
    assert "page 2" in pages[1].error
    assert "PdfiumError" in pages[1].error


def test_xetex_words_keep_their_spaces_and_line_end_hyphens_their_break() -> None:
    # PDFium spaces words by position and marks a line-end hyphen with U+FFFE.
    pages = extract_pages(text_pdf([["Il parlait person-", "nellement au régent."]]))
    assert pages[0].text.split("\n")[:2] == ["Il parlait person-", "nellement au régent."]


def test_concurrent_in_process_extractions_are_serialised() -> None:
    data = text_pdf([["Texte parallèle."]] * 3)
    results: list[list[ExtractedPage]] = []

    def run() -> None:
        results.append(extract_pages(data))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(r == results[0] for r in results)


def test_pypdf_logger_is_quiet_below_errors() -> None:
    import backend.pipeline.split  # noqa: F401  (pypdf still splits)

    assert logging.getLogger("pypdf").getEffectiveLevel() >= logging.ERROR

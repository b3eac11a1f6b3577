"""Splitting: page ranges, overlap, tiny and empty documents, hostile files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from backend.pipeline.errors import EncryptedPdfError, InvalidPdfError
from backend.pipeline.split import iter_chunk_pdfs, open_pdf, plan_chunks, write_chunk_pdf
from tests.conftest import blank_pdf

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"


@pytest.mark.parametrize(
    ("pages", "per_chunk", "expected"),
    [
        (1, 20, [(1, 1)]),
        (20, 20, [(1, 20)]),
        (21, 20, [(1, 20), (21, 21)]),
        (45, 10, [(1, 10), (11, 20), (21, 30), (31, 40), (41, 45)]),
        (3, 1, [(1, 1), (2, 2), (3, 3)]),
    ],
)
def test_plan_covers_every_page_exactly_once(
    pages: int, per_chunk: int, expected: list[tuple[int, int]]
) -> None:
    specs = plan_chunks(pages, per_chunk, overlap=0)
    assert [(s.page_start, s.page_end) for s in specs] == expected
    assert [s.index for s in specs] == list(range(len(expected)))
    owned = [p for s in specs for p in range(s.page_start, s.page_end + 1)]
    assert owned == list(range(1, pages + 1))


def test_overlap_reads_neighbours_but_stays_inside_the_document() -> None:
    specs = plan_chunks(25, 10, overlap=2)
    assert [(s.read_start, s.read_end) for s in specs] == [(1, 12), (9, 22), (19, 25)]
    assert [s.has_overlap for s in specs] == [True, True, True]
    assert plan_chunks(10, 10, overlap=2)[0].has_overlap is False


def test_zero_pages_give_no_chunks() -> None:
    assert plan_chunks(0, 10, overlap=1) == []


@pytest.mark.parametrize(("per_chunk", "overlap"), [(0, 0), (5, -1)])
def test_plan_rejects_nonsense_settings(per_chunk: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="must"):
        plan_chunks(10, per_chunk, overlap)


def test_chunk_pdf_holds_exactly_the_pages_it_reads() -> None:
    reader = open_pdf(blank_pdf(12))
    specs = plan_chunks(12, 5, overlap=1)
    sizes = [len(PdfReader(io.BytesIO(data)).pages) for _, data in iter_chunk_pdfs(reader, specs)]
    assert sizes == [6, 7, 3]


@pytest.mark.parametrize("name", ["pdfjs__pr6531_1.pdf", "pypdf__encrypted-file.pdf"])
def test_user_password_pdf_is_encrypted_error(name: str) -> None:
    with pytest.raises(EncryptedPdfError, match="password"):
        open_pdf((CORPUS / name).read_bytes())


@pytest.mark.parametrize("name", ["pdfjs__bug900822.pdf", "qpdf__minimal-signed-restricted.pdf"])
def test_owner_password_only_pdf_is_read(name: str) -> None:
    reader = open_pdf((CORPUS / name).read_bytes())
    assert len(reader.pages) >= 1
    spec = plan_chunks(len(reader.pages), 5)[0]
    assert write_chunk_pdf(reader, spec).startswith(b"%PDF-")


@pytest.mark.parametrize(
    "name",
    ["pdfjs__poppler-742-0-fuzzed.pdf", "pdfjs__bug1020226.pdf", "qpdf__issue-202.pdf"],
)
def test_unreadable_pdf_is_invalid_pdf_error(name: str) -> None:
    with pytest.raises(InvalidPdfError):
        open_pdf((CORPUS / name).read_bytes())


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n garbage", b"not a pdf at all" * 100])
def test_garbage_bytes_are_invalid_pdf_error(data: bytes) -> None:
    with pytest.raises(InvalidPdfError):
        open_pdf(data)


def test_empty_page_tree_opens_with_zero_pages() -> None:
    reader = open_pdf((CORPUS / "qpdf__c-empty.pdf").read_bytes())
    assert len(reader.pages) == 0

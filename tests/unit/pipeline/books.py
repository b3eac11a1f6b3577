"""The real books of tests/fixtures/books, read once per test session."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from backend.pipeline.layout import PageLayout, read_layouts

BOOKS = Path(__file__).resolve().parents[2] / "fixtures" / "books"
SAINT_SIMON = "cjns1989-saintsimon__Memoires_XX-12pt-cover.pdf"
GOBOOK = "pdfcpu__gobook.0.pdf"
ECSTR = "pdfcpu__ECSTR11-01.pdf"
WALDEN = "pdfcpu__AlternatingPageNumbersViaWatermarkMap.pdf"


def book_bytes(name: str) -> bytes:
    return (BOOKS / name).read_bytes()


@cache
def layouts(name: str) -> tuple[PageLayout, ...]:
    return tuple(read_layouts(book_bytes(name)))

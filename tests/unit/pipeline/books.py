"""The real books of tests/fixtures/books, read once per test session."""

from __future__ import annotations

import re
from collections import Counter
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


def saint_simon_source() -> str:
    """The markdown, stripped of markup by hand: HTML tags, pandoc spans and
    classes, headings, emphasis, superscripts (M^me^) and footnote brackets
    (the note's text is printed, at the foot of the page)."""
    parts = [(BOOKS / "saintsimon-source" / "cjns1989-saintsimon__md_title.txt").read_text()]
    for path in sorted((BOOKS / "saintsimon-source").glob("*_md_ch2*.md")):
        parts.append(path.read_text())
    text = "\n".join(parts)
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(r"\{\.[\w-]+\}", " ", text)
    text = text.replace("^[", " ").replace("^", "")
    return re.sub(r"[%#*\[\]]", " ", text)


def word_counts(text: str) -> Counter[str]:
    text = text.replace("’", "'")
    # A word broken at a line end by the typesetter: "person-\nnellement".
    text = re.sub(r"(\w)-\n(?=[a-zàâçéèêëîïôûùüÿœ])", r"\1", text)
    found = (re.sub(r"[^\w'-]", "", token).strip("-'").casefold() for token in text.split())
    return Counter(word for word in found if re.search(r"\w", word))

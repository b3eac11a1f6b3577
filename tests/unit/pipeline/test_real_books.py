"""Real books through layout + book-wide plan + strip: text without its furniture.

Each check is written from what the book prints, found by reading it, not from
what the code under test returns: the running-head strings, the printed page
numbers, the stamp, and for Saint-Simon the markdown the PDF was typeset from.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from pypdf import PdfReader

from backend.demo.sample_book import AUTHOR, TITLE, build_sample_book
from backend.pipeline.furniture import (
    FurniturePlan,
    page_text,
    plan_furniture,
    strip_furniture,
)
from backend.pipeline.layout import PageLayout, read_layouts
from backend.pipeline.split import iter_chunk_pdfs, open_pdf, plan_chunks
from tests.unit.pipeline.books import (
    ECSTR,
    GOBOOK,
    SAINT_SIMON,
    WALDEN,
    book_bytes,
    layouts,
    saint_simon_source,
    word_counts,
)

ALL_BOOKS = [SAINT_SIMON, GOBOOK, ECSTR, WALDEN]
# A line made of digits and number punctuation only: a page, line or section number.
BARE_NUMBER = re.compile(r"[\d\s.,:;()\[\]/–—-]*\d[\d\s.,:;()\[\]/–—-]*")


@cache
def stripped(name: str) -> tuple[PageLayout, ...]:
    pages = layouts(name)
    plan = plan_furniture(pages)
    return tuple(strip_furniture(page, n, plan) for n, page in enumerate(pages, 1))


def texts(name: str) -> list[list[str]]:
    return [[line.text for line in page.lines] for page in stripped(name)]


# --- Saint-Simon: words in = words out against the markdown source ----------


def test_saint_simon_loses_and_adds_under_one_percent_ofword_counts() -> None:
    source = word_counts(saint_simon_source())
    ours = word_counts("\n".join(page_text(page) for page in stripped(SAINT_SIMON)))
    total = sum(source.values())
    lost = sum((source - ours).values())
    added = sum((ours - source).values())
    assert total > 35_000
    assert lost / total < 0.01, (source - ours).most_common(20)
    assert added / total < 0.01, (ours - source).most_common(20)


def test_saint_simon_page_numbers_are_gone_and_numbers_of_the_text_stay() -> None:
    source_paragraphs = {p.strip() for p in saint_simon_source().split("\n\n")}
    for number, lines in enumerate(texts(SAINT_SIMON), 1):
        printed = str(number - 2)  # the cover and the title page are not numbered
        assert printed not in (lines[:1] + lines[-1:]), number
        for line in lines:
            if BARE_NUMBER.fullmatch(line):
                # "1723" under a chapter title, the sums of an account: paragraphs of the source
                assert line in source_paragraphs, (number, line)


def test_saint_simon_footnote_marks_are_notword_counts() -> None:
    text = "\n".join(page_text(page) for page in stripped(SAINT_SIMON))
    assert "Trois-Évêchés. C’était" in text
    assert not re.search(r"[^\W\d]\d{1,2}\b", text.replace("’", "'"))


# --- the pdfcpu books: running heads, page numbers, stamps -------------------

GOBOOK_HEADS = {
    "Getting Started", "Your First Program", "Types", "Variables", "Control Structures",
    "Arrays, Slices and Maps", "Functions", "Pointers", "Structs and Interfaces",
    "Packages", "Testing", "The Core Packages", "Concurrency", "Next Steps",
}  # fmt: skip


def test_gobook_running_heads_only_open_their_chapters() -> None:
    """The head of a chapter is its title: on top of a page only where it opens."""
    firsts = Counter(lines[0] for lines in texts(GOBOOK) if lines and lines[0] in GOBOOK_HEADS)
    assert all(count <= 1 for count in firsts.values()), firsts
    raw_firsts = Counter(
        line.text
        for page in layouts(GOBOOK)
        for line in page.lines[:2]
        if line.text in GOBOOK_HEADS
    )
    assert sum(raw_firsts.values()) > 120  # the heads were there to begin with


def test_ecstr_running_heads_are_gone() -> None:
    head = re.compile(r"^(CHAPTER \d+\. [A-Z]|APPENDIX [A-Z]\. [A-Z]|CONTENTS$|BIBLIOGRAPHY$)")
    raw = [line.text for page in layouts(ECSTR) for line in page.lines if head.match(line.text)]
    assert len(raw) > 90
    left = [line for lines in texts(ECSTR) for line in lines if head.match(line)]
    assert left == []


def test_walden_stamps_and_page_numbers_are_gone() -> None:
    text = "\n".join("\n".join(lines) for lines in texts(WALDEN))
    assert "Creation date" not in text
    assert not re.search(r"\b\d+ of 249\b", text)
    assert "\nDraft\n" not in f"\n{text}\n"
    assert "I have travelled a good deal in Concord" in text


# Numbers that are text: the year at the foot of a title page.
TITLE_PAGE_YEARS = {GOBOOK: [], ECSTR: [(1, "2010")], WALDEN: [(2, "1854")]}


@pytest.mark.parametrize("name", [GOBOOK, ECSTR, WALDEN])
def test_no_bare_number_survives_as_a_line(name: str) -> None:
    """Page numbers, stamped numbers, listing line numbers, a TOC's page column."""
    left = [
        (number, line)
        for number, lines in enumerate(texts(name), 1)
        for line in lines
        if re.fullmatch(r"\d+|[ivxlc]+", line)
    ]
    assert left == TITLE_PAGE_YEARS[name]


@pytest.mark.parametrize("name", ALL_BOOKS)
def test_printed_page_numbers_are_not_at_page_tops_or_feet(name: str) -> None:
    for lines in texts(name):
        for line in lines[:1] + lines[-1:]:
            assert not re.fullmatch(r"[-–— ]*\d{1,3}[-–— ]*", line), line


@pytest.mark.parametrize("name", [GOBOOK, SAINT_SIMON])
def test_chunk_pdfs_with_the_book_plan_read_as_the_whole_book(name: str) -> None:
    """What the integrator does: plan at split time, strip each chunk's pages."""
    plan = FurniturePlan.from_json(plan_furniture(layouts(name)).to_json())
    whole = [page_text(page) for page in stripped(name)]
    reader = open_pdf(book_bytes(name))
    specs = plan_chunks(len(whole), 20, overlap=2)
    for spec, data in iter_chunk_pdfs(reader, specs):
        for offset, page in enumerate(read_layouts(data)):
            number = spec.read_start + offset
            assert page_text(strip_furniture(page, number, plan)) == whole[number - 1], number


# --- the generated novel: only its headers and page numbers go --------------


def test_sample_novel_loses_nothing_but_its_headers_and_page_numbers(tmp_path: Path) -> None:
    data = build_sample_book(tmp_path / "novel.pdf").read_bytes()
    # pypdf's lines are the reference: the header is the first, the number the last.
    reference = [page.extract_text().splitlines() for page in PdfReader(io.BytesIO(data)).pages]
    pages = read_layouts(data)
    plan = plan_furniture(pages)
    for number, (page, lines) in enumerate(zip(pages, reference, strict=True), 1):
        expected = lines if number == 1 else lines[1:-1]
        if number > 1:
            assert lines[0] in (AUTHOR, TITLE)
            assert lines[-1] == f"— {number} —"
        got = [line.text for line in strip_furniture(page, number, plan).lines]
        assert got == [" ".join(line.split()) for line in expected], number

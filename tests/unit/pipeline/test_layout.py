"""layout.py: lines, geometry, marks and reading order, on real and built PDFs."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import RectangleObject

from backend.pipeline.layout import Line, PageLayout, read_layouts, reading_order
from tests.unit.pipeline.books import BOOKS, ECSTR, SAINT_SIMON, layouts
from tests.unit.pipeline.proof_pdf import build_proof


@pytest.fixture(scope="module")
def proof_pages() -> list[PageLayout]:
    return read_layouts(build_proof().pdf)


def test_geometry_is_in_points_from_the_top_left(proof_pages: list[PageLayout]) -> None:
    page = proof_pages[0]
    assert (round(page.width), round(page.height)) == (420, 595)
    slug = next(line for line in page.lines if "qxd" in line.text)
    body = next(line for line in page.lines if line.text.startswith("Then"))
    for line in page.lines:
        assert 0 <= line.x0 < line.x1 <= page.width
        assert 0 <= line.top < line.bottom <= page.height
    assert slug.top < 20 < body.top  # the slug is set at y=14, the body from y=90
    assert slug.size == pytest.approx(7, abs=0.5)
    assert body.size == pytest.approx(11, abs=0.5)


def test_a_raised_smaller_number_is_a_note_mark_not_text(proof_pages: list[PageLayout]) -> None:
    line = next(line for line in proof_pages[1].lines if "commercials" in line.text)
    assert line.text == "sold in commercials generally, it was said."
    assert line.marks == ("10",)


def test_two_columns_read_left_then_right_below_a_title(proof_pages: list[PageLayout]) -> None:
    texts = [line.text for line in proof_pages[2].lines if "column" in line.text]
    assert texts[0].startswith("Part 3: two columns")
    assert texts[1:15] == [f"left column line {row} of page 3" for row in range(14)]
    assert texts[15:] == [f"right column line {row} of page 3" for row in range(14)]


def test_a_single_column_page_is_not_cut_in_two() -> None:
    lines = [Line(f"line {i}", 40, 100 + 12 * i, 380, 110 + 12 * i, 10) for i in range(20)]
    short = [Line("short", 40, 400 + 12 * i, 90, 410 + 12 * i, 10) for i in range(6)]
    assert reading_order(reversed(lines + short), 420) == lines + short


def test_saint_simon_footnote_marks_leave_the_sentence() -> None:
    page = layouts(SAINT_SIMON)[4]
    texts = [line.text for line in page.lines]
    assert "commandant des Trois-Évêchés. C’était un homme de" in texts
    mark_line = next(line for line in page.lines if "Trois-Évêchés" in line.text)
    assert mark_line.marks == ("1",)
    # The note itself, at the foot of the page, stays text (its number is a mark too).
    assert texts[-2].startswith("Toul, Metz et Verdun")
    # PDFium's line-end hyphen comes back as a plain hyphen.
    assert "Le comte de Saillant, lieutenant général et lieutenant-" in texts


def _source_vocabulary() -> set[str]:
    text = " ".join(p.read_text() for p in sorted((BOOKS / "saintsimon-source").glob("*")))
    text = text.replace("’", "'").replace("^", "")  # M^me^ is typeset Mme
    return {w.lower() for w in re.findall(r"\w+", text)}


def test_saint_simon_words_are_spaced_as_typeset() -> None:
    """XeTeX sets words apart by position only; glued words would not be in the source."""
    vocabulary = _source_vocabulary()
    tokens = [
        token
        for page in layouts(SAINT_SIMON)
        for line in page.lines
        # Words cut at a line end are whole in the source: leave out each line's
        # first and last words; numbers are page numbers.
        for token in re.findall(r"\w+", " ".join(line.text.replace("’", "'").split()[1:-1]))
        if not token.isdigit()
    ]
    unknown = [token for token in tokens if token.lower() not in vocabulary]
    assert len(tokens) > 30_000
    assert len(unknown) / len(tokens) < 0.001, unknown[:20]


def test_read_layouts_of_an_image_only_page_is_empty() -> None:
    assert layouts(SAINT_SIMON)[0].lines == ()


def test_pages_come_in_document_order() -> None:
    pages = read_layouts(build_proof(pages=4).pdf)
    assert len(pages) == 4
    for n in (1, 2):
        assert any(f"on page {n} row 0." in line.text for line in pages[n - 1].lines)


def test_a_code_line_in_several_fonts_stays_one_line() -> None:
    """ECSTR sets "*" in another font: three rectangles, one line of code."""
    texts = [line.text for line in layouts(ECSTR)[144].lines]
    assert "func (this *Variable) Evaluate(context *Context) bool {" in texts


def _rewritten(pdf: bytes, change: Callable[[PageObject], None]) -> bytes:
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        writer.add_page(page)
    change(writer.pages[1])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "change",
    [
        lambda page: page.rotate(90),
        # Boxes shifted off the origin: coordinates count from the crop box.
        lambda page: [
            setattr(page, "mediabox", RectangleObject((-100, -50, 420, 595))),
            setattr(page, "cropbox", RectangleObject((-100, -50, 420, 595))),
        ],
    ],
    ids=["rotated", "shifted-box"],
)
def test_a_rotated_or_shifted_page_reads_like_the_plain_one(
    change: Callable[[PageObject], None],
) -> None:
    proof = build_proof(pages=4)
    plain = read_layouts(proof.pdf)[1]
    page = read_layouts(_rewritten(proof.pdf, change))[1]
    assert [line.text for line in page.lines] == [line.text for line in plain.lines]
    for line in page.lines:
        assert 0 <= line.top < line.bottom <= page.height
        assert 0 <= line.x0 < line.x1 <= page.width


def test_margin_line_numbers_are_not_a_column() -> None:
    """Numbers down the margin, even inside the middle half of a wide page, stay on
    their rows: a column of text is wider than that."""
    numbers = [Line(str(i + 1), 135, 100 + 15 * i, 139, 108 + 15 * i, 7) for i in range(20)]
    prose = [Line(f"prose {i}", 160, 99 + 15 * i, 480, 110 + 15 * i, 11) for i in range(20)]
    ordered = reading_order(numbers + prose, 520)
    assert ordered == [line for pair in zip(numbers, prose, strict=True) for line in pair]

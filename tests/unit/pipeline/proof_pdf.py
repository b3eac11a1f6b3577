"""A small printer's proof, written with fpdf2: everything page furniture can be.

The proof copy of the issue is not in the corpus, so this builds its traits: a
slug line and crop marks on every page, running heads with the page number on
alternating sides, gutter line numbers down the margin, a two-column section, a
table of contents with dot leaders and a footnote reference mark. What the
reader should get back is returned beside the PDF, written down as the builder
sets it, not as any extractor reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fpdf import FPDF

WIDTH, HEIGHT = 420.0, 595.0
SLUG = "free_culture_r9jm.qxd 2/10/04 3:46 PM Page {n}"
HEAD_EVEN = "{n} FREE CULTURE"
HEAD_ODD = "INTRODUCTION {n}"
CROP_MARKS = "| | | | | | | |"
BODY_TOP = 90.0
PITCH = 15.0


@dataclass(frozen=True)
class Proof:
    pdf: bytes
    # The text each page should read as once its furniture is gone, line by line.
    expected: tuple[tuple[str, ...], ...]


def _prose(page: int, row: int) -> str:
    words = ["the", "river", "ran", "slowly", "past", "houses", "where", "people", "slept"]
    start = (page * 7 + row * 3) % len(words)
    picked = [words[(start + k) % len(words)] for k in range(7)]
    return f"Then {' '.join(picked)} on page {page} row {row}."


def build_proof(pages: int = 8) -> Proof:
    """``pages`` pages: single-column proof pages, two-column pages, a TOC last."""
    pdf = FPDF(unit="pt", format=(WIDTH, HEIGHT))
    pdf.set_auto_page_break(False)
    expected: list[tuple[str, ...]] = []
    for n in range(1, pages + 1):
        pdf.add_page()
        _furniture(pdf, n)
        if n == pages:
            expected.append(_toc(pdf))
        elif n % 3 == 0:
            expected.append(_two_columns(pdf, n))
        else:
            expected.append(_proof_page(pdf, n))
    return Proof(bytes(pdf.output()), tuple(expected))


def _furniture(pdf: FPDF, n: int) -> None:
    pdf.set_font("Helvetica", size=7)
    pdf.text(30, 14, SLUG.format(n=n))
    pdf.text(30, HEIGHT - 8, CROP_MARKS)
    pdf.text(WIDTH - 30 - pdf.get_string_width(CROP_MARKS), HEIGHT - 8, CROP_MARKS)
    pdf.set_font("Times", size=9)
    head = HEAD_EVEN.format(n=n) if n % 2 == 0 else HEAD_ODD.format(n=n)
    x = 50 if n % 2 == 0 else WIDTH - 50 - pdf.get_string_width(head)
    pdf.text(x, 50, head)


def _proof_page(pdf: FPDF, n: int) -> tuple[str, ...]:
    lines = []
    for row in range(24):
        y = BODY_TOP + row * PITCH
        pdf.set_font("Helvetica", size=7)
        pdf.text(22, y, str(row + 1))  # the gutter line number
        pdf.set_font("Times", size=11)
        if n == 2 and row == 5:
            lines.append(_with_note_mark(pdf, y))
            continue
        text = _prose(n, row)
        pdf.text(50, y, text)
        lines.append(text)
    return tuple(lines)


def _with_note_mark(pdf: FPDF, y: float) -> str:
    """A sentence with a raised, smaller reference mark inside it."""
    before, after = "sold in commercials generally,", "it was said."
    pdf.text(50, y, before)
    x = 50 + pdf.get_string_width(before)
    pdf.set_font("Times", size=7)
    pdf.text(x + 0.5, y - 4, "10")
    x += 0.5 + pdf.get_string_width("10")
    pdf.set_font("Times", size=11)
    pdf.text(x + pdf.get_string_width(" "), y, after)
    return f"{before} {after}"


def _two_columns(pdf: FPDF, n: int) -> tuple[str, ...]:
    pdf.set_font("Times", "B", 13)
    title = f"Part {n}: two columns of a paper set side by side"
    pdf.text(50, BODY_TOP, title)
    pdf.set_font("Times", size=10)
    left, right = [], []
    for row in range(14):
        y = BODY_TOP + 25 + row * 13
        a, b = f"left column line {row} of page {n}", f"right column line {row} of page {n}"
        pdf.text(50, y, a)
        pdf.text(225, y, b)
        left.append(a)
        right.append(b)
    return (title, *left, *right)


def _toc(pdf: FPDF) -> tuple[str, ...]:
    pdf.set_font("Times", size=11)
    titles = ["Piracy", "Property", "Puzzles", "Balances"]
    for row, title in enumerate(titles):
        y = BODY_TOP + row * PITCH
        number = str(row * 20 + 3)
        leader = "." * 60
        pdf.text(50, y, f"{title} {leader}")
        pdf.text(WIDTH - 50 - pdf.get_string_width(number), y, number)
    return tuple(titles)

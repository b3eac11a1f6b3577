"""Text with geometry, read with PDFium: the lines of a page, where they sit, in reading order.

PDFium's text page already does the hard part: it decodes every glyph, generates
the spaces a typesetter left out (XeTeX books set words apart by positioning
alone, which is why pypdf glues them together) and merges the characters of one
text object on one baseline into a rectangle. So instead of one ctypes call per
character, a page costs a few calls per *rectangle* (about one per line):

1. ``FPDFText_CountRects`` / ``FPDFText_GetRect`` give the rectangles (one per
   run of a text object: a line, or the part of a line in one font);
2. ``FPDFText_GetBoundedText`` gives the text inside each;
3. rectangles on the same baseline, close enough to be one line of text, are
   joined into a :class:`Line`; one ``FPDFText_GetFontSize`` per line gives its
   size.

A rectangle much smaller than its line and raised above its baseline that holds
only a number or a note sign is a footnote reference mark ("commercials
generally,¹⁰ it"): it is taken out of the text and kept in ``Line.marks``.
Superscript letters ("M^me") stay: they are part of the word.

Reading order: lines top to bottom; when the page has a clear vertical gutter
through its body (two columns) the left column comes before the right one,
block by block between the lines that span both columns (titles).
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

# PDFium marks a hyphen it takes for a soft (line-end) hyphen with U+FFFE in the
# full-page text and with U+0002 in bounded text; it is a real hyphen glyph on
# the page, so it goes back to "-" (clean.py decides whether to glue the word).
_PDFIUM_HYPHENS = ("\ufffe", "\x02")
# What a footnote reference mark is made of: digits, a few letters never (M^me
# and 1^er are words), the classic note signs.
_NOTE_MARK = re.compile(r"^[0-9*†‡§¶]{1,3}$")

# Two rectangles on one baseline are one line when the gap between them is at
# most this many times the line's height (a tight box: 0.7 to 1 em). A word
# space, even in a loose justified line or in code, is less; a column gutter or
# a margin number is more.
_JOIN_GAP = 1.5
# A mark is "raised" when its bottom is this fraction of the line height above
# the line's bottom, and "small" when shorter than this fraction of the line.
_RAISED = 0.33
_SMALL = 0.75
# A digit whose baseline is this fraction of the font size above its word's.
_RAISED_ORIGIN = 0.2
# A space is put between two joined rectangles when the gap between them is at
# least this fraction of the line height (glyph side bearings alone are less).
_SPACE_GAP = 0.18


@dataclass(frozen=True)
class Line:
    """One line of text on a page.

    Coordinates are PDF points with the origin at the page's *top*-left corner
    (``top < bottom``); ``size`` is the font size of the line's longest run;
    ``marks`` are the footnote reference marks taken out of ``text``.
    """

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    marks: tuple[str, ...] = ()

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class PageLayout:
    """A page's size in points and its lines in reading order."""

    width: float
    height: float
    lines: tuple[Line, ...]


@dataclass
class _Run:
    """Text of one or more PDFium rectangles, top-left origin.

    ``start`` is the index of its first character in the text page;
    ``space_before`` is PDFium's own verdict on a space before it when it
    comes from the same line of PDFium's text as the run before (None: it
    does not, and the gap between them decides).
    """

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    start: int
    space_before: bool | None = None
    marks: tuple[str, ...] = ()

    @property
    def height(self) -> float:
        return self.bottom - self.top


_Box = tuple[float, float, float, float]  # x0, top, x1, bottom (top-left origin)


def read_layouts(pdf_bytes: bytes) -> list[PageLayout]:
    """Every page of ``pdf_bytes`` read with :func:`read_page` (for tests and benches)."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        layouts = []
        for index in range(len(document)):
            page = document[index]
            try:
                layouts.append(read_page(page))
            finally:
                page.close()
        return layouts
    finally:
        document.close()


def read_page(page: pdfium.PdfPage) -> PageLayout:
    """The lines of ``page`` with their geometry, in reading order."""
    # Text comes in PDF user space, whatever the page's /Rotate: measure it from
    # the top-left corner of the (unrotated) crop box, clipped to the media box.
    left, bottom, right, top = (float(v) for v in page.get_bbox())
    width, height = right - left, top - bottom
    textpage = page.get_textpage()
    try:
        runs = _runs(textpage.raw, (left, top))
        lines = [_line(textpage.raw, group) for group in _group_runs(runs)]
    finally:
        textpage.close()
    kept = [line for line in lines if line.text]
    return PageLayout(width, height, tuple(reading_order(kept, width)))


def _page_text(raw: pdfium_c.FPDF_TEXTPAGE) -> str:
    """The whole text of the page, one str character per PDFium character."""
    count = pdfium_c.FPDFText_CountChars(raw)
    if count <= 0:
        return ""
    buffer = (ctypes.c_ushort * (count + 1))()
    pdfium_c.FPDFText_GetText(raw, 0, count, buffer)
    text = bytes(memoryview(buffer))[: 2 * count].decode("utf-16-le", errors="replace")
    if len(text) != count:  # characters beyond the BMP: keep indices aligned
        text = "".join(chr(unit) for unit in buffer[:count])
    return text


def _runs(raw: pdfium_c.FPDF_TEXTPAGE, origin: tuple[float, float]) -> list[_Run]:
    """PDFium's lines of text, cut where their rectangles must not stay together."""
    text, marks = _glued_marks(raw, _page_text(raw))
    for hyphen in _PDFIUM_HYPHENS:  # same length: indices hold
        text = text.replace(hyphen, "-")
    # NUL: a blanked mark, or a broken font's glyph: never text.
    clean_of = _without_nul if "\x00" in text else _collapsed
    rects = _RectReader(raw, origin)
    runs: list[_Run] = []
    for segment in _SEGMENT.finditer(text):
        start, end = segment.span()
        boxes = rects(start, end - start)
        if len(boxes) == 1:  # the common case: a whole line in one text object
            clean = clean_of(segment.group())
            if clean:
                runs.append(_Run(clean, *boxes[0], start, marks=_marks_in(marks, start, end)))
            continue
        if boxes:
            runs += _cut_segment(raw, text, start, end, boxes, marks, clean_of)
    return runs


def _collapsed(text: str) -> str:
    return " ".join(text.split())


def _without_nul(text: str) -> str:
    return " ".join(text.replace("\x00", "").split())


# Digits right after a letter: a reference mark set in the same text object as
# its word ("d'Orléans³") when raised, a model number ("A4", "F16") otherwise.
_GLUED_DIGITS = re.compile(r"(?<=[^\W\d])\d{1,3}(?![\w])")


def _glued_marks(raw: pdfium_c.FPDF_TEXTPAGE, text: str) -> tuple[str, dict[int, str]]:
    """``text`` with raised digits glued to a word blanked out, and those marks by index.

    Two calls per candidate (the baseline of the digit and of the letter before
    it); candidates are rare in prose.
    """
    marks: dict[int, str] = {}
    x, y_digit, y_letter = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    for match in _GLUED_DIGITS.finditer(text):
        first = match.start()
        if not (
            pdfium_c.FPDFText_GetCharOrigin(raw, first, ctypes.byref(x), ctypes.byref(y_digit))
            and pdfium_c.FPDFText_GetCharOrigin(
                raw, first - 1, ctypes.byref(x), ctypes.byref(y_letter)
            )
        ):
            continue
        size = float(pdfium_c.FPDFText_GetFontSize(raw, first - 1))
        if y_digit.value - y_letter.value > _RAISED_ORIGIN * size:
            marks[first] = match.group()
    if not marks:
        return text, marks
    chars = list(text)
    for first, mark in marks.items():
        chars[first : first + len(mark)] = "\x00" * len(mark)  # same length: indices hold
    return "".join(chars), marks


def _marks_in(marks: dict[int, str], start: int, end: int) -> tuple[str, ...]:
    if not marks:
        return ()
    return tuple(mark for index, mark in sorted(marks.items()) if start <= index < end)


def _cut_segment(
    raw: pdfium_c.FPDF_TEXTPAGE,
    text: str,
    start: int,
    end: int,
    boxes: list[_Box],
    marks: dict[int, str],
    clean_of: Callable[[str], str],
) -> list[_Run]:
    """The runs of a PDFium line made of several rectangles."""
    main = max(boxes, key=lambda box: (box[2] - box[0]) * (box[3] - box[1]))
    cuts = [j for j in range(1, len(boxes)) if _must_cut(boxes[j - 1], boxes[j], main)]
    bounds = [start, *(_first_char(raw, start, end - start, j) for j in cuts), end]
    edges = [0, *cuts, len(boxes)]
    runs = []
    for piece in range(len(edges) - 1):
        lo, hi = bounds[piece], bounds[piece + 1]
        raw_text = text[lo:hi]
        clean = clean_of(raw_text)
        own_marks = _marks_in(marks, lo, hi)
        if not clean and own_marks:
            # A mark in a rectangle of its own: :func:`_line` tells it by its box.
            clean, own_marks = "".join(own_marks), ()
        if not clean:
            continue
        members = boxes[edges[piece] : edges[piece + 1]]
        space = None
        if piece > 0:
            space = raw_text[:1].isspace() or text[lo - 1 : lo].isspace()
        runs.append(
            _Run(
                clean,
                min(box[0] for box in members),
                min(box[1] for box in members),
                max(box[2] for box in members),
                max(box[3] for box in members),
                lo,
                space,
                own_marks,
            )
        )
    return runs


# PDFium ends each of its lines with a generated CR LF.
_SEGMENT = re.compile(r"[^\r\n]+")


class _RectReader:
    """``FPDFText_CountRects`` + ``FPDFText_GetRect`` with the out-parameters made once
    per page: on a page of forty lines the ctypes set-up would cost more than PDFium."""

    def __init__(self, raw: pdfium_c.FPDF_TEXTPAGE, origin: tuple[float, float]) -> None:
        self.raw = raw
        self.origin = origin
        self.cells = tuple(ctypes.c_double() for _ in range(4))
        self.refs = tuple(ctypes.byref(cell) for cell in self.cells)
        self.count_rects = pdfium_c.FPDFText_CountRects
        self.get_rect = pdfium_c.FPDFText_GetRect

    def __call__(self, start: int, count: int) -> list[_Box]:
        raw, (left, top, right, bottom) = self.raw, self.refs
        l_cell, t_cell, r_cell, b_cell = self.cells
        x, y = self.origin
        boxes = []
        for index in range(self.count_rects(raw, start, count)):
            if self.get_rect(raw, index, left, top, right, bottom):
                # PDF space has its origin bottom-left; ours is top-left.
                boxes.append(
                    (l_cell.value - x, y - t_cell.value, r_cell.value - x, y - b_cell.value)
                )
        return boxes


def _first_char(raw: pdfium_c.FPDF_TEXTPAGE, start: int, count: int, rect: int) -> int:
    """Index of the first character of rectangle ``rect`` of the line at ``start``.

    ``FPDFText_CountRects`` over the first ``k`` characters grows with ``k``:
    a binary search finds where rectangle ``rect`` begins in a few calls, where
    asking each character for its box would cost one call per character.
    """
    lo, hi = 1, count
    while lo < hi:
        middle = (lo + hi) // 2
        if pdfium_c.FPDFText_CountRects(raw, start, middle) >= rect + 1:
            hi = middle
        else:
            lo = middle + 1
    return start + lo - 1


def _must_cut(a: _Box, b: _Box, main: _Box) -> bool:
    """Rectangles of one PDFium line that are not one line of text, or a mark."""
    height = main[3] - main[1]
    if _overlap(a, b) < 0.5 * min(a[3] - a[1], b[3] - b[1]):
        return True  # another baseline: PDFium joined lines across a hyphen
    gap = b[0] - a[2]
    if gap > _JOIN_GAP * height or gap < -0.25 * height:
        return True  # a column gutter, a margin number, text going back
    return _looks_like_mark(a, main) or _looks_like_mark(b, main)


def _overlap(a: _Box, b: _Box) -> float:
    return min(a[3], b[3]) - max(a[1], b[1])


def _looks_like_mark(box: _Box, main: _Box) -> bool:
    height = main[3] - main[1]
    small = box[3] - box[1] < _SMALL * height
    raised = main[3] - box[3] > _RAISED * height
    return box is not main and small and raised


def _group_runs(runs: Sequence[_Run]) -> list[list[_Run]]:
    """Consecutive runs on one baseline, close together, form one line."""
    groups: list[list[_Run]] = []
    main: _Run | None = None  # the tallest run of the last group
    for run in runs:
        if main is not None and _continues(main, groups[-1][-1], run):
            groups[-1].append(run)
            if run.height > main.height:
                main = run
        else:
            groups.append([run])
            main = run
    return groups


def _continues(main: _Run, last: _Run, run: _Run) -> bool:
    height = main.bottom - main.top
    overlap = min(main.bottom, run.bottom) - max(main.top, run.top)
    if overlap < 0.5 * min(height, run.bottom - run.top):
        return False
    gap = run.x0 - last.x1
    return -0.25 * height <= gap <= _JOIN_GAP * height


def _line(raw: pdfium_c.FPDF_TEXTPAGE, group: list[_Run]) -> Line:
    if len(group) == 1:
        run = group[0]
        size = _font_size(raw, run)
        return Line(run.text, run.x0, run.top, run.x1, run.bottom, size, run.marks)
    main = max(group, key=lambda r: (r.x1 - r.x0) * r.height)
    parts: list[str] = []
    marks: list[str] = []
    kept: list[_Run] = []
    previous: _Run | None = None
    after_mark = False
    for run in group:
        marks += run.marks
        if run is not main and _is_mark(run, main):
            marks.append(run.text)
            # The space, if any, is the one after the mark: "généralement,¹⁰ il".
            previous, after_mark = run, True
            continue
        if previous is not None and parts:
            space = None if after_mark else run.space_before
            if space is None:
                space = run.x0 - previous.x1 >= _SPACE_GAP * main.height
            if space:
                parts.append(" ")
        parts.append(run.text)
        kept.append(run)
        previous, after_mark = run, False
    return Line(
        text="".join(parts),
        x0=min(r.x0 for r in kept),
        top=min(r.top for r in kept),
        x1=max(r.x1 for r in kept),
        bottom=max(r.bottom for r in kept),
        size=_font_size(raw, main),
        marks=tuple(marks),
    )


def _is_mark(run: _Run, main: _Run) -> bool:
    if not _NOTE_MARK.match(run.text):
        return False
    small = run.height < _SMALL * main.height
    raised = main.bottom - run.bottom > _RAISED * main.height
    return small and raised


def _font_size(raw: pdfium_c.FPDF_TEXTPAGE, run: _Run) -> float:
    """The font size of the first character of ``run`` (its height when that is implausible)."""
    size = float(pdfium_c.FPDFText_GetFontSize(raw, run.start))
    # Text drawn at size 1 and scaled by its matrix reports 1: trust the box then.
    if 0.5 * run.height <= size <= 3 * run.height:
        return size
    return run.height


def reading_order(lines: Iterable[Line], page_width: float) -> list[Line]:
    """``lines`` top to bottom; the left column before the right one on a two-column page."""
    rows = _rows(list(lines))
    gutter = find_gutter([line for row in rows for line in row], page_width)
    if gutter is None:
        return [line for row in rows for line in row]
    ordered: list[Line] = []
    left: list[Line] = []
    right: list[Line] = []
    for row in rows:
        for line in row:
            if line.x1 <= gutter[1]:
                left.append(line)
            elif line.x0 >= gutter[0]:
                right.append(line)
            else:  # spans the gutter: a title; the columns above it come first
                ordered += left + right + [line]
                left, right = [], []
    return ordered + left + right


def _rows(lines: list[Line]) -> list[list[Line]]:
    """Lines sharing a baseline, each row left to right (``lines`` sorted by top)."""
    return [sorted(row, key=lambda line: line.x0) for row in group_rows(lines)]


def group_rows(lines: Iterable[Line]) -> list[list[Line]]:
    """Lines grouped into rows, top to bottom: a line whose middle falls within the
    tallest line of the row is on that row (a bullet, a superscript, a number set
    in a smaller size beside a heading)."""
    rows: list[list[Line]] = []
    tallest: list[Line] = []
    for line in sorted(lines, key=lambda line: (line.top + line.bottom) / 2):
        middle = (line.top + line.bottom) / 2
        if rows:
            main = tallest[-1]
            if (
                main.top <= middle <= main.bottom
                or line.top <= (main.top + main.bottom) / 2 <= line.bottom
            ):
                rows[-1].append(line)
                if line.height > main.height:
                    tallest[-1] = line
                continue
        rows.append([line])
        tallest.append(line)
    return rows


# A two-column body: at least this many lines wholly on each side of the gutter,
# and few lines crossing it (titles, a figure caption).
_MIN_COLUMN_LINES = 5
_MAX_CROSSING_SHARE = 0.25
# ...whose median line is at least this share of the page wide.
_MIN_COLUMN_SHARE = 0.15


def find_gutter(lines: Sequence[Line], page_width: float) -> tuple[float, float] | None:
    """The empty vertical band ``(x0, x1)`` between two columns, or None.

    Looked for in the middle half of the page: the widest band no line of the
    columns touches, with enough lines wholly on each side that overlap
    vertically (columns stand side by side, not one above the other).
    """
    if len(lines) < 2 * _MIN_COLUMN_LINES:
        return None
    lo, hi = 0.25 * page_width, 0.75 * page_width
    # Most pages have one column: most lines cross the middle half. Say so fast.
    if (
        sum(1 for line in lines if line.x1 <= hi) < _MIN_COLUMN_LINES
        or sum(1 for line in lines if line.x0 >= lo) < _MIN_COLUMN_LINES
    ):
        return None
    # Edges of lines that sit inside the search window, as gutter boundaries.
    edges = sorted({lo, hi, *(x for line in lines for x in (line.x0, line.x1) if lo < x < hi)})
    best: tuple[float, float] | None = None
    for a, b in zip(edges, edges[1:], strict=False):
        if b - a < 6.0 or (best is not None and b - a <= best[1] - best[0]):
            continue
        crossing = sum(1 for line in lines if line.x0 < b and line.x1 > a)
        left = [line for line in lines if line.x1 <= a]
        right = [line for line in lines if line.x0 >= b]
        if (
            len(left) >= _MIN_COLUMN_LINES
            and len(right) >= _MIN_COLUMN_LINES
            and crossing <= _MAX_CROSSING_SHARE * len(lines)
            and _side_by_side(left, right)
            and _wide(left, page_width)
            and _wide(right, page_width)
        ):
            best = (a, b)
    return best


def _wide(column: Sequence[Line], page_width: float) -> bool:
    """A column of text, not a column of margin numbers or bullets."""
    widths = sorted(line.x1 - line.x0 for line in column)
    return widths[len(widths) // 2] >= _MIN_COLUMN_SHARE * page_width


def _side_by_side(left: Sequence[Line], right: Sequence[Line]) -> bool:
    both = [*left, *right]
    top = max(min(line.top for line in left), min(line.top for line in right))
    bottom = min(max(line.bottom for line in left), max(line.bottom for line in right))
    span = max(line.bottom for line in both) - min(line.top for line in both)
    return bottom - top > 0.5 * span

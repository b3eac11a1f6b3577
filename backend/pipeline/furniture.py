"""Page furniture: what a book prints on its pages that is not its text.

Everything here decides by *position* and *repetition*, never by what the words
say. The rules, in the order they run on a page:

* glyph runs: three or more crop-mark, box-drawing or dingbat glyphs in a row
  (``❚❘❙❚❘❙``) are taken out of their line; a line left with nothing goes;
* dot leaders: a run of four or more leader dots (a table of contents) is taken
  out with the page number after it;
* gutter numbers: five or more lines that are only small integers, aligned at one
  x, increasing down the page (the line numbers of a proof) go;
* running heads and feet: a line of the top or bottom rows of the page whose text,
  digits replaced by ``#``, the book-wide plan saw at the same height on at least
  three pages close together (odd and even pages may carry different ones);
  printer's slug lines ("4TH PASS PAGES", "book.qxd 2/10/04 3:46 PM Page 51")
  repeat the same way and go with them;
* stamps: a line the plan saw with the same text at the same place on a third
  of the pages or more, anywhere on them (a "Draft" watermark across the page);
* page numbers: in the top or bottom rows, a line that is only a number (arabic
  or lowercase roman, "— 12 —", "Page 12", "12 / 80") — with a plan, an arabic
  one must be this page's number in one of the book's numberings or sit in a
  page-number slot (the year at the foot of a title page is text) — and
  everything on the row of such a number in the book's header/footer slot (the
  running head beside it); a line that starts or ends with this page's number
  loses it;
* labels: a line that is only a section number or a bullet followed on its row
  by text close by ("2.1" + "Related work", "•" + an item) is joined to it, and
  any other line that is only a number and shares its row with other lines (a
  table of contents' page column, a number in the margin) goes.

A line that is only a number standing alone on its row, inside the text column
(a year set as a paragraph) is text and stays.

:func:`plan_furniture` looks at the whole book once (at split time): a chunk
sees twenty pages, too few to see what repeats. :func:`strip_furniture` applies
the plan to one page; without a plan it applies only the rules that need no
book-wide view (glyph runs, leaders, gutter numbers, page numbers on the first
or last row).
"""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

from backend.pipeline.layout import Line, PageLayout, group_rows

Band = Literal["top", "bottom"]
# Where a repeating line was seen: a band, or anywhere on the page (a stamp).
Place = Literal["top", "bottom", "page"]

# How many rows at each end of a page can hold furniture, and how far into the
# page (a fraction of its height) they may reach.
_EDGE_ROWS = 2
_EDGE_SHARE = 0.2
# A running head: seen on this many pages at least, three of them within this
# many pages of each other, at the same height within this many points.
_MIN_REPEATS = 3
_REPEAT_WINDOW = 12
_SAME_HEIGHT = 3.0
# A header/footer slot: a height at which a page number sits on this share of
# the pages that have one in that band.
_SLOT_SHARE = 0.3
# A stamp (a watermark, a "Draft" across the page): the same text at the same
# place on this share of the pages, anywhere on them.
_STAMP_SHARE = 0.3
# A numbering: an offset between document and printed page numbers shared by
# this share of the numbers seen.
_NUMBERING_SHARE = 0.2
# Gutter numbers: at least this many, aligned within this many points.
_MIN_GUTTER_LINES = 5
_ALIGNED = 3.0

# Bounds of a stored plan (it is a blob beside the chunk files).
MAX_PLAN_BYTES = 1_000_000
_MAX_HEADS = 5_000
_MAX_TEXT = 300
_MAX_SLOTS = 16

_ROMAN = r"(?=[ivxlcdm]+\b)m{0,4}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_DECOR = r"[\s\-–—·•|()\[\]*]*"
_PAGE_NUMBER = re.compile(
    rf"^{_DECOR}(?:(?:page|p\.)\s*)?(?:\d{{1,4}}|{_ROMAN})(?:\s*(?:/|of|sur)\s*\d{{1,4}})?{_DECOR}$",
    re.IGNORECASE,
)
_UPPER_ROMAN = re.compile(r"^[\s\-–—]*[IVXLCDM]+[\s\-–—.]*$")
_ONLY_NUMBER = re.compile(r"^[\s(\[]*\d+(?:[.,:]\d+)*[.)\]]?\s*$")
# What may stand before a heading or an item on its row: a section number, a
# bullet, a list letter.
_LABEL = re.compile(r"^(?:[(\[]?\d+(?:[.,:]\d+)*[.)\]]?|[•·◦▪‣∙*–—-]|[(]?[a-zA-Z][.)])$")
_SMALL_INTEGER = re.compile(r"^\d{1,3}$")
_EDGE_NUMBER = re.compile(r"^(\d{1,4})\s+(?=\S)|(?<=\S)\s+(\d{1,4})$")
# A leader ends its line (maybe before a page number) with five dots or more;
# inside a line it takes eight: ". . . ." is an ellipsis and a full stop.
# A long title leaves room for three spaced dots before its page number.
_LEADER = re.compile(
    r"\s*(?:[.·…_]\s*){5,}(?:\d{1,4}|[ivxlcdm]+)?\s*$"
    r"|\s*(?:\.\s+){2,}\.\s*(?:\d{1,4}|[ivxlcdm]+)\s*$"
    r"|\s*(?:[.·…_]\s*){8,}",
    re.IGNORECASE,
)
# Every leader has two leader dots close together: a cheap test before _LEADER,
# whose leading blanks make it try every space of every line.
_LEADER_HINT = re.compile(r"[.·…_]\s?[.·…_]")
# Crop marks and ornaments: box drawing, blocks, geometric shapes, dingbats, bars.
_GLYPH = "\u2500-\u25ff\u2700-\u27bf\u2758-\u275a|¦\u2016"
_GLYPH_RUN = re.compile(rf"[{_GLYPH}](?:\s*[{_GLYPH}]){{2,}}")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class RunningHead:
    """A line the plan saw repeating in one band of the pages, at height ``top``."""

    band: Place
    text: str  # normalised: casefolded, digits as "#", spaces collapsed
    top: float


@dataclass(frozen=True)
class FurniturePlan:
    """What repeats across the whole book: running heads and the page-number slots."""

    page_count: int
    heads: tuple[RunningHead, ...] = ()
    # Heights (line tops) at which page numbers sit, per band.
    slots: dict[str, tuple[float, ...]] = field(default_factory=dict)
    # printed page number = document page number - offset, for each numbering
    # the book carries (a stamped one may run beside the printed one).
    offsets: tuple[int, ...] = ()

    @cached_property
    def head_heights(self) -> dict[str, tuple[float, ...]]:
        """The distinct heights of the heads of each place, for a quick first test."""
        heights: dict[str, set[float]] = defaultdict(set)
        for head in self.heads:
            heights[head.band].add(head.top)
        return {band: tuple(sorted(tops)) for band, tops in heights.items()}

    def to_json(self) -> bytes:
        data = {
            "version": 1,
            "page_count": self.page_count,
            "heads": [[h.band, h.text, round(h.top, 2)] for h in self.heads],
            "slots": {band: [round(y, 2) for y in ys] for band, ys in self.slots.items()},
            "offsets": list(self.offsets),
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> FurniturePlan:
        """Load a plan written by :meth:`to_json`; ``ValueError`` on anything else."""
        if len(data) > MAX_PLAN_BYTES:
            raise ValueError("furniture plan too large")
        try:
            raw = json.loads(data.decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"furniture plan is not JSON ({exc})") from exc
        if not isinstance(raw, dict) or raw.get("version") != 1:
            raise ValueError("furniture plan: unknown format")
        page_count = raw.get("page_count")
        heads = raw.get("heads")
        slots = raw.get("slots")
        offsets = raw.get("offsets")
        if not isinstance(page_count, int) or isinstance(page_count, bool) or page_count < 0:
            raise ValueError("furniture plan: bad page_count")
        if not isinstance(heads, list) or len(heads) > _MAX_HEADS:
            raise ValueError("furniture plan: bad heads")
        if (
            not isinstance(offsets, list)
            or len(offsets) > _MAX_SLOTS
            or not all(_is_int(o) and abs(o) < 1e6 for o in offsets)
        ):
            raise ValueError("furniture plan: bad offsets")
        parsed = tuple(_head(item) for item in heads)
        if not isinstance(slots, dict) or set(slots) - {"top", "bottom"}:
            raise ValueError("furniture plan: bad slots")
        parsed_slots = {band: _slot_list(ys) for band, ys in slots.items()}
        return cls(page_count, parsed, parsed_slots, tuple(offsets))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e6


def _head(item: Any) -> RunningHead:
    if (
        not isinstance(item, list)
        or len(item) != 3
        or item[0] not in ("top", "bottom", "page")
        or not isinstance(item[1], str)
        or len(item[1]) > _MAX_TEXT
        or not _is_number(item[2])
    ):
        raise ValueError("furniture plan: bad running head")
    return RunningHead(item[0], item[1], float(item[2]))


def _slot_list(ys: Any) -> tuple[float, ...]:
    if not isinstance(ys, list) or len(ys) > _MAX_SLOTS or not all(_is_number(y) for y in ys):
        raise ValueError("furniture plan: bad slots")
    return tuple(float(y) for y in ys)


@dataclass(frozen=True)
class Removal:
    """A line (or part of one) a rule took away, for reports and tests."""

    rule: str
    text: str


def page_text(page: PageLayout) -> str:
    """The page's lines joined with newlines: what ``clean.clean_pages`` reads."""
    return "\n".join(line.text for line in page.lines)


def normalise(text: str) -> str:
    """A line's text as repetition sees it: casefolded, digits as ``#``, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_DIGITS.sub("#", text).split())[:_MAX_TEXT]


# --- geometry helpers -------------------------------------------------------


def _rows(lines: Sequence[Line]) -> list[list[Line]]:
    """The page's lines grouped by baseline, top to bottom, each row left to right."""
    return [sorted(row, key=lambda line: line.x0) for row in group_rows(lines)]


def _edges(page: PageLayout, rows: list[list[Line]]) -> dict[Band, list[list[Line]]]:
    """The rows that can hold furniture: the first and last few, near the page edge."""
    top = [row for row in rows[:_EDGE_ROWS] if row[0].top < _EDGE_SHARE * page.height]
    bottom = [
        row
        for row in rows[-_EDGE_ROWS:]
        if row[0].bottom > (1 - _EDGE_SHARE) * page.height and row not in top
    ]
    return {"top": top, "bottom": bottom}


def _is_page_number(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(text)) and not _UPPER_ROMAN.match(text)


# --- the plan ---------------------------------------------------------------


@dataclass
class _Seen:
    """What the plan notes about one band of one page."""

    # (value, top) of bare page numbers, and of numbers a line starts or ends with
    bare: list[tuple[int, float]] = field(default_factory=list)
    edge: list[tuple[int, float]] = field(default_factory=list)
    # (normalised text, top, on the outermost row) of the lines with letters
    lines: list[tuple[str, float, bool]] = field(default_factory=list)


def plan_furniture(pages: Sequence[PageLayout]) -> FurniturePlan:
    """Look at every page of a book once and say what repeats on them.

    First the page numbers: the offset between document and printed numbers,
    and the heights (slots) where they sit. A running head is then looked for
    at or beyond the page-number slot of its band (above it at the top, below
    it at the foot), or only on the outermost row of a band without numbers:
    the first line of the body sits at the same height on every page, and in a
    book of code listings it repeats too ("package main").
    """
    noted: list[dict[Band, _Seen]] = []
    placed: dict[tuple[str, int, int], set[int]] = defaultdict(set)
    # The lines with letters of each page, normalised.
    lettered: list[set[str]] = []
    for number, page in enumerate(pages, start=1):
        cleaned = _strip_local(page, [])
        lettered.append(
            {normalise(line.text) for line in cleaned.lines if any(c.isalpha() for c in line.text)}
        )
        for line in cleaned.lines:
            # Buckets of the tolerance: a stamp sits at the same place to the point.
            bucket = (round(line.top / _SAME_HEIGHT), round(line.x0 / _SAME_HEIGHT))
            placed[(normalise(line.text), *bucket)].add(number)
        rows = _rows(cleaned.lines)
        bands: dict[Band, _Seen] = {"top": _Seen(), "bottom": _Seen()}
        noted.append(bands)
        if not rows:  # a blank page, a scan
            continue
        for band, band_rows in _edges(cleaned, rows).items():
            outermost = rows[0] if band == "top" else rows[-1]
            for row in band_rows:
                for line in row:
                    _note(bands[band], line, row is outermost)
    offsets = _offsets(noted)
    slots: dict[str, tuple[float, ...]] = {}
    for band in ("top", "bottom"):
        tops = [
            top
            for number, bands in enumerate(noted, start=1)
            for value, top in bands[band].bare + bands[band].edge
            if number - value in offsets
        ]
        if found := _slots(tops, len(pages)):
            slots[band] = found
    hits: dict[tuple[Band, str], list[tuple[int, float]]] = defaultdict(list)
    for number, bands in enumerate(noted, start=1):
        for band, seen in bands.items():
            for key, top, outer in seen.lines:
                if _head_place(band, top, outer, slots.get(band, ())):
                    hits[(band, key)].append((number, top))
    heads = [
        head
        for (band, key), found in hits.items()
        if (head := _running_head(band, key, found)) is not None
    ]
    floor = max(_MIN_REPEATS, _STAMP_SHARE * len(pages))
    stamps = {
        (key, top): RunningHead("page", key, round(top * _SAME_HEIGHT, 2))
        for (key, top, _), numbers in placed.items()
        if len(numbers) >= floor and any(ch.isalpha() for ch in key)
    }
    heads += stamps.values()
    heads = _around_text(heads, lettered)
    heads.sort(key=lambda head: (head.band, head.text, head.top))
    return FurniturePlan(len(pages), tuple(heads[:_MAX_HEADS]), slots, offsets)


def _around_text(heads: list[RunningHead], lettered: Sequence[set[str]]) -> list[RunningHead]:
    """The heads that sit around text: furniture frames a page's text, it is not all of it.

    A line repeated on pages that hold nothing else but other repeated lines
    (a document of one-line pages, a form printed twenty times) is the text. A
    head is kept when, on at least half of the pages it is seen on, the page has
    a line with letters that is no head.
    """
    keys = {head.text for head in heads}
    seen_on: dict[str, int] = defaultdict(int)
    framing: dict[str, int] = defaultdict(int)
    for texts in lettered:
        heads_here = texts & keys
        if not heads_here:
            continue
        has_text = bool(texts - keys)
        for key in heads_here:
            seen_on[key] += 1
            framing[key] += has_text
    return [head for head in heads if 2 * framing[head.text] >= seen_on[head.text]]


def _note(seen: _Seen, line: Line, outer: bool) -> None:
    if _is_page_number(line.text):
        value = _DIGITS.search(line.text)
        if value is not None:
            seen.bare.append((int(value.group()), line.top))
        return
    edge = _EDGE_NUMBER.search(line.text)
    if edge is not None:
        seen.edge.append((int(edge.group(1) or edge.group(2)), line.top))
    key = normalise(line.text)
    if any(ch.isalpha() for ch in key):
        seen.lines.append((key, line.top, outer))


def _offsets(noted: Sequence[dict[Band, _Seen]]) -> tuple[int, ...]:
    """document page - printed page, for each numbering many pages agree on."""
    for kind in ("bare", "edge"):  # bare numbers first: a line's last word may be any number
        counts: dict[int, int] = defaultdict(int)
        for number, bands in enumerate(noted, start=1):
            for seen in bands.values():
                for value, _ in getattr(seen, kind):
                    counts[number - value] += 1
        floor = max(_MIN_REPEATS, _NUMBERING_SHARE * sum(counts.values()))
        found = sorted(offset for offset, count in counts.items() if count >= floor)
        if found:
            return tuple(found[:_MAX_SLOTS])
    return ()


def _head_place(band: Band, top: float, outer: bool, slots: Sequence[float]) -> bool:
    if not slots:
        return outer
    if band == "top":
        return top <= max(slots) + _SAME_HEIGHT
    return top >= min(slots) - _SAME_HEIGHT


def _running_head(band: Band, key: str, hits: list[tuple[int, float]]) -> RunningHead | None:
    if len(hits) < _MIN_REPEATS:
        return None
    top = statistics.median(t for _, t in hits)
    pages = sorted({n for n, t in hits if abs(t - top) <= _SAME_HEIGHT})
    close = any(
        pages[i + _MIN_REPEATS - 1] - pages[i] <= _REPEAT_WINDOW
        for i in range(len(pages) - _MIN_REPEATS + 1)
    )
    return RunningHead(band, key, round(top, 2)) if close else None


def _slots(tops: list[float], page_count: int) -> tuple[float, ...]:
    """Heights shared by many page numbers of a band (one or two: odd and even pages)."""
    clusters: list[list[float]] = []
    for top in sorted(tops):
        if clusters and top - clusters[-1][-1] <= _SAME_HEIGHT:
            clusters[-1].append(top)
        else:
            clusters.append([top])
    floor = max(_MIN_REPEATS, _SLOT_SHARE * len(tops))
    found = [round(statistics.median(c), 2) for c in clusters if len(c) >= floor]
    return tuple(found[:_MAX_SLOTS])


# --- stripping a page -------------------------------------------------------


def strip_furniture(page: PageLayout, page_number: int, plan: FurniturePlan | None) -> PageLayout:
    """``page`` without its furniture (see the module doc); ``page_number`` is 1-based."""
    return strip_with_report(page, page_number, plan)[0]


def strip_with_report(
    page: PageLayout, page_number: int, plan: FurniturePlan | None
) -> tuple[PageLayout, list[Removal]]:
    """:func:`strip_furniture`, and what each rule took away.

    ``ValueError`` when ``page_number`` is not a page of the book ``plan`` was
    made for (a chunk mapped to the wrong document pages, or another book's plan).
    """
    if plan is not None and not 1 <= page_number <= plan.page_count:
        raise ValueError(
            f"page {page_number} is not in the planned book of {plan.page_count} pages"
        )
    removed: list[Removal] = []
    page = _strip_local(page, removed)
    rows = _rows(page.lines)
    edges = _edges(page, rows)
    gone: set[int] = set()
    trimmed: dict[int, Line] = {}
    for band, band_rows in edges.items():
        slots = plan.slots.get(band, ()) if plan is not None else ()
        for row in band_rows:
            in_slot = _in_slot(row, slots)
            outer = row is (rows[0] if band == "top" else rows[-1])
            numbers = {id(line) for line in row if _page_number(line, page_number, slots, plan)}
            for line in row:
                if id(line) in numbers:
                    gone.add(id(line))
                    removed.append(Removal("page_number", line.text))
                elif (plan is not None and _is_head(line, band, plan)) or (
                    # beside the page number, in the book's header slot
                    numbers and (in_slot or (plan is None and outer))
                ):
                    gone.add(id(line))
                    removed.append(Removal("running_head", line.text))
                elif plan is not None:
                    cut = _without_page_number(line, {page_number - o for o in plan.offsets})
                    if cut is not None:
                        trimmed[id(line)] = cut
                        removed.append(Removal("page_number", line.text))
    if plan is not None:
        for line in page.lines:
            if id(line) not in gone and _is_head(line, "page", plan):
                gone.add(id(line))
                removed.append(Removal("stamp", line.text))
    lines = [trimmed.get(id(line), line) for line in page.lines if id(line) not in gone]
    lines = _numbers_in_rows(lines, removed)
    return replace(page, lines=tuple(lines)), removed


def _strip_local(page: PageLayout, removed: list[Removal]) -> PageLayout:
    """The rules that look at one line or one page: glyph runs, leaders, gutter numbers."""
    lines: list[Line] = []
    for line in page.lines:
        text = line.text
        if _GLYPH_RUN.search(text):
            text = " ".join(_GLYPH_RUN.sub(" ", text).split())
            removed.append(Removal("glyph_run", line.text))
        if _LEADER_HINT.search(text) and _LEADER.search(text):
            text = " ".join(_LEADER.sub(" ", text).split())
            removed.append(Removal("dot_leader", line.text))
        if text:
            lines.append(line if text == line.text else replace(line, text=text))
    gutter = _gutter_numbers(lines)
    for line in lines:
        if id(line) in gutter:
            removed.append(Removal("gutter_number", line.text))
    return replace(page, lines=tuple(line for line in lines if id(line) not in gutter))


def _gutter_numbers(lines: Sequence[Line]) -> set[int]:
    """Ids of the lines that form a column of increasing small integers at one x."""
    numbers = [line for line in lines if _SMALL_INTEGER.match(line.text)]
    if len(numbers) < _MIN_GUTTER_LINES:
        return set()
    found: set[int] = set()
    for edge in ("x0", "x1"):
        for column in _aligned(numbers, edge):
            column.sort(key=lambda line: line.top)
            values = [int(line.text) for line in column]
            if all(b > a for a, b in zip(values, values[1:], strict=False)):
                found |= {id(line) for line in column}
    return found


def _aligned(lines: list[Line], edge: str) -> list[list[Line]]:
    ordered = sorted(lines, key=lambda line: float(getattr(line, edge)))
    groups: list[list[Line]] = []
    for line in ordered:
        if groups and float(getattr(line, edge)) - float(getattr(groups[-1][0], edge)) <= _ALIGNED:
            groups[-1].append(line)
        else:
            groups.append([line])
    return [group for group in groups if len(group) >= _MIN_GUTTER_LINES]


def _in_slot(row: list[Line], slots: Sequence[float]) -> bool:
    return any(abs(line.top - y) <= _SAME_HEIGHT for line in row for y in slots)


def _is_head(line: Line, band: Place, plan: FurniturePlan) -> bool:
    heights = plan.head_heights.get(band)
    # Most lines sit where no head does: skip normalising their text.
    if not heights or not any(abs(top - line.top) <= _SAME_HEIGHT for top in heights):
        return False
    key = normalise(line.text)
    return any(
        head.band == band and head.text == key and abs(head.top - line.top) <= _SAME_HEIGHT
        for head in plan.heads
    )


def _page_number(
    line: Line, page_number: int, slots: Sequence[float], plan: FurniturePlan | None
) -> bool:
    """A page number in an edge row: with a plan, an arabic one must be this page's
    number in one of the book's numberings or sit in a page-number slot (a year
    at the foot of a title page is text)."""
    if not _is_page_number(line.text):
        return False
    value = _DIGITS.search(line.text)
    if plan is None or not plan.offsets or value is None:
        return True
    if any(abs(line.top - y) <= _SAME_HEIGHT for y in slots):
        return True
    return page_number - int(value.group()) in plan.offsets


def _without_page_number(line: Line, expected: set[int]) -> Line | None:
    """``line`` without the page number it starts or ends with, if it is ``expected``."""
    match = _EDGE_NUMBER.search(line.text)
    if match is None:
        return None
    value = int(match.group(1) or match.group(2))
    if value not in expected:
        return None
    text = (line.text[: match.start()] + line.text[match.end() :]).strip()
    return replace(line, text=text) if text else None


def _numbers_in_rows(lines: list[Line], removed: list[Removal]) -> list[Line]:
    """Join a section number to the heading beside it; drop other numbers sharing a row."""
    rows = _rows(lines)
    joined: dict[int, Line] = {}
    gone: set[int] = set()
    for row in rows:
        if len(row) < 2:
            continue
        for index, line in enumerate(row):
            label = _LABEL.match(line.text) is not None
            if not (label or _ONLY_NUMBER.match(line.text)) or id(line) in gone:
                continue
            following = row[index + 1] if index + 1 < len(row) else None
            if (
                label
                and following is not None
                and following.x0 - line.x1 <= 4 * max(line.size, following.size)
                and any(ch.isalpha() for ch in following.text)
            ):
                merged = replace(following, text=f"{line.text} {following.text}", x0=line.x0)
                joined[id(following)] = merged
                gone.add(id(line))
            elif _ONLY_NUMBER.match(line.text):
                gone.add(id(line))
                removed.append(Removal("stray_number", line.text))
    return [joined.get(id(line), line) for line in lines if id(line) not in gone]

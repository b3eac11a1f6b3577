"""Repair extracted text: characters, running headers, hyphenation, line wraps.

The result is one string of whitespace-free words (and punctuation) joined by
spaces, with a newline where a sentence must start regardless of punctuation (a
dialogue line, the line after a title), plus the offset where each page's
words start (:class:`CleanedText`). Work is done on whole lines with str
methods; no per-word objects are built.

Every decision looks at a bounded neighbourhood — a page and the pages at most
two away for running headers, a line and the next for everything else — so a
chunk that reads a few pages around its own cleans them exactly as a run over
the whole document does.

Heuristics
----------
* Running headers/footers: the first two and last two lines of a page are
  candidates, stripped from the edge inwards. A line goes if it is only a page
  number ("12", "- 12 -", "— 12 —", "Page 12", "12 / 80"), or if it is short
  (≤ 12 words), has no sentence punctuation, does not open a quote or a
  dialogue, and either its normalised form (casefolded, digits → ``#``)
  appears among the top (resp. bottom) two lines of another page at most two
  pages away — what alternating headers (author on even pages, title on odd
  pages) need — or, on a page with a page number, it sits in the header (resp.
  footer) slot, is shorter than 60 % of the page's longest line, and an
  adjacent page with a page number has such a short line in the same slot.
  The second test lets a chunk that reads only two pages of a book with
  alternating headers strip them as the whole-document run does; a chunk
  that reads a single numbered page applies it without the neighbour.
* Hyphenation: a line (or page) ending in ``letter-`` is glued to the next
  line's first word. The hyphen is kept when it is probably a real one: the
  next part starts with a capital or a digit, the left part is already a
  compound (``c'est-à-`` + ``dire``), the right part is a clitic or a known
  second half (``il``, ``t-elle``, ``même``, ``être``, ``dessus``...) or has at
  most two letters — French typesetting leaves at least three letters after a
  break, so ``-on``, ``-ci``, ``-là`` are real hyphens. Otherwise the hyphen
  goes (``ex-`` + ``emple`` → ``exemple``).
* Hard breaks: a line starting with an em or en dash after a line that ends a
  sentence (or a colon) is a dialogue line; a short line without punctuation
  followed by a capitalised line is a title (shorter than 60 % of the page's
  median line, or any line on a page of short lines such as a title page).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
}
# Non-breaking, narrow and typographic spaces become plain spaces: the French
# space before « ; : ! ? » survives as an ordinary space.
_SPACES = dict.fromkeys(
    ["\u00a0", "\u202f", "\u2007", "\u2009", "\u200a", "\u3000", "\t", "\f", "\v"]
    + [chr(c) for c in range(0x2000, 0x2007)],
    " ",
)
_INVISIBLE = dict.fromkeys(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"], "")
_HYPHENS = {"\u2010": "-", "\u2011": "-"}


# One regex pass that replaces only the characters to map, instead of
# str.translate with a dict, which is slow on non-ASCII text (a dict lookup per
# character): a page holds a few such characters (French spaces) or none.
_CHAR_MAP = {**_LIGATURES, **_SPACES, **_INVISIBLE, **_HYPHENS}
_SPECIAL_CHARS = re.compile("[" + "".join(sorted(_CHAR_MAP)) + "]")


def _mapped(match: re.Match[str]) -> str:
    return _CHAR_MAP[match.group()]


_SOFT_HYPHEN = "\u00ad"
_LINE_END_SOFT_HYPHENS = re.compile(f"{_SOFT_HYPHEN}+(?=[ ]*(?:\n|$))")
# Runs of whitespace other than a newline (what str.split() splits on).
_BLANKS = re.compile(r" [^\S\n]+|[^\S\n ][^\S\n]*")  # not a lone plain space: it stays
_ODD_SPACE = re.compile(r"[^\S \n]")
_PAGE_NUMBER = re.compile(
    r"^[\s\-–—·•|]*(?:(?:page|p\.)\s*)?\d{1,4}(?:\s*(?:/|sur|of)\s*\d{1,4})?[\s\-–—·•|]*$",
    re.IGNORECASE,
)
_SENTENCE_END_CHARS = '.!?…:»”")'
_NOT_TITLE_END_CHARS = _SENTENCE_END_CHARS + ";,-"
_BROKEN_WORD = re.compile(r"\w-$")
_DASHES = ("—", "–")
_WORD_RUN = re.compile(r"\S+")

# Second halves that make a hyphen at a line end a real one (see module doc).
# fmt: off
_KEEP_RIGHT = frozenset({
    "elle", "elles", "ils", "nous", "vous", "même", "mêmes", "moi", "toi", "eux", "soi",
    "être", "delà", "dessus", "dessous", "uns", "unes", "midi",
})
_KEEP_PAIRS = frozenset({
    ("là", "bas"), ("là", "haut"), ("avant", "hier"), ("après", "demain"),
    ("grand", "mère"), ("grand", "père"), ("belle", "mère"), ("beau", "père"),
})
# fmt: on


@dataclass(frozen=True)
class CleanedText:
    """The cleaned text of consecutive pages and the page each word comes from.

    ``text`` holds whitespace-free words separated by one space, or by a
    newline where a sentence must start (a hard break). ``page_starts[i]`` is
    the offset in ``text`` of the first word of page ``i`` (0-based, in the
    list given to :func:`clean_pages`); a page without words starts where the
    next one does, or at ``len(text)``. A word glued across a page break counts
    as being on the page of its second half, so it starts its page.
    """

    text: str
    page_starts: tuple[int, ...]

    def page_of(self, offset: int) -> int:
        """The page of the word that starts at ``offset``."""
        return bisect.bisect_right(self.page_starts, offset) - 1

    def pages_with_text(self) -> set[int]:
        """Indices of the pages that kept at least one word."""
        ends = (*self.page_starts[1:], len(self.text))
        return {i for i, (a, b) in enumerate(zip(self.page_starts, ends, strict=False)) if a < b}

    def words(self) -> list[tuple[str, int]]:
        """Each word and its page: what tests and diagnostics read."""
        return [(m.group(), self.page_of(m.start())) for m in _WORD_RUN.finditer(self.text)]


def normalize_chars(text: str) -> str:
    """NFC, ligatures → letters, exotic spaces → space, soft hyphens resolved.

    A soft hyphen at the end of a line is kept (it marks a word to glue to the
    next line, see :func:`clean_pages`); anywhere else it is dropped.
    """
    text = unicodedata.normalize("NFC", text)
    text = _SPECIAL_CHARS.sub(_mapped, text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _SOFT_HYPHEN not in text and "\x00" not in text:
        return text
    text = _LINE_END_SOFT_HYPHENS.sub("\x00", text)
    return text.replace(_SOFT_HYPHEN, "").replace("\x00", _SOFT_HYPHEN)


def page_lines(text: str) -> list[str]:
    """The non-empty lines of a page, normalised, with collapsed spaces."""
    text = normalize_chars(text)
    # The substitutions scan slowly; the checks that they have work to do do not.
    if "  " in text or _ODD_SPACE.search(text):
        text = _BLANKS.sub(" ", text)
    return [stripped for line in text.split("\n") if (stripped := line.strip(" "))]


def is_page_number_line(line: str) -> bool:
    """True for a line that is only a page number: "12", "— 12 —", "Page 12"."""
    return bool(_PAGE_NUMBER.match(line))


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", line.casefold()).strip()


def _may_run(line: str) -> bool:
    """Could ``line`` be a running header/footer (before checking repetition)?"""
    words = line.split()
    return (
        0 < len(words) <= 12
        and line[-1] not in _SENTENCE_END_CHARS
        and not line.startswith(("«", "“", '"', "—", "–", "-"))
        and any(ch.isalpha() for ch in line)
    )


def _short(line: str, longest: int) -> bool:
    return _may_run(line) and len(line) < 0.6 * longest


def _running(line: str, keys: set[str], slot: str | None) -> bool:
    """Is ``line`` furniture: a page number, a repeated line, or the running slot?"""
    if is_page_number_line(line):
        return True
    return _may_run(line) and (_key(line) in keys or line == slot)


def _slot(lines: Sequence[str]) -> str | None:
    """The first line that is not a page number: where a running header sits."""
    return next((line for line in lines[:2] if not is_page_number_line(line)), None)


def strip_running_lines(pages: Sequence[Sequence[str]]) -> list[list[str]]:
    """Remove page numbers and running headers/footers from each page's lines.

    Besides repetition within two pages (see the module doc), a short line in
    the header (or footer) slot of a numbered page goes when the slot of an
    adjacent numbered page also holds a short line: alternating headers differ
    on adjacent pages, and a chunk may only see two of them.
    """
    count = len(pages)
    tops = [{_key(line) for line in lines[:2]} for lines in pages]
    bottoms = [{_key(line) for line in lines[-2:]} for lines in pages]
    # Relative to the longest line, not the median: a page at the end of a
    # chapter may hold only a few short dialogue lines.
    longest = [max((len(x) for x in lines), default=0) for lines in pages]
    numbered = [any(map(is_page_number_line, [*lines[:2], *lines[-2:]])) for lines in pages]
    slots = [(_slot(lines), _slot(lines[::-1])) for lines in pages]
    short_slot = [
        [numbered[i] and slot is not None and _short(slot, longest[i]) for slot in slots[i]]
        for i in range(count)
    ]
    result: list[list[str]] = []
    for i, lines in enumerate(pages):
        near = [j for j in range(i - 2, i + 3) if j != i and 0 <= j < count]
        top_keys = set().union(*(tops[j] for j in near))
        bottom_keys = set().union(*(bottoms[j] for j in near))
        # A lone page (a one-page tail chunk without overlap) has no neighbour to
        # compare with: its own numbered layout is the only evidence there is.
        adjacent = [j for j in (i - 1, i + 1) if 0 <= j < count]
        top_slot, bottom_slot = (
            slots[i][end]
            if short_slot[i][end] and (count == 1 or any(short_slot[j][end] for j in adjacent))
            else None
            for end in (0, 1)
        )
        start, stop = 0, len(lines)
        while start < min(2, stop) and _running(lines[start], top_keys, top_slot):
            start += 1
        while stop > max(start, len(lines) - 2) and _running(
            lines[stop - 1], bottom_keys, bottom_slot
        ):
            stop -= 1
        if start >= stop and not numbered[i]:
            # Nothing but "running" lines and no page number: the repetition is
            # the body itself (a one-word page, a form), not a header to strip.
            start, stop = 0, len(lines)
        result.append(list(lines[start:stop]))
    return result


def is_real_hyphen(left: str, right: str) -> bool:
    """Is the hyphen ending ``left`` (at a line end) part of the word ``left+right``?"""
    head = left[:-1]
    tail = right.rstrip(".,;:!?…»”\")'’").casefold()
    if not right[:1].isalpha() or not right[0].islower():
        return True
    if "-" in head or "-" in tail:
        return True
    letters = sum(ch.isalpha() for ch in tail)
    last_part = re.split(r"['’]", head.casefold())[-1]
    return letters <= 2 or tail in _KEEP_RIGHT or (last_part, tail) in _KEEP_PAIRS


def join_broken_word(left: str, right: str) -> str:
    """Glue a word broken at a line end: ``ex-``+``emple`` → ``exemple``."""
    if left.endswith(_SOFT_HYPHEN):
        return left[:-1] + right
    return left + right if is_real_hyphen(left, right) else left[:-1] + right


def _median(values: list[int]) -> float:
    """``statistics.median``, without its generality (and cost)."""
    values.sort()
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2


def _starts_sentence(word: str) -> bool:
    head = word.lstrip('«“"(')
    return word.startswith(("«", "“") + _DASHES) or (head[:1].isupper() or head[:1].isdigit())


def clean_pages(pages: Sequence[str], *, fix_hyphenation: bool = True) -> CleanedText:
    """Clean the raw texts of consecutive pages into one text (see :class:`CleanedText`).

    Works line by line on whole strings: only a line's first and last words
    are looked at (for gluing a broken word and for hard breaks).
    """
    lines_per_page = strip_running_lines([page_lines(text) for text in pages])
    parts: list[str] = []  # the text, one item per line (with its separator)
    length = 0  # len("".join(parts))
    starts: list[int | None] = []
    last = ""  # the last word so far
    glue = False  # ``last`` is a word broken at a line end
    prev_end = "."  # last character of the previous line ("." at the start)
    prev_title = False
    for lines in lines_per_page:
        # A title is short for its page: shorter than 60 % of the page's median
        # line, or any line on a page of short lines (a title page).
        median = _median([len(line) for line in lines]) if lines else 0.0
        title_length = 0.6 * median
        page_start: int | None = None
        for line in lines:
            space = line.find(" ")
            first = line if space < 0 else line[:space]
            if glue and first[:1].isalnum():
                joined = join_broken_word(last, first)
                length -= len(last)
                parts[-1] = parts[-1][: len(parts[-1]) - len(last)]
                word_start = length
                part = joined + line[len(first) :]
                if space < 0:
                    first = joined
            else:
                if last.endswith(_SOFT_HYPHEN):
                    kept = last.rstrip(_SOFT_HYPHEN)
                    parts[-1] = parts[-1][: len(parts[-1]) - len(last)] + kept
                    length -= len(last) - len(kept)
                if parts:
                    hard = (prev_title and _starts_sentence(first)) or (
                        first.startswith(_DASHES) and prev_end in _SENTENCE_END_CHARS
                    )
                    part = ("\n" if hard else " ") + line
                    word_start = length + 1
                else:
                    part, word_start = line, length
            if page_start is None:
                page_start = word_start
            parts.append(part)
            length += len(part)
            last = first if space < 0 else line[line.rfind(" ") + 1 :]
            glue = last[-1:] == _SOFT_HYPHEN or (
                fix_hyphenation and last[-1:] == "-" and bool(_BROKEN_WORD.search(last))
            )
            prev_end = line[-1]
            prev_title = (
                prev_end not in _NOT_TITLE_END_CHARS
                and line.count(" ") <= 7  # at most 8 words: lines have single spaces
                and (len(line) < title_length or median < 30)
            )
        starts.append(page_start)
    if last.endswith(_SOFT_HYPHEN):
        kept = last.rstrip(_SOFT_HYPHEN)
        parts[-1] = parts[-1][: len(parts[-1]) - len(last)] + kept
    text = "".join(parts)
    # A page without words starts where the next page does.
    filled: list[int] = []
    following = len(text)
    for start in reversed(starts):
        following = following if start is None else start
        filled.append(following)
    return CleanedText(text, tuple(reversed(filled)))


def clean_text(pages: Sequence[str], *, fix_hyphenation: bool = True) -> str:
    """The cleaned text of ``pages``: words joined by spaces, hard breaks as newlines."""
    return clean_pages(pages, fix_hyphenation=fix_hyphenation).text

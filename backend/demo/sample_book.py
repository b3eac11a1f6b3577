"""Generate a French novel-like sample PDF, deterministically (fpdf2, core fonts).

``python -m backend.demo.sample_book OUT.pdf [PAGES] [SEED]`` writes one.

The book has a title page, chapters starting on a new page with a title and a
subtitle, running headers (the author on even pages, the title on odd pages),
page numbers in the footer ("— 12 —"), and text set line by line by a small
typesetter of our own so that we control hyphenation: words are broken at a
line end with a hyphen, as a typesetter would, and on the pages listed in
:data:`CROSS_PAGE_BREAKS` the last word of the page is broken across the page
break. On other pages the last line is never hyphenated.

Fonts: fpdf2's core Times font with ``core_fonts_encoding = "windows-1252"``
renders « » é à ç œ — … and the non-breaking space, and pypdf extracts them
back unchanged, so no font file is needed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

from backend.demo.prose import Prose
from backend.pipeline.clean import is_real_hyphen

AUTHOR = "Hélène Marchand"
TITLE = "Les Heures grises"
CROSS_PAGE_BREAKS = frozenset({9, 15, 21, 35, 42, 57})
_CHAPTERS = ["premier", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
# fmt: off
_SUBTITLES = [
    "Le départ", "La maison de la colline", "Les quais", "Une lettre", "L’hiver", "Le retour",
    "La foire", "Les absents", "Le registre", "La crue", "Les voisins", "La dernière heure",
]
# fmt: on

_PAGE_SIZE = (148.0, 210.0)
_LEFT, _WIDTH = 18.0, 112.0
_BODY_TOP, _LINE, _LINES_PER_PAGE = 28.0, 5.4, 30
_CHAPTER_FIRST_LINE = 9  # body lines left blank under a chapter title
_INDENT = 6.0
_VOWELS = set("aeiouyàâäéèêëîïôöùûüœ")
_INSEPARABLE = (
    {"ch", "ph", "th", "gn", "qu", "gu"}
    | {c + "r" for c in "bcdfgptv"}
    | {c + "l" for c in "bcfgp"}
)


@dataclass
class _Page:
    lines: list[tuple[float, str]] = field(default_factory=list)  # (indent, text)
    chapter: tuple[str, str] | None = None


class _Typesetter:
    """Fills pages line by line; measures text with fpdf2's font metrics."""

    def __init__(self, pdf: FPDF, page_limit: int, prose: Prose) -> None:
        self.pdf, self.limit, self.prose = pdf, page_limit, prose
        self.pages: list[_Page] = [_Page()]  # page 1: the title page
        self.line = _LINES_PER_PAGE

    def start_chapter(self, number: int) -> bool:
        if len(self.pages) >= self.limit:
            return False
        title = f"Chapitre {_CHAPTERS[number % len(_CHAPTERS)]}"
        self.pages.append(_Page(chapter=(title, _SUBTITLES[number % len(_SUBTITLES)])))
        self.line = _CHAPTER_FIRST_LINE
        return True

    def add_paragraph(self, text: str, *, strict: bool = True) -> str:
        """Set ``text``: "ok", or "full" (book full) or "retry" with nothing changed.

        "retry" means the paragraph would occupy the last line of a page listed
        in :data:`CROSS_PAGE_BREAKS` without breaking a word there.
        """
        saved = ([(_Page(list(p.lines), p.chapter)) for p in self.pages], self.line)
        words, indent = text.split(" "), _INDENT
        while words:
            if self.line >= _LINES_PER_PAGE:
                if len(self.pages) >= self.limit:
                    self.pages, self.line = saved
                    return "full"
                self.pages.append(_Page())
                self.line = 0
            last_on_page = self.line == _LINES_PER_PAGE - 1
            forced = last_on_page and len(self.pages) in CROSS_PAGE_BREAKS
            line, words = self._fill(words, _WIDTH - indent, last_on_page, forced)
            if forced and strict and not line.endswith("-"):
                self.pages, self.line = saved
                return "retry"
            self.pages[-1].lines.append((indent, line))
            self.line, indent = self.line + 1, 0.0
        return "ok"

    def place(self, text: str) -> bool:
        """Set ``text`` or another paragraph in its place; False once the book is full."""
        for _ in range(50):
            status = self.add_paragraph(text)
            if status != "retry":
                return status == "ok"
            text = self.prose.narrative_paragraph()
        return self.add_paragraph(text, strict=False) == "ok"

    def _fill(
        self, words: list[str], width: float, last_on_page: bool, forced: bool
    ) -> tuple[str, list[str]]:
        fits = self.pdf.get_string_width
        line: list[str] = []
        for i, word in enumerate(words):
            candidate = " ".join([*line, word])
            full = fits(candidate) > width
            if forced and line and fits(candidate) > 0.55 * width or full:
                may_hyphenate = forced or (not last_on_page and self.prose.rng.random() < 0.6)
                split = self._hyphenate(line, word, width) if may_hyphenate else None
                if split is not None:
                    return " ".join([*line, split[0]]), [split[1], *words[i + 1 :]]
                if full:
                    return " ".join(line), words[i:]
            line.append(word)
        return " ".join(line), []

    def _hyphenate(self, line: list[str], word: str, width: float) -> tuple[str, str] | None:
        """The longest ``left-`` / ``right`` break of ``word`` that fits the line."""
        for cut in range(len(word) - 3, 1, -1):
            left, right = word[:cut], word[cut:]
            if not _breakable(word, cut):
                continue
            head = left if left.endswith("-") else left + "-"
            if self.pdf.get_string_width(" ".join([*line, head])) > width:
                continue
            if left.endswith("-") != is_real_hyphen(head, right):
                continue  # extraction would glue it back differently
            return head, right
        return None


def _breakable(word: str, cut: int) -> bool:
    if word[cut - 1] == "-":
        return cut >= 3
    core = word.rstrip(".,;:!?…»")
    if not core.isalpha() or not core.islower() or cut > len(core) - 3:
        return False
    a, b, c = core[cut - 2], core[cut - 1], core[cut]
    nxt = core[cut + 1]
    if b in _VOWELS and c not in _VOWELS and nxt in _VOWELS:
        return True  # ma-ison, che-min
    return (
        a in _VOWELS
        and b not in _VOWELS
        and c not in _VOWELS
        and nxt in _VOWELS
        and (b + c not in _INSEPARABLE)
    )  # par-tir, mon-tagne


def _render(pdf: FPDF, pages: list[_Page]) -> None:
    for number, page in enumerate(pages, start=1):
        pdf.add_page()
        if number == 1:
            pdf.set_font("Times", size=14)
            pdf.text(_LEFT, 50, AUTHOR)
            pdf.set_font("Times", "B", 22)
            pdf.text(_LEFT, 70, TITLE)
            pdf.set_font("Times", size=12)
            pdf.text(_LEFT, 82, "Roman")
            pdf.text(_LEFT, 185, "Éditions du Lac")
            continue
        pdf.set_font("Times", "I", 9)
        header = AUTHOR if number % 2 == 0 else TITLE
        pdf.text(_LEFT + (_WIDTH - pdf.get_string_width(header)) / 2, 16, header)
        if page.chapter:
            pdf.set_font("Times", "B", 16)
            pdf.text(_LEFT, _BODY_TOP + 10, page.chapter[0])
            pdf.set_font("Times", "I", 13)
            pdf.text(_LEFT, _BODY_TOP + 20, page.chapter[1])
        pdf.set_font("Times", size=11)
        first = _CHAPTER_FIRST_LINE if page.chapter else 0
        for row, (indent, text) in enumerate(page.lines, start=first):
            pdf.text(_LEFT + indent, _BODY_TOP + row * _LINE, text)
        pdf.set_font("Times", size=9)
        footer = f"— {number} —"
        pdf.text(_LEFT + (_WIDTH - pdf.get_string_width(footer)) / 2, 200, footer)


def build_sample_book(path: str | Path, pages: int = 64, seed: int = 1871) -> Path:
    """Write a ``pages``-page French sample novel to ``path``; same seed, same bytes."""
    if pages < 4:
        raise ValueError("the sample book needs at least 4 pages")
    pdf = FPDF(unit="mm", format=_PAGE_SIZE)
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_auto_page_break(False)
    # A fixed date instead of "now": the same seed gives the same bytes.
    pdf.set_creation_date(datetime(2024, 1, 1, tzinfo=UTC))
    pdf.set_font("Times", size=11)
    prose = Prose(seed)
    setter = _Typesetter(pdf, pages, prose)
    pages_per_chapter = max(3, (pages - 1) // max(1, round((pages - 1) / 10)))
    chapter, chapter_start = 0, 2
    setter.start_chapter(chapter)
    while True:
        # A chapter never ends on a page whose last word must cross the break.
        chapter_done = len(setter.pages) - chapter_start >= pages_per_chapter - 1
        if (
            chapter_done
            and len(setter.pages) not in CROSS_PAGE_BREAKS
            and setter.start_chapter(chapter + 1)
        ):
            chapter, chapter_start = chapter + 1, len(setter.pages)
        if not all(setter.place(text) for text in prose.paragraphs()):
            filler = (setter.add_paragraph(prose.short_paragraph()) for _ in range(20))
            if not any(status == "ok" for status in filler):
                break
    _render(pdf, setter.pages)
    out = Path(path)
    pdf.output(str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m backend.demo.sample_book OUT.pdf [PAGES] [SEED]")
        return 2
    pages = int(args[1]) if len(args) > 1 else 64
    seed = int(args[2]) if len(args) > 2 else 1871
    print(build_sample_book(args[0], pages=pages, seed=seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

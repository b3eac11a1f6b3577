"""The readability check on real pages (none may be flagged) and on garbled ones.

Real pages: every page of four real books and of the corpus's text PDFs, as
PDFium extracts them (the new pipeline's extractor). Garbled pages: TAMReview's
glyph-code pages (PDFium and pypdf), real French and English prose Caesar-shifted, mapped to
private-use or CJK code points, random letters, and PDFs whose font has a
broken ToUnicode map, built here from raw PDF objects.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from backend.pipeline.readability import (
    MIN_JUDGED_CHARS,
    SUSPECT_KNOWN_SHARE,
    Readability,
    assess_page,
)
from bench.pdfium_text import plain_texts
from tests.hostile_pdfs import raw_pdf, stream

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
BOOKS = FIXTURES / "books"
CORPUS = FIXTURES / "corpus"


def pdfium_pages(path: Path) -> list[str]:
    return plain_texts(path)


def corpus_text_pdfs() -> list[str]:
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8") as manifest:
        rows = list(csv.DictReader(manifest, delimiter="\t"))
    return [
        row["filename"]
        for row in rows
        if row["category"] in ("text", "french_text", "edge")
        # Garbled on purpose: tested page by page below.
        and row["filename"] != "pdfjs__TAMReview.pdf"
        # Zero pages: PDFium refuses to open it, there is nothing to assess.
        and row["filename"] != "qpdf__c-empty.pdf"
    ]


def french_prose() -> str:
    """Saint-Simon's own text: the paragraphs of a chapter, markup removed."""
    markdown = (BOOKS / "saintsimon-source" / "cjns1989-saintsimon__md_ch2001.md").read_text(
        encoding="utf-8"
    )
    paragraphs = [
        block.replace("\n", " ")
        for block in markdown.split("\n\n")
        if block.strip() and not block.lstrip().startswith(("<", "#", "["))
    ]
    return re.sub(r"[*_]|\[\^?\d+\]", "", " ".join(paragraphs))


def english_prose() -> str:
    """A page of Walden, as PDFium gives it."""
    return pdfium_pages(BOOKS / "pdfcpu__AlternatingPageNumbersViaWatermarkMap.pdf")[40]


def caesar(text: str, shift: int) -> str:
    lower = "abcdefghijklmnopqrstuvwxyz"
    upper = lower.upper()
    table = str.maketrans(
        lower + upper, lower[shift:] + lower[:shift] + upper[shift:] + upper[:shift]
    )
    return text.translate(table)


def page_of(text: str, chars: int = 2000) -> str:
    """About one page of ``text``, cut at a word."""
    return text[:chars].rsplit(" ", 1)[0]


def flagged(pages: list[str]) -> dict[int, str | None]:
    verdicts = {number: assess_page(text) for number, text in enumerate(pages, start=1)}
    return {number: v.reason for number, v in verdicts.items() if not v.readable}


def judged(verdict: Readability) -> bool:
    return verdict.letters + verdict.suspect_chars >= MIN_JUDGED_CHARS


# Real text -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(path.name for path in BOOKS.glob("*.pdf")))
def test_no_page_of_a_real_book_is_flagged(name: str) -> None:
    pages = pdfium_pages(BOOKS / name)
    assert flagged(pages) == {}
    # The books are long and textual: nearly every page was judged, not waved through.
    assert sum(judged(assess_page(text)) for text in pages) >= 0.95 * len(pages) - 2


@pytest.mark.parametrize("name", corpus_text_pdfs())
def test_no_page_of_a_real_corpus_text_pdf_is_flagged(name: str) -> None:
    assert flagged(pdfium_pages(CORPUS / name)) == {}


@pytest.mark.parametrize(
    ("pdf", "page", "what"),
    [
        (BOOKS / "pdfcpu__ECSTR11-01.pdf", 185, "a references page"),
        (BOOKS / "pdfcpu__gobook.0.pdf", 137, "a Go code listing"),
        (CORPUS / "pypdf__GeoBase_NHNC1_Data_Model_UML_EN.pdf", 15, "a UML diagram's identifiers"),
        (CORPUS / "pdfjs__annotation-text-widget.pdf", 1, "form-field labels"),
    ],
    ids=["references", "go-listing", "uml-identifiers", "form-labels"],
)
def test_pages_with_few_common_words_are_still_readable(pdf: Path, page: int, what: str) -> None:
    verdict = assess_page(pdfium_pages(pdf)[page - 1])
    # Few known words, so the letter-pair test decided, and said readable.
    assert verdict.known_share <= SUSPECT_KNOWN_SHARE, what
    assert verdict.bigram_share is not None
    assert verdict.bigram_share > 0.7
    assert verdict.readable, (what, verdict)


LATIN = (
    "Quo usque tandem abutere, Catilina, patientia nostra? Quam diu etiam furor iste tuus "
    "nos eludet? Quem ad finem sese effrenata iactabit audacia? Nihilne te nocturnum "
    "praesidium Palati, nihil urbis vigiliae, nihil timor populi, nihil concursus bonorum "
    "omnium, nihil hic munitissimus habendi senatus locus, nihil horum ora voltusque "
    "moverunt? Patere tua consilia non sentis, constrictam iam horum omnium scientia teneri "
    "coniurationem tuam non vides? O tempora, o mores!"
)
GERMAN = (
    "Als Gregor Samsa eines Morgens aus unruhigen Träumen erwachte, fand er sich in seinem "
    "Bett zu einem ungeheueren Ungeziefer verwandelt. Er lag auf seinem panzerartig harten "
    "Rücken und sah, wenn er den Kopf ein wenig hob, seinen gewölbten, braunen, von "
    "bogenförmigen Versteifungen geteilten Bauch, auf dessen Höhe sich die Bettdecke, zum "
    "gänzlichen Niedergleiten bereit, kaum noch erhalten konnte."
)
NUMBERS = "\r\n".join(
    f"{year}  {1000 + 37 * year % 911:>6}  {year * 3.25:>9.2f}  {year % 17:>3} %"
    for year in range(1950, 2000)
)


@pytest.mark.parametrize(
    "text",
    [LATIN, GERMAN, NUMBERS, "Chapitre XII\r\n\r\n147", ""],
    ids=["latin", "german", "table-of-numbers", "title-page", "empty"],
)
def test_quotations_tables_and_short_pages_are_readable(text: str) -> None:
    assert assess_page(text).readable


def test_french_prose_from_the_source_is_readable() -> None:
    verdict = assess_page(page_of(french_prose()))
    assert verdict.readable
    assert verdict.known_share > 0.3


# Garbled text --------------------------------------------------------------


def test_tamreview_pages_2_to_22_are_flagged_and_the_others_are_not() -> None:
    pages = pdfium_pages(CORPUS / "pdfjs__TAMReview.pdf")
    assert len(pages) == 23
    reasons = flagged(pages)
    # PDFium gives the body pages as glyph indices (control characters), not
    # words: pypdf gives /gNN codes for the same pages.
    assert sorted(reasons) == list(range(2, 23))
    assert all("control, private-use" in str(reason) for reason in reasons.values())


def test_tamreview_glyph_names_from_pypdf_are_flagged() -> None:
    # The same pages through pypdf (today's extractor): "/g18/g152/g135...".
    reader = PdfReader(CORPUS / "pdfjs__TAMReview.pdf")
    verdicts = [assess_page(page.extract_text()) for page in reader.pages]
    assert [n for n, v in enumerate(verdicts, start=1) if not v.readable] == list(range(2, 23))
    assert "glyph names" in str(verdicts[1].reason)


@pytest.mark.parametrize("shift", [1, 3, 13, 25])
def test_caesar_shifted_french_prose_is_flagged_with_its_shift(shift: int) -> None:
    verdict = assess_page(caesar(page_of(french_prose()), shift))
    assert not verdict.readable
    assert verdict.caesar_shift == shift
    assert "Caesar-shifted" in str(verdict.reason)


def test_caesar_shifted_capitals_like_the_social_security_form_are_flagged() -> None:
    # "ne pas remplir les conditions" came out as "QH SDV UHPSOLU OHV FRQGLWLRQV".
    assert caesar("NE PAS REMPLIR LES CONDITIONS", 3) == "QH SDV UHPSOLU OHV FRQGLWLRQV"
    verdict = assess_page(caesar(page_of(french_prose()).upper(), 3))
    assert (verdict.readable, verdict.caesar_shift) == (False, 3)


def test_caesar_shifted_english_prose_is_flagged() -> None:
    verdict = assess_page(caesar(english_prose(), 3))
    assert (verdict.readable, verdict.caesar_shift) == (False, 3)


def test_private_use_characters_are_flagged() -> None:
    # A symbol font's codes as PDFium leaks them: U+F000 + the byte.
    text = "".join(chr(0xF000 + ord(c)) if c.isalpha() else c for c in page_of(french_prose()))
    verdict = assess_page(text)
    assert not verdict.readable
    assert "private-use" in str(verdict.reason)


def test_replacement_characters_are_flagged() -> None:
    text = re.sub(r"[aeinrstu]", "\ufffd", page_of(english_prose()))
    assert not assess_page(text).readable


def test_letters_of_another_script_are_flagged() -> None:
    # CID garbage: a ToUnicode map that lands in the CJK block.
    text = "".join(chr(0x4E00 + ord(c)) if c.isalpha() else c for c in page_of(french_prose()))
    verdict = assess_page(text)
    assert not verdict.readable
    assert "outside the Latin script" in str(verdict.reason)


def test_random_letters_are_flagged_as_random() -> None:
    rng = random.Random(13)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
        for _ in range(300)
    ]
    verdict = assess_page(" ".join(words))
    assert not verdict.readable
    assert verdict.caesar_shift is None
    assert "random" in str(verdict.reason)


@pytest.mark.parametrize("seed", range(8))
def test_letters_swapped_for_others_are_flagged(seed: int) -> None:
    # A broken map that is not a shift: each letter stands for another one.
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    swapped = "".join(random.Random(seed).sample(alphabet, len(alphabet)))
    table = str.maketrans(alphabet + alphabet.upper(), swapped + swapped.upper())
    for prose in (page_of(french_prose()), page_of(english_prose())):
        verdict = assess_page(prose.translate(table))
        assert not verdict.readable, verdict
        assert verdict.bigram_share is not None
        assert verdict.bigram_share < 0.5


def test_too_little_garbage_to_judge_is_not_flagged_but_a_page_of_it_is() -> None:
    garbage = caesar(page_of(french_prose()), 3)
    short = garbage[:45].rsplit(" ", 1)[0]
    verdict = assess_page(short)
    assert verdict.letters < MIN_JUDGED_CHARS
    assert verdict.readable
    assert not assess_page(garbage).readable


def test_lone_surrogates_and_nul_bytes_are_counted_as_suspect() -> None:
    # Text decoded wrongly upstream may carry them; they must not crash the count.
    verdict = assess_page("\ud800abc " * 30)
    assert (verdict.readable, verdict.suspect_chars) == (False, 30)
    assert not assess_page("\x00" * 100).readable


def test_pdfium_hyphenation_marks_are_not_garbage() -> None:
    # PDFium marks a word broken at a line end with U+FFFE ("care\ufffeful").
    text = page_of(english_prose()).replace("e", "e\ufffe")
    verdict = assess_page(text)
    assert verdict.readable
    assert verdict.suspect_chars == 0


# PDFs whose font has a broken ToUnicode map ---------------------------------


def pdf_with_tounicode(lines: list[str], ranges: bytes) -> bytes:
    """One page set in Helvetica whose ToUnicode CMap is ``ranges`` (bfrange lines)."""
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"/CMapName /Broken def 1 begincodespacerange <00> <FF> endcodespacerange\n"
        + ranges
        + b"\nendcmap CMapName currentdict /CMap defineresource pop end end"
    )
    shown = b" ".join(
        b"(" + line.encode("latin-1").replace(b"(", b"\\(").replace(b")", b"\\)") + b") '"
        for line in lines
    )
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 595]"
            b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
            stream(b"BT /F1 9 Tf 11 TL 20 570 Td " + shown + b" ET"),
            stream(cmap),
        ]
    )


def prose_lines() -> list[str]:
    words = page_of(french_prose(), 1500).encode("latin-1", "replace").decode("latin-1").split()
    return [" ".join(words[i : i + 10]) for i in range(0, len(words), 10)]


def first_page_text(data: bytes) -> str:
    document = pdfium.PdfDocument(data)
    try:
        return document[0].get_textpage().get_text_range()
    finally:
        document.close()


def test_a_right_tounicode_map_gives_a_readable_page() -> None:
    # The control of the two below: the same PDF with an identity map.
    text = first_page_text(
        pdf_with_tounicode(prose_lines(), b"1 beginbfrange <20> <FF> <0020> endbfrange")
    )
    assert "Plusieurs personnes" in text
    assert assess_page(text).readable


def test_a_tounicode_map_shifted_by_three_is_flagged_as_caesar() -> None:
    shifted = b"2 beginbfrange <41> <5A> <0044> <61> <7A> <0064> endbfrange"
    text = first_page_text(pdf_with_tounicode(prose_lines(), shifted))
    assert "Soxvlhxuv shuvrqqhv" in text  # "Plusieurs personnes"
    verdict = assess_page(text)
    assert (verdict.readable, verdict.caesar_shift) == (False, 3)


def test_a_tounicode_map_into_private_use_is_flagged() -> None:
    text = first_page_text(
        pdf_with_tounicode(prose_lines(), b"1 beginbfrange <20> <FF> <F020> endbfrange")
    )
    verdict = assess_page(text)
    assert not verdict.readable
    assert verdict.suspect_chars > 0.9 * verdict.non_space_chars

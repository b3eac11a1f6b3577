"""The sample book, and the key property: chunking does not change the result."""

from __future__ import annotations

import inspect
import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from backend.demo import prose, sample_book
from backend.demo.sample_book import AUTHOR, CROSS_PAGE_BREAKS, TITLE, build_sample_book
from backend.pipeline.extract import extract_pages
from backend.pipeline.furniture import FurniturePlan, plan_furniture
from backend.pipeline.layout import read_layouts
from backend.pipeline.processors.local import LocalProcessor
from backend.pipeline.split import open_pdf, plan_chunks, write_chunk_pdf
from backend.pipeline.types import ChunkInput, ProcessSettings, Sentence
from tests.unit.pipeline.helpers import whole

UNCUT = ProcessSettings(words_per_sentence=10_000)


@pytest.fixture(scope="module")
def raw_pages(sample_bytes: bytes) -> list[str]:
    """The pages as printed, furniture included (pypdf reads them line by line)."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(sample_bytes)).pages]


@pytest.fixture(scope="module")
def plan(sample_bytes: bytes) -> FurniturePlan:
    """The book-wide furniture plan, as the split computes it."""
    return plan_furniture(read_layouts(sample_bytes))


@pytest.fixture(scope="module")
def whole_result(sample_bytes: bytes, raw_pages: list[str], plan: FurniturePlan) -> list[Sentence]:
    spec = whole(len(raw_pages))
    chunk = ChunkInput(sample_bytes, spec, UNCUT, furniture=plan)
    return list(LocalProcessor().process(chunk).sentences)


def test_book_is_long_and_deterministic(sample_bytes: bytes, tmp_path: Path) -> None:
    assert len(extract_pages(sample_bytes)) == 64
    assert build_sample_book(tmp_path / "again.pdf").read_bytes() == sample_bytes
    assert build_sample_book(tmp_path / "other.pdf", seed=7).read_bytes() != sample_bytes


def test_page_count_is_configurable(tmp_path: Path) -> None:
    assert len(extract_pages(build_sample_book(tmp_path / "b.pdf", pages=12).read_bytes())) == 12


def test_pages_carry_running_headers_and_numbers(raw_pages: list[str]) -> None:
    for number in range(2, 65):
        lines = raw_pages[number - 1].splitlines()
        assert lines[0] == (AUTHOR if number % 2 == 0 else TITLE)
        assert lines[-1] == f"— {number} —"


def test_book_exercises_the_tricky_typography(raw_pages: list[str]) -> None:
    # PDFium reads the no-break space before French punctuation as a space.
    text = "\n".join(raw_pages).replace("\u00a0", " ")
    for needle in [
        "« ",
        " »",
        "\n— ",
        "…",
        "...",
        "œ",
        "M. Dupont",
        "Mme Leclerc",
        "J.-C.",
        "p. ",
        " !",
        "Chapitre II",
    ]:
        assert needle in text, needle
    broken = [line for page in raw_pages for line in page.splitlines() if line.endswith("-")]
    assert len(broken) > 20


def test_words_break_across_the_listed_page_breaks(raw_pages: list[str]) -> None:
    assert {9, 15, 21} <= CROSS_PAGE_BREAKS
    for number in range(2, 64):
        last_body_line = raw_pages[number - 1].splitlines()[-2]
        assert last_body_line.endswith("-") == (number in CROSS_PAGE_BREAKS), number


def test_processed_text_has_no_furniture_or_broken_words(whole_result: list[Sentence]) -> None:
    # The title page (page 1) names the author and the title once, as text;
    # on every other page they are running heads and must be gone.
    assert AUTHOR in " ".join(s.text for s in whole_result if s.page == 1)
    text = " ".join(s.text for s in whole_result if s.page > 1)
    assert AUTHOR not in text
    assert TITLE not in text
    assert not re.search(r"— \d+ —", text)
    source = (inspect.getsource(prose) + inspect.getsource(sample_book)).casefold()
    known = set(re.findall(r"\w+", source)) | {"lorsqu", "qu"}
    for token in text.split():
        assert not token.endswith("-"), token
        for part in re.findall(r"[^\W\d_]+", token.casefold()):
            assert part in known, token


def test_processed_text_separates_titles_and_dialogue(whole_result: list[Sentence]) -> None:
    texts = [s.text for s in whole_result]
    assert "Chapitre II" in texts
    assert sum(t.startswith("— ") for t in texts) > 30
    assert all(s.page >= 1 for s in whole_result)
    assert [s.page for s in whole_result] == sorted(s.page for s in whole_result)


@pytest.mark.parametrize(
    ("per_chunk", "overlap"), [(3, 1), (5, 1), (7, 2), (20, 1), (10, 0), (3, 2), (4, 1)]
)
def test_chunked_processing_matches_whole_document_processing(
    sample_bytes: bytes,
    whole_result: list[Sentence],
    plan: FurniturePlan,
    per_chunk: int,
    overlap: int,
) -> None:
    reader = open_pdf(sample_bytes)
    processor = LocalProcessor()
    chunked: list[Sentence] = []
    for spec in plan_chunks(len(reader.pages), per_chunk, overlap):
        chunk = ChunkInput(write_chunk_pdf(reader, spec), spec, UNCUT, furniture=plan)
        chunked.extend(processor.process(chunk).sentences)
    assert (
        " ".join(s.text for s in chunked).split() == " ".join(s.text for s in whole_result).split()
    )
    if overlap >= 1:
        assert chunked == whole_result


def test_overlap_zero_cannot_rejoin_a_word_broken_on_a_chunk_boundary(
    sample_bytes: bytes,
) -> None:
    # Known limitation: with no overlap, neither chunk sees both halves.
    reader = open_pdf(sample_bytes)
    spec_a, spec_b = plan_chunks(len(reader.pages), 9, 0)[:2]
    out_a = LocalProcessor().process(ChunkInput(write_chunk_pdf(reader, spec_a), spec_a, UNCUT))
    out_b = LocalProcessor().process(ChunkInput(write_chunk_pdf(reader, spec_b), spec_b, UNCUT))
    assert out_a.sentences[-1].text.endswith("-")
    assert out_b.sentences[0].page == 10

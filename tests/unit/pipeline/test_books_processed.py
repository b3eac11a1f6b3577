"""Real books through the whole text path: split (with its furniture plan), chunks, local processor.

What a learner reads is the merged sentences, so the properties of the issue
are asserted on them: every sentence has a letter, none is longer than the
limit, no running head or page number is glued into one, and words in equal
words out against the Saint-Simon markdown (stripped independently,
tests/unit/pipeline/books.py). The chunking is the service's default.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from backend.pipeline.furniture import FurniturePlan
from backend.pipeline.merge import MergeInput, merge_chunks
from backend.pipeline.pieces import count_words
from backend.pipeline.processors.local import LocalProcessor
from backend.pipeline.split import split_pdf
from backend.pipeline.types import ChunkInput, ChunkSpec, ProcessSettings, Sentence
from tests.unit.pipeline.books import (
    BOOKS,
    ECSTR,
    GOBOOK,
    SAINT_SIMON,
    WALDEN,
    saint_simon_source,
    word_counts,
)

WORDS = 10
CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "corpus"
TEXT_PDFS = [
    "pdfjs__pdkids.pdf",
    "qpdf__deterministic-id-in.pdf",
    "pypdf__GeoBase_NHNC1_Data_Model_UML_EN.pdf",
    "pdfjs__file_pdfjs_test.pdf",
    "pdfjs__bug1019475_1.pdf",
    "pdfjs__bug1308536.pdf",
    "pdfjs__issue7101.pdf",
]


@cache
def processed(path: Path, words: int = WORDS) -> tuple[Sentence, ...]:
    """``path`` split as the service splits it (20 pages, overlap 1), every chunk processed."""
    chunks: list[tuple[ChunkSpec, bytes]] = []
    outcome = split_pdf(path, 20, 1, lambda spec, data: chunks.append((spec, data)))
    assert outcome.furniture is not None
    plan = FurniturePlan.from_json(outcome.furniture)
    settings = ProcessSettings(words_per_sentence=words)
    processor = LocalProcessor()
    inputs = []
    for spec, data in chunks:
        output = processor.process(ChunkInput(data, spec, settings, furniture=plan))
        inputs.append(MergeInput(spec.index, spec.page_start, spec.page_end, output))
    return tuple(merge_chunks(inputs).sentences)


ALL = [BOOKS / name for name in (SAINT_SIMON, GOBOOK, ECSTR, WALDEN)] + [
    CORPUS / name for name in TEXT_PDFS
]


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_sentence_has_a_letter_and_at_most_n_words(path: Path) -> None:
    sentences = processed(path)
    assert sentences
    junk = [s for s in sentences if not re.search(r"[^\W\d_]", s.text)]
    assert junk == [], junk[:10]
    long = [s for s in sentences if count_words(s.text) > WORDS]
    assert long == [], long[:5]


def test_saint_simon_words_in_equal_words_out_within_one_percent() -> None:
    source = word_counts(saint_simon_source())
    ours = word_counts("\n".join(s.text for s in processed(BOOKS / SAINT_SIMON)))
    total = sum(source.values())
    lost = sum((source - ours).values())
    added = sum((ours - source).values())
    assert lost / total < 0.01, (source - ours).most_common(20)
    assert added / total < 0.005, (ours - source).most_common(20)


def test_saint_simon_sentences_carry_no_page_number() -> None:
    """Page numbers are the pages' numbers minus 2 (cover and title page); none is glued in."""
    for sentence in processed(BOOKS / SAINT_SIMON):
        printed = sentence.page - 2
        assert not re.search(rf"(^|\s){printed}$|^{printed}\s", sentence.text), sentence


def test_ecstr_running_heads_are_in_no_sentence() -> None:
    head = re.compile(r"CHAPTER \d+\. [A-Z]{3,}|APPENDIX [A-Z]\. [A-Z]{3,}")
    glued = [s for s in processed(BOOKS / ECSTR) if head.search(s.text)]
    assert glued == [], glued[:5]


def test_walden_stamps_footers_and_page_numbers_are_in_no_sentence() -> None:
    sentences = processed(BOOKS / WALDEN)
    text = " ".join(s.text for s in sentences)
    assert "Creation date" not in text
    assert not re.search(r"\b\d+ of 249\b", text)
    assert not any(s.text == "Draft" for s in sentences)
    assert "I have travelled a good deal in Concord" in text


def test_gobook_chapter_titles_are_sentences_only_where_chapters_open() -> None:
    titles = {"Getting Started", "Your First Program", "Control Structures", "Concurrency"}
    counts = {title: 0 for title in titles}
    for sentence in processed(BOOKS / GOBOOK):
        for title in titles:
            counts[title] += sentence.text.startswith(title) and len(sentence.text) < 40
    # once in the table of contents, once where the chapter opens
    assert all(count <= 2 for count in counts.values()), counts

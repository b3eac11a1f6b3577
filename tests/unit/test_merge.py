"""Merging chunk outputs: order, missing pages, readable ranges."""

from __future__ import annotations

import pytest

from backend.pipeline.merge import MergeInput, merge_chunks, page_ranges
from backend.pipeline.types import ChunkOutput, Sentence


def output(*pages: int) -> ChunkOutput:
    return ChunkOutput(sentences=tuple(Sentence(f"page {p}", p) for p in pages))


def test_merge_concatenates_in_chunk_order_whatever_the_input_order() -> None:
    merged = merge_chunks(
        [
            MergeInput(1, 3, 4, output(3, 4)),
            MergeInput(0, 1, 2, output(1, 2)),
            MergeInput(2, 5, 5, output(5)),
        ]
    )
    assert [s.page for s in merged.sentences] == [1, 2, 3, 4, 5]
    assert merged.missing_pages == []
    assert merged.succeeded == 3


def test_failed_chunk_pages_are_listed_as_missing() -> None:
    merged = merge_chunks(
        [
            MergeInput(0, 1, 2, output(1, 2)),
            MergeInput(1, 3, 4, None, "NO_TEXT", "pages 3-4 contain no text"),
            MergeInput(2, 5, 6, output(5, 6)),
        ]
    )
    assert merged.missing_pages == [3, 4]
    assert merged.missing_ranges == "3-4"
    assert merged.failed_chunks == [
        {
            "chunk_id": 1,
            "pages": [3, 4],
            "error_code": "NO_TEXT",
            "error": "pages 3-4 contain no text",
        }
    ]
    assert merged.to_dict()["sentence_count"] == 4


@pytest.mark.parametrize(
    ("pages", "text"),
    [([], ""), ([7], "7"), ([1, 2, 3, 7, 9, 10], "1-3, 7, 9-10"), ([5, 4, 4, 3], "3-5")],
)
def test_page_ranges_are_readable(pages: list[int], text: str) -> None:
    assert page_ranges(pages) == text


def test_chunk_output_round_trips_through_json_dict() -> None:
    original = ChunkOutput(
        sentences=(Sentence("Bonjour.", 3),), pages_without_text=(4,), metadata={"words": 1}
    )
    assert ChunkOutput.from_dict(original.to_dict()) == original


def test_ocr_pages_are_merged_and_the_low_confidence_ones_listed() -> None:
    first = ChunkOutput((Sentence("Un.", 1),), metadata={"ocr_pages": {"1": 91.5, "2": 40.0}})
    second = ChunkOutput((Sentence("Deux.", 3),), metadata={"ocr_pages": {"4": 65.2}})
    plain = ChunkOutput((Sentence("Trois.", 5),))
    merged = merge_chunks(
        [MergeInput(0, 1, 2, first), MergeInput(1, 3, 4, second), MergeInput(2, 5, 6, plain)],
        min_ocr_confidence=70,
    )
    document = merged.to_dict()
    assert document["ocr_pages"] == {"1": 91.5, "2": 40.0, "4": 65.2}
    assert document["low_confidence_pages"] == [2, 4]
    assert document["low_confidence_page_ranges"] == "2, 4"


def test_unreadable_pages_of_a_failed_chunk_and_of_a_successful_one_are_listed() -> None:
    kept = ChunkOutput((Sentence("Un.", 1),), unreadable_pages=(2,))
    merged = merge_chunks(
        [
            MergeInput(0, 1, 2, kept),
            MergeInput(1, 3, 4, None, error_code="TEXT_UNREADABLE", error="garbled"),
        ]
    )
    assert merged.to_dict()["unreadable_pages"] == [2, 3, 4]
    assert merged.to_dict()["unreadable_page_ranges"] == "2-4"

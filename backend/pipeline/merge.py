"""Merge chunk outputs into one document result, in page order.

Each chunk emits only the sentences it owns (see ``textflow``), so merging is
concatenation in chunk order; what this module adds is the bookkeeping of what
is missing: the pages of failed chunks, as numbers and as readable ranges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from backend.pipeline.errors import NoTextError, TextUnreadableError
from backend.pipeline.types import ChunkOutput, Sentence


@dataclass(frozen=True)
class MergeInput:
    chunk_id: int
    page_start: int
    page_end: int
    output: ChunkOutput | None  # None: the chunk did not succeed
    error_code: str | None = None
    error: str | None = None


@dataclass
class MergedResult:
    sentences: list[Sentence] = field(default_factory=list)
    failed_chunks: list[dict[str, Any]] = field(default_factory=list)
    missing_pages: list[int] = field(default_factory=list)
    pages_without_text: list[int] = field(default_factory=list)
    unreadable_pages: list[int] = field(default_factory=list)
    # OCR'd pages and their mean word confidence (0-100).
    ocr_pages: dict[int, float] = field(default_factory=dict)
    # OCR'd pages below this confidence are listed as low-confidence.
    min_ocr_confidence: float = 0.0
    succeeded: int = 0

    @property
    def low_confidence_pages(self) -> list[int]:
        return sorted(p for p, c in self.ocr_pages.items() if c < self.min_ocr_confidence)

    @property
    def missing_ranges(self) -> str:
        return page_ranges(self.missing_pages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sentence_count": len(self.sentences),
            "sentences": [s.to_dict() for s in self.sentences],
            "missing_pages": self.missing_pages,
            "missing_page_ranges": self.missing_ranges,
            "pages_without_text": self.pages_without_text,
            "unreadable_pages": self.unreadable_pages,
            "unreadable_page_ranges": page_ranges(self.unreadable_pages),
            "ocr_pages": {str(page): self.ocr_pages[page] for page in sorted(self.ocr_pages)},
            "low_confidence_pages": self.low_confidence_pages,
            "low_confidence_page_ranges": page_ranges(self.low_confidence_pages),
            "failed_chunks": self.failed_chunks,
        }


def merge_chunks(inputs: Iterable[MergeInput], min_ocr_confidence: float = 0.0) -> MergedResult:
    """Concatenate successful chunks in ``chunk_id`` order; list what is missing.

    OCR'd pages whose mean confidence is under ``min_ocr_confidence`` are listed
    as low-confidence (their sentences are kept: a reader decides).
    """
    merged = MergedResult(min_ocr_confidence=min_ocr_confidence)
    for item in sorted(inputs, key=lambda i: i.chunk_id):
        if item.output is None:
            merged.missing_pages.extend(range(item.page_start, item.page_end + 1))
            merged.failed_chunks.append(
                {
                    "chunk_id": item.chunk_id,
                    "pages": [item.page_start, item.page_end],
                    "error_code": item.error_code,
                    "error": item.error,
                }
            )
            if item.error_code == NoTextError.code:
                # NO_TEXT fails a chunk only when none of its pages has text.
                merged.pages_without_text.extend(range(item.page_start, item.page_end + 1))
            elif item.error_code == TextUnreadableError.code:
                merged.unreadable_pages.extend(range(item.page_start, item.page_end + 1))
            continue
        merged.succeeded += 1
        merged.sentences.extend(item.output.sentences)
        merged.pages_without_text.extend(item.output.pages_without_text)
        merged.unreadable_pages.extend(item.output.unreadable_pages)
        merged.ocr_pages.update(_ocr_pages(item.output.metadata))
    return merged


def _ocr_pages(metadata: dict[str, Any]) -> dict[int, float]:
    """A chunk's ``metadata["ocr_pages"]`` ({"page": confidence}) with int pages."""
    found = metadata.get("ocr_pages")
    if not isinstance(found, dict):
        return {}
    return {int(page): float(confidence) for page, confidence in found.items()}


def page_ranges(pages: list[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` → ``"1-3, 7, 9-10"``."""
    parts: list[str] = []
    run: list[int] = []
    for page in sorted(set(pages)):
        if run and page != run[-1] + 1:
            parts.append(_fmt(run))
            run = []
        run.append(page)
    if run:
        parts.append(_fmt(run))
    return ", ".join(parts)


def _fmt(run: list[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"

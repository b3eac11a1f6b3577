"""Bounded work per upload: the page, chunk and amplification caps of one split.

A hostile PDF can be small and still cost a lot. One page referenced 20,000
times is 20,000 chunks (and 20,000 tasks) with ``pages_per_chunk=1``; 200 pages
sharing one 900 KB image copy the image into every chunk file (185 MB from a
0.92 MB upload). So the split checks its plan (pages, chunks) before it writes
any chunk file, and the running total of chunk bytes before it writes each one:
a hostile file stops at the cap, not after writing everything.

The upload checks the page count the file *declares* (the ``/Count`` of its page
tree's root: the trailer, the catalog and one dictionary, whatever the size of
the file), so the obvious cases are refused before a job exists. A file may
lie about it; the split counts the pages for real and has the last word.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from backend.pipeline.errors import (
    PdfAmplificationError,
    PdfTooManyPagesError,
    TooManyChunksError,
)


@dataclass(frozen=True)
class WorkLimits:
    """The caps of one job's split (``QUIRE_MAX_PAGES``, ``_CHUNKS``, ``_AMPLIFICATION``)."""

    max_pages: int = 10_000
    max_chunks: int = 5_000
    max_amplification: int = 30


# Whatever the ratio, a split may always write this much: a small source with a
# few embedded fonts and one page per chunk has a high ratio and costs nothing.
AMPLIFICATION_FLOOR_BYTES = 16 * 1024 * 1024


def chunk_count(pages: int, pages_per_chunk: int) -> int:
    """How many chunks ``pages`` pages make at ``pages_per_chunk`` (what plan_chunks makes)."""
    return math.ceil(pages / max(1, pages_per_chunk))


def check_plan(pages: int, pages_per_chunk: int, limits: WorkLimits) -> None:
    """Refuse a job whose pages or chunks exceed the caps, before anything is written.

    Raises :class:`PdfTooManyPagesError` or :class:`TooManyChunksError`; the
    messages say the numbers and what the user can do.
    """
    if pages > limits.max_pages:
        raise PdfTooManyPagesError(
            f"the PDF has {pages} pages; a job may have at most {limits.max_pages}: "
            "split the file and upload the parts"
        )
    chunks = chunk_count(pages, pages_per_chunk)
    if chunks > limits.max_chunks:
        needed = math.ceil(pages / limits.max_chunks)
        raise TooManyChunksError(
            f"{pages} pages at {pages_per_chunk} pages per chunk make {chunks} chunks; "
            f"a job may have at most {limits.max_chunks}: upload it again with "
            f"pages_per_chunk of at least {needed}"
        )


class ChunkBudget:
    """The running total of a split's chunk bytes against its amplification cap."""

    def __init__(self, source_size: int, limits: WorkLimits) -> None:
        self.source_size = source_size
        self.ratio = limits.max_amplification
        self.limit = max(source_size * limits.max_amplification, AMPLIFICATION_FLOOR_BYTES)
        self.written = 0

    def add(self, size: int) -> None:
        """Count one chunk file of ``size`` bytes (call it before the file is written)."""
        self.written += size
        if self.written > self.limit:
            raise PdfAmplificationError(
                f"the chunk files would reach {self.written // 1024} KB, more than "
                f"{self.ratio}x the {self.source_size // 1024} KB PDF (pages share large "
                "images or fonts that every chunk must copy): upload it again with more "
                "pages per chunk"
            )


def source_size(source: Path | bytes) -> int:
    return len(source) if isinstance(source, bytes) else source.stat().st_size


def declared_page_count(source: Path | bytes) -> int | None:
    """The page count ``source`` declares (``/Root /Pages /Count``), or None if unreadable.

    Reads the cross-reference table, the catalog and the page tree's root only,
    never the pages themselves. Never raises: a file this cannot read is left to
    the split, which classifies it.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(stream, strict=False)
            if reader.is_encrypted:
                reader.decrypt("")
            root: Any = reader.trailer["/Root"]  # a DictionaryObject, unless damaged
            pages = root["/Pages"]
            count = pages["/Count"]
    except Exception:  # noqa: BLE001 - any damage: the split will say what it is
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return None
    return int(count)

"""Split a PDF into page-range chunks with pypdf.

``plan_chunks`` is pure arithmetic; ``open_pdf`` classifies everything pypdf can
throw at us; ``iter_chunk_pdfs`` writes each chunk's pages (owned pages plus the
overlap it reads) into a small standalone PDF.
"""

from __future__ import annotations

import io
import logging
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError, PyPdfError

from backend.pipeline import limits as work_limits
from backend.pipeline.errors import (
    EncryptedPdfError,
    InvalidPdfError,
    PdfTooComplexError,
    PipelineError,
)
from backend.pipeline.extract import read_layouts_of
from backend.pipeline.furniture import plan_furniture
from backend.pipeline.sandbox import ParseLimits, run_limited
from backend.pipeline.types import ChunkSpec

log = logging.getLogger(__name__)

# pypdf logs a warning for every recoverable oddity (odd xref offsets, unknown
# glyph names...), which on a real-world book means hundreds of lines per split.
# Only errors are worth a worker's log; an operator who configured the logger
# explicitly keeps their level.
_PYPDF_LOG = logging.getLogger("pypdf")
if _PYPDF_LOG.level == logging.NOTSET:
    _PYPDF_LOG.setLevel(logging.ERROR)

# Exceptions pypdf is known to let escape on malformed files, besides its own.
PARSER_ERRORS: tuple[type[BaseException], ...] = (
    PyPdfError,
    AttributeError,
    TypeError,
    AssertionError,
    ValueError,
    KeyError,
    IndexError,
    RecursionError,
    NotImplementedError,
    zlib.error,
    OSError,
)


def plan_chunks(page_count: int, pages_per_chunk: int, overlap: int = 0) -> list[ChunkSpec]:
    """Cut ``page_count`` pages into consecutive ranges of ``pages_per_chunk``.

    Each chunk also reads up to ``overlap`` pages on each side of its own range.
    A document with no pages has no chunks.
    """
    if pages_per_chunk < 1:
        raise ValueError("pages_per_chunk must be at least 1")
    if overlap < 0:
        raise ValueError("overlap must not be negative")
    specs = []
    for index, start in enumerate(range(1, page_count + 1, pages_per_chunk)):
        end = min(start + pages_per_chunk - 1, page_count)
        specs.append(
            ChunkSpec(
                index=index,
                page_start=start,
                page_end=end,
                read_start=max(1, start - overlap),
                read_end=min(page_count, end + overlap),
                overlap=overlap,
            )
        )
    return specs


def open_pdf(source: Path | bytes) -> PdfReader:
    """Open a PDF, decrypting owner-password-only files; classify every failure."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            # pypdf warns on recoverable damage; the damage is ours to classify.
            warnings.simplefilter("ignore")
            reader = PdfReader(stream, strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise EncryptedPdfError(
                    "the PDF is protected by a password; remove the password and upload it again"
                )
            _ = len(reader.pages)  # forces the page tree to load
    except EncryptedPdfError:
        raise
    except FileNotDecryptedError as exc:
        raise EncryptedPdfError(
            "the PDF is protected by a password; remove the password and upload it again"
        ) from exc
    except LimitReachedError as exc:  # pypdf's own caps: page-tree depth, stream sizes
        raise PdfTooComplexError(f"the PDF is too complex to parse ({exc})") from exc
    except PdfReadError as exc:
        raise InvalidPdfError(f"the file is not a readable PDF ({exc})") from exc
    except PARSER_ERRORS as exc:
        raise InvalidPdfError(
            f"the file is not a readable PDF ({type(exc).__name__}: {exc})"
        ) from exc
    return reader


def page_count(reader: PdfReader) -> int:
    return len(reader.pages)


def write_chunk_pdf(reader: PdfReader, spec: ChunkSpec) -> bytes:
    """Return a standalone PDF holding pages ``read_start..read_end`` of ``reader``."""
    writer = PdfWriter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for number in range(spec.read_start, spec.read_end + 1):
                writer.add_page(reader.pages[number - 1])
            out = io.BytesIO()
            writer.write(out)
    except PARSER_ERRORS as exc:
        raise InvalidPdfError(
            f"pages {spec.read_start}-{spec.read_end} could not be copied "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    return out.getvalue()


def iter_chunk_pdfs(reader: PdfReader, specs: list[ChunkSpec]) -> Iterator[tuple[ChunkSpec, bytes]]:
    """Yield each chunk spec with its PDF bytes, one at a time (bounded memory)."""
    for spec in specs:
        yield spec, write_chunk_pdf(reader, spec)


@dataclass(frozen=True)
class SplitOutcome:
    """What a split produced: the document's page count and each chunk with its size."""

    page_count: int
    chunks: tuple[tuple[ChunkSpec, int], ...]
    # The book-wide furniture plan (backend.pipeline.furniture) as JSON; None
    # when PDFium cannot read the file (its chunks will then say why).
    furniture: bytes | None = None


def split_pdf(
    source: Path | bytes,
    pages_per_chunk: int,
    overlap: int,
    sink: Callable[[ChunkSpec, bytes], None],
    caps: work_limits.WorkLimits | None = None,
) -> SplitOutcome:
    """Open ``source``, plan its chunks and hand each chunk's PDF to ``sink``.

    Raises :class:`InvalidPdfError` for a damaged file or one without pages and
    :class:`EncryptedPdfError` for one that needs a user password; with ``caps``,
    the errors of :mod:`backend.pipeline.limits` before the sink is given the
    chunk that passes them (nothing at all for too many pages or chunks).
    """
    caps = caps or work_limits.WorkLimits()
    reader = open_pdf(source)
    pages = page_count(reader)
    if pages == 0:
        raise InvalidPdfError("the PDF has no pages")
    work_limits.check_plan(pages, pages_per_chunk, caps)
    budget = work_limits.ChunkBudget(work_limits.source_size(source), caps)
    produced = []
    for spec, data in iter_chunk_pdfs(reader, plan_chunks(pages, pages_per_chunk, overlap)):
        budget.add(len(data))
        sink(spec, data)
        produced.append((spec, len(data)))
    return SplitOutcome(pages, tuple(produced), plan_book_furniture(source))


def plan_book_furniture(source: Path | bytes) -> bytes | None:
    """What repeats across the whole book (running heads, page-number slots), as JSON.

    Planned here because the split is the one step that sees every page: a
    chunk reads twenty, too few to tell a running head from a line of prose.
    """
    try:
        layouts = read_layouts_of(source)
    except PipelineError as exc:
        log.info("no furniture plan: %s", exc.message)
        return None
    return plan_furniture(layouts).to_json()


def split_pdf_limited(
    source: Path,
    pages_per_chunk: int,
    overlap: int,
    sink: Callable[[ChunkSpec, bytes], None],
    limits: ParseLimits,
    caps: work_limits.WorkLimits | None = None,
) -> SplitOutcome:
    """:func:`split_pdf` in a child process bounded by ``limits``.

    ``sink`` runs in the child: it may write files, never touch a database
    connection. Also raises :class:`PdfTooComplexError` when the parse runs out
    of time or memory. A split stopped midway may leave some chunk files behind.
    """
    return run_limited(split_pdf, source, pages_per_chunk, overlap, sink, caps, limits=limits)

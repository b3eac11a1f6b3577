"""Text extraction with pypdf: one text per page, every failure classified.

Opening the file is all-or-nothing: anything pypdf throws while parsing the
trailer, decrypting or loading the page tree becomes an :class:`InvalidPdfError`
(or :class:`EncryptedPdfError`) with a message a person can act on. Extracting a
single page is best-effort: a page whose content stream is broken yields an
:class:`ExtractedPage` with empty text and the reason in ``error``, so one bad
page never costs the rest of the chunk.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import cast

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

from backend.pipeline.errors import (
    EncryptedPdfError,
    InvalidPdfError,
    PdfTooComplexError,
    PipelineError,
)
from backend.pipeline.sandbox import ParseLimits, run_limited

# pypdf logs a warning for every recoverable oddity (odd xref offsets, unknown
# glyph names...), which on a real-world book means hundreds of lines per chunk.
# Only errors are worth a worker's log; an operator who configured the logger
# explicitly keeps their level.
_PYPDF_LOG = logging.getLogger("pypdf")
if _PYPDF_LOG.level == logging.NOTSET:
    _PYPDF_LOG.setLevel(logging.ERROR)

# What pypdf is known to let escape on malformed files, besides its own errors.
_PARSER_ERRORS: tuple[type[BaseException], ...] = (
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

_ENCRYPTED_MESSAGE = "the PDF is protected by a password; remove the password and upload it again"


@dataclass(frozen=True)
class ExtractedPage:
    """The text of one page; ``error`` says why it is empty when extraction failed."""

    text: str
    error: str | None = None
    # The error is one of pypdf's own caps (stream size, nesting depth).
    too_complex: bool = False


def failure_of(pages: Sequence[ExtractedPage]) -> PipelineError | None:
    """The error of a chunk none of whose ``pages`` could be extracted, else None.

    ``PDF_TOO_COMPLEX`` when a page hit one of pypdf's caps, ``INVALID_PDF``
    otherwise; the message names the failed pages. Pages that extracted to no
    text without an error are scans (``NO_TEXT``), not failures.
    """
    if not pages or any(page.error is None for page in pages):
        return None
    message = "; ".join(page.error or "" for page in pages[:3])
    if len(pages) > 3:
        message += f"; and {len(pages) - 3} more pages"
    if any(page.too_complex for page in pages):
        return PdfTooComplexError(message)
    return InvalidPdfError(message)


def extract_pages(pdf_bytes: bytes) -> list[ExtractedPage]:
    """Return one :class:`ExtractedPage` per page of ``pdf_bytes``, in order.

    Runs in this process, unbounded: for trusted input. Uploaded files go
    through :func:`extract_pages_limited`.
    Raises :class:`EncryptedPdfError` when the file needs a user password and
    :class:`InvalidPdfError` when it cannot be opened or has no pages.
    """
    with _quiet_pypdf():
        return _extract(pdf_bytes)


def extract_pages_limited(pdf_bytes: bytes, limits: ParseLimits) -> list[ExtractedPage]:
    """:func:`extract_pages` in a child process bounded by ``limits``.

    Also raises :class:`PdfTooComplexError` when the parse runs out of time or
    memory, and :class:`InvalidPdfError` when the parser crashes.
    """
    # The child mutes warnings on its own; the thread guard is not needed (and a
    # lock some other thread held at fork time would never be released there).
    return run_limited(_extract, pdf_bytes, limits=limits)


def _extract(pdf_bytes: bytes) -> list[ExtractedPage]:
    reader = _open(pdf_bytes)
    pages: list[ExtractedPage] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text()
        except LimitReachedError as exc:
            reason = f"page {number}: too complex to extract ({_describe(exc)})"
            pages.append(ExtractedPage(text="", error=reason, too_complex=True))
            continue
        except _PARSER_ERRORS as exc:
            reason = f"page {number}: text could not be extracted ({_describe(exc)})"
            pages.append(ExtractedPage(text="", error=reason))
            continue
        pages.append(ExtractedPage(text=text or ""))
    return pages


def _open(pdf_bytes: bytes) -> PdfReader:
    if not pdf_bytes:
        raise InvalidPdfError("the file is empty, not a PDF")
    try:
        reader = PdfReader(io.BytesIO(pdf_bytes), strict=False)
        # Files with only an owner password (print/copy restrictions) open with
        # the empty user password; their text is ours to read.
        if reader.is_encrypted and not reader.decrypt(""):
            raise EncryptedPdfError(_ENCRYPTED_MESSAGE)
        count = len(reader.pages)  # forces the page tree to load
    except EncryptedPdfError:
        raise
    except FileNotDecryptedError as exc:
        raise EncryptedPdfError(_ENCRYPTED_MESSAGE) from exc
    except DependencyError as exc:
        # AES-encrypted files need the optional ``cryptography`` package.
        raise EncryptedPdfError(
            f"the PDF is encrypted with a method this server cannot decrypt ({exc})"
        ) from exc
    except LimitReachedError as exc:  # pypdf's own caps: page-tree depth, stream sizes
        raise PdfTooComplexError(f"the PDF is too complex to parse ({_describe(exc)})") from exc
    except _PARSER_ERRORS as exc:
        raise InvalidPdfError(
            f"the file is not a readable PDF: it is damaged or not a PDF at all ({_describe(exc)})"
        ) from exc
    if count == 0:
        raise InvalidPdfError("the PDF has no pages")
    return reader


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ``warnings.catch_warnings`` swaps process-global state and is not thread-safe:
# two overlapping uses can restore each other's saved filters and leave "ignore"
# installed for good. A counted guard installs one "ignore" filter while any
# thread is extracting and removes exactly that filter after the last one.
_guard_lock = threading.Lock()
_guard_users = 0
_guard_entry: object | None = None


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Silence ``warnings.warn`` calls (pypdf's PdfReadWarning, deprecations)."""
    global _guard_users, _guard_entry
    with _guard_lock:
        if _guard_users == 0:
            warnings.simplefilter("ignore")
            _guard_entry = warnings.filters[0]
        _guard_users += 1
    try:
        yield
    finally:
        with _guard_lock:
            _guard_users -= 1
            if _guard_users == 0:
                filters = cast("list[object]", warnings.filters)  # a list at runtime
                with suppress(ValueError):  # someone reset the filters meanwhile
                    filters.remove(_guard_entry)
                # Invalidate the per-module "already warned" caches, as the
                # warnings module itself does after every filter change.
                mutated = getattr(warnings, "_filters_mutated", None)
                if mutated is not None:
                    mutated()
                _guard_entry = None

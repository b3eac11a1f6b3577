"""The pipeline's error hierarchy.

A processor or parser raises a :class:`PermanentError` when retrying cannot help
(the PDF is encrypted, the page has no text) and a :class:`TransientError` when
it may (a rate limit, a time-out). The codes are the stable strings of
``backend.errors`` so the API, the tasks and the CLI speak the same language.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error the pipeline raises on purpose."""

    code: str = "PROCESSOR_ERROR"
    # Tokens a paid call consumed before its answer was refused (truncated,
    # blocked, lossy): the bill is the same as for a good answer.
    tokens_used: int = 0

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class PermanentError(PipelineError):
    """Retrying the same input will fail the same way."""


class TransientError(PipelineError):
    """The same input may succeed later; ``retry_after`` is a hint in seconds."""

    code = "TRANSIENT_ERROR"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class InvalidPdfError(PermanentError):
    code = "INVALID_PDF"


class EncryptedPdfError(PermanentError):
    code = "ENCRYPTED_PDF"


class PdfTooComplexError(PermanentError):
    code = "PDF_TOO_COMPLEX"


class NoTextError(PermanentError):
    code = "NO_TEXT"


class TextUnreadableError(PermanentError):
    """No owned page has usable text and some have a garbled text layer (a broken font map)."""

    code = "TEXT_UNREADABLE"


class PdfTooManyPagesError(PermanentError):
    """More pages than one job may have (``QUIRE_MAX_PAGES``)."""

    code = "PDF_TOO_MANY_PAGES"


class TooManyChunksError(PermanentError):
    """The chosen chunking makes more chunks than one job may have (``QUIRE_MAX_CHUNKS``)."""

    code = "TOO_MANY_CHUNKS"


class PdfAmplificationError(PermanentError):
    """The chunk files grew past N times the source (``QUIRE_MAX_AMPLIFICATION``)."""

    code = "PDF_AMPLIFICATION"

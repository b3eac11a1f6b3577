"""One error table: every failure has a stable code, an HTTP status and a retry flag.

The API renders ``{"error": {"code", "message", "details"}}`` from it, the chunk
tasks read ``retryable`` from it, and the CLI prints the same codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorKind:
    code: str
    status: int
    retryable: bool
    title: str


_KINDS = [
    ErrorKind("INVALID_PARAMS", 400, False, "The request parameters are invalid."),
    ErrorKind("INVALID_JSON", 400, False, "The request body is not acceptable JSON."),
    ErrorKind("UNAUTHORIZED", 401, False, "Authentication is required."),
    ErrorKind("TOKEN_REVOKED", 401, False, "The token was revoked; log in again."),
    ErrorKind(
        "TOKEN_REUSED", 401, False, "A spent refresh token was replayed; the session is revoked."
    ),
    ErrorKind("FORBIDDEN", 403, False, "You may not do this."),
    ErrorKind("NOT_FOUND", 404, False, "Not found."),
    ErrorKind("METHOD_NOT_ALLOWED", 405, False, "Method not allowed."),
    ErrorKind("DB_TIMEOUT_ERROR", 408, True, "The database took too long to answer."),
    ErrorKind("DUPLICATE_ENTRY", 409, False, "This already exists."),
    ErrorKind("JOB_NOT_READY", 409, False, "The job has no result yet."),
    ErrorKind("JOB_STATE_CONFLICT", 409, False, "The job is not in a state that allows this."),
    ErrorKind("NOTHING_TO_RETRY", 409, False, "No chunk can be retried."),
    ErrorKind(
        "INPUT_EXPIRED", 410, False, "The job's input PDF was deleted by retention; re-upload it."
    ),
    ErrorKind("PDF_TOO_LARGE", 413, False, "The PDF is larger than the upload limit."),
    ErrorKind("PAYLOAD_TOO_LARGE", 413, False, "The request body is larger than the limit."),
    ErrorKind("UNSUPPORTED_MEDIA_TYPE", 415, False, "Unsupported media type."),
    ErrorKind("WEAK_PASSWORD", 422, False, "The password is too easy to guess or cannot be used."),
    ErrorKind("INVALID_PDF", 422, False, "The file is not a readable PDF."),
    ErrorKind("ENCRYPTED_PDF", 422, False, "The PDF is protected by a password."),
    ErrorKind("PDF_TOO_COMPLEX", 422, False, "The PDF is too complex to parse in time."),
    ErrorKind("PDF_TOO_MANY_PAGES", 422, False, "The PDF has more pages than a job may have."),
    ErrorKind("TOO_MANY_CHUNKS", 422, False, "The job would have more chunks than allowed."),
    ErrorKind(
        "PDF_AMPLIFICATION", 422, False, "The chunk files would be too large for the PDF's size."
    ),
    ErrorKind("NO_TEXT", 422, False, "The pages contain no extractable text."),
    ErrorKind(
        "TEXT_UNREADABLE",
        422,
        False,
        "The pages' text layer is unreadable (a broken font encoding); they need OCR.",
    ),
    ErrorKind("UNKNOWN_PROCESSOR", 400, False, "Unknown processor."),
    ErrorKind("RATE_LIMITED", 429, True, "Too many requests; slow down."),
    ErrorKind(
        "TOO_MANY_ACTIVE_JOBS", 429, True, "Too many unfinished jobs; wait for one to finish."
    ),
    ErrorKind(
        "TOO_MANY_QUEUED_CHUNKS", 429, True, "Too many chunks waiting; wait for some to finish."
    ),
    ErrorKind("TOO_MANY_USER_STREAMS", 429, True, "You have too many live progress streams open."),
    ErrorKind("QUOTA_EXHAUSTED", 429, True, "The processor's quota is exhausted."),
    ErrorKind("LLM_TIMEOUT", 504, True, "The language model did not answer in time."),
    ErrorKind("LLM_BAD_OUTPUT", 502, True, "The language model answered badly."),
    ErrorKind(
        "CONTENT_BLOCKED", 422, False, "The content was blocked by the model's safety filter."
    ),
    ErrorKind("LLM_UNAVAILABLE", 503, True, "The language model is unavailable or overloaded."),
    ErrorKind("LLM_AUTH_FAILED", 502, False, "The language model refused our credentials."),
    ErrorKind("LLM_REQUEST_REJECTED", 502, False, "The language model rejected the request."),
    ErrorKind(
        "PROCESSOR_NOT_CONFIGURED", 422, False, "This processor is not configured on the server."
    ),
    ErrorKind("PARTIAL_RESULT", 200, False, "Some chunks failed; their pages are missing."),
    ErrorKind("TRANSIENT_ERROR", 503, True, "A temporary failure; it will be retried."),
    ErrorKind("PROCESSOR_ERROR", 500, True, "The processor failed unexpectedly."),
    ErrorKind(
        "WORKER_LOST", 500, False, "The worker died while processing this chunk, repeatedly."
    ),
    ErrorKind("BLOB_MISSING", 500, False, "A stored file is missing."),
    ErrorKind("INTERNAL_ERROR", 500, False, "Internal error."),
    ErrorKind("DB_QUERY_ERROR", 500, False, "A database query failed."),
    ErrorKind("DB_CONNECTION_ERROR", 503, True, "The database is unreachable."),
    ErrorKind(
        "TOO_MANY_STREAMS", 503, True, "Too many live progress streams are open; retry later."
    ),
]

ERRORS: dict[str, ErrorKind] = {kind.code: kind for kind in _KINDS}

# Werkzeug/Flask's own HTTP errors, mapped onto our codes.
STATUS_CODES: dict[int, str] = {
    400: "INVALID_PARAMS",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "DB_TIMEOUT_ERROR",
    409: "DUPLICATE_ENTRY",
    413: "PDF_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "INVALID_PARAMS",
    429: "RATE_LIMITED",
    503: "DB_CONNECTION_ERROR",
}


def kind_of(code: str) -> ErrorKind:
    """The table row of ``code``; unknown codes are internal errors."""
    return ERRORS.get(code, ERRORS["INTERNAL_ERROR"])


def is_retryable(code: str | None) -> bool:
    return code is not None and kind_of(code).retryable


class QuireError(Exception):
    """An error the API turns into the contract body; ``code`` picks status and title."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.kind = kind_of(code)
        self.code = self.kind.code if code not in ERRORS else code
        self.message = message or self.kind.title
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(self.message)

    @property
    def status(self) -> int:
        return self.kind.status

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}

"""Request and response schemas, declared once: validation and OpenAPI both read them."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import (
    Boolean,
    DateTime,
    Dict,
    Email,
    File,
    Float,
    Integer,
    List,
    Nested,
    String,
)
from apiflask.validators import Length, OneOf, Range, Regexp

from backend.models import ChunkStatus, JobStatus
from backend.models.job import PersistenceStatus

# PostgreSQL text cannot hold NUL; refuse it at the door (400), not in the database (500).
NO_NUL = Regexp(r"\A[^\x00]*\Z", error="must not contain NUL characters")

# The error contract, as documented in the spec for every error response.
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "example": "INVALID_PARAMS"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}

# Past this, OFFSET overflows Postgres's bigint (and no one pages that far).
MAX_PAGE = 1_000_000
# Postgres ``integer``: a larger id from a client is refused (400), never sent (500).
MAX_DB_INT = 2**31 - 1


class RegisterIn(Schema):
    email = Email(required=True, validate=Length(max=320))
    password = String(required=True, validate=Length(min=8, max=128), load_only=True)


class LoginIn(Schema):
    email = String(required=True, validate=[Length(min=1, max=320), NO_NUL])
    password = String(required=True, validate=[Length(min=1, max=128), NO_NUL], load_only=True)


class UserOut(Schema):
    id = Integer()
    email = String()
    role = String()


class TokensOut(Schema):
    access_token = String()
    refresh_token = String()
    token_type = String()
    expires_in = Integer()
    user = Nested(UserOut)


class TokenPairOut(Schema):
    """A refresh's answer: the next pair of the session (the old refresh token is spent)."""

    access_token = String()
    refresh_token = String()
    token_type = String()
    expires_in = Integer()


class RegisterAcceptedOut(Schema):
    """The same answer for a new and a taken email (no account enumeration)."""

    message = String()


class LogoutIn(Schema):
    refresh_token = String(validate=[Length(min=1, max=4096), NO_NUL])


class JobCreateIn(Schema):
    file = File(required=True, metadata={"description": "the PDF"})
    words_per_sentence = Integer(load_default=None, validate=Range(3, 50))
    pages_per_chunk = Integer(load_default=None, validate=Range(1, 500))
    overlap_pages = Integer(load_default=None, validate=Range(0, 10))
    max_retries = Integer(load_default=None, validate=Range(0, 10))
    processor = String(load_default=None, validate=Length(min=1, max=32))
    fallback = String(
        load_default=None,
        validate=OneOf(["none", "local"]),
        metadata={
            "description": "local: chunks that exhausted their processor retries are redone "
            "by the local processor (flagged in the result); default none"
        },
    )
    ocr = String(
        load_default=None,
        validate=OneOf(["auto", "off", "force"]),
        metadata={
            "description": "auto (default): OCR the pages without a usable text layer "
            "(scans, TEXT_UNREADABLE); off: never; force: every page"
        },
    )
    ocr_lang = String(
        load_default=None,
        validate=Regexp(
            r"^[a-z]{3}(_[a-z]+)?(\+[a-z]{3}(_[a-z]+)?){0,4}$",
            error="Tesseract languages such as fra or fra+eng",
        ),
        metadata={
            "description": "Tesseract languages joined by +, each one the server offers "
            "(QUIRE_OCR_LANGUAGES); default fra+eng"
        },
    )


class LinksOut(Schema):
    self = String()
    chunks = String()
    result = String()
    retry = String()
    cancel = String()


class JobAcceptedOut(Schema):
    job_id = String()
    status = String()
    persistence_status = String(
        metadata={
            "enum": [s.value for s in PersistenceStatus],
            "description": "backed_up: the database was unavailable; the upload is kept "
            "and the job is created when the backup is recovered",
        }
    )
    message = String(metadata={"description": "present when persistence_status is backed_up"})
    links = Nested(LinksOut)


class ErrorInfoOut(Schema):
    code = String()
    message = String()


class JobOut(Schema):
    id = String()
    filename = String()
    status = String(metadata={"enum": [s.value for s in JobStatus]})
    step = String()
    processor = String()
    settings = Dict()
    source = Dict()
    page_count = Integer(allow_none=True)
    total_chunks = Integer()
    progress = Dict()
    round = Integer()
    retry_count = Integer()
    max_retries = Integer()
    usage = Dict(metadata={"description": "tokens_used and cache_hits over the job's chunks"})
    error = Nested(ErrorInfoOut, allow_none=True)
    result = Dict(allow_none=True)
    created_at = DateTime()
    started_at = DateTime(allow_none=True)
    finished_at = DateTime(allow_none=True)
    cancel_requested_at = DateTime(allow_none=True)
    resume_at = DateTime(
        allow_none=True,
        metadata={"description": "paused_quota: when the job resumes by itself"},
    )
    dispatch_pending = Boolean(
        metadata={"description": "a message could not be published yet; the reconciler will"}
    )
    persistence_status = String(
        metadata={
            "enum": [s.value for s in PersistenceStatus],
            "description": "saved; backed_up: a record waits in a file backup; "
            "recovered: replayed from it (docs/runbook.md)",
        }
    )
    links = Nested(LinksOut)


class PaginationOut(Schema):
    page = Integer()
    per_page = Integer()
    total = Integer()
    pages = Integer()


class JobListQuery(Schema):
    page = Integer(load_default=1, validate=Range(1, MAX_PAGE))
    per_page = Integer(load_default=20, validate=Range(1, 100))
    status = String(load_default=None, validate=OneOf([s.value for s in JobStatus]))


class JobListItemOut(JobOut):
    """The same fields as JobOut. A class of its own because apispec registers a
    schema used both nested and top-level twice (and warns)."""


class JobListOut(Schema):
    items = List(Nested(JobListItemOut))
    pagination = Nested(PaginationOut)


class ChunkListQuery(Schema):
    page = Integer(load_default=1, validate=Range(1, MAX_PAGE))
    per_page = Integer(load_default=50, validate=Range(1, 500))
    status = String(load_default=None, validate=OneOf([s.value for s in ChunkStatus]))


class ChunkOut(Schema):
    chunk_id = Integer()
    pages = List(Integer())
    read_pages = List(Integer())
    page_count = Integer()
    has_overlap = Boolean()
    status = String(metadata={"enum": [s.value for s in ChunkStatus]})
    attempts = Integer()
    last_error_code = String(allow_none=True)
    last_error = String(allow_none=True)
    page_errors = Dict(
        keys=String(),
        values=String(),
        metadata={"description": "a successful chunk's pages that could not be read, and why"},
    )
    ocr_pages = Dict(
        keys=String(),
        values=Float(),
        metadata={"description": "pages read by OCR, with their mean word confidence (0-100)"},
    )
    unreadable_pages = List(
        Integer(), metadata={"description": "pages whose text layer is garbage (TEXT_UNREADABLE)"}
    )
    retryable = Boolean()
    sentence_count = Integer(allow_none=True)
    fallback = String(
        allow_none=True,
        metadata={"description": "local: handed to the local processor after the job's own failed"},
    )
    tokens_used = Integer(metadata={"description": "tokens paid for, failed attempts included"})
    updated_at = DateTime()
    processed_at = DateTime(allow_none=True)


class ChunkListOut(Schema):
    job_id = String()
    items = List(Nested(ChunkOut))
    summary = Dict(metadata={"description": "chunk counts by status"})
    pagination = Nested(PaginationOut)


class RetryIn(Schema):
    chunk_ids = List(
        Integer(validate=Range(0, MAX_DB_INT)), load_default=None, validate=Length(max=10000)
    )
    force = Boolean(load_default=False)


class RetryOut(Schema):
    job_id = String()
    retried_count = Integer()
    chunk_ids = List(Integer())
    round = Integer()


class CancelOut(Schema):
    job_id = String()
    status = String()


class ResultQuery(Schema):
    format = String(load_default="json", validate=OneOf(["json", "txt", "csv", "xlsx"]))

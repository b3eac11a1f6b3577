"""Submitting jobs: store the upload, create the row, publish the split."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import BinaryIO

from backend.blobstore import BlobTooLargeError
from backend.errors import QuireError
from backend.extensions import db
from backend.models import Job, JobStatus, User
from backend.models.job import PersistenceStatus
from backend.models.types import utcnow
from backend.pipeline.processors import available, not_configured
from backend.pipeline.types import DEFAULT_OCR_LANG
from backend.services import dispatch, persistence, quotas, runtime

log = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
# Real files sometimes carry a few bytes of junk before the header; readers accept
# the header within the first 1024 bytes, we look at the first 16 bytes only.
MAGIC_WINDOW = 16


_STORED_DEFAULTS = {"fallback": "none", "ocr": "auto", "ocr_lang": DEFAULT_OCR_LANG}


@dataclass(frozen=True)
class JobOptions:
    """The settings a user may choose for a job (validated by the API schema)."""

    processor: str
    words_per_sentence: int
    pages_per_chunk: int
    overlap_pages: int
    max_retries: int
    # "local": chunks that exhaust their processor's retries are redone locally.
    fallback: str = "none"
    # "auto": OCR the pages without a usable text layer; "off"; "force": every page.
    ocr: str = "auto"
    # Tesseract's languages, "+"-joined (each one of QUIRE_OCR_LANGUAGES).
    ocr_lang: str = DEFAULT_OCR_LANG

    def stored(self) -> dict[str, str]:
        """The options kept in ``Job.options``: only what differs from the defaults,
        so rows written before an option existed read the same."""
        chosen = {"fallback": self.fallback, "ocr": self.ocr, "ocr_lang": self.ocr_lang}
        return {key: value for key, value in chosen.items() if value != _STORED_DEFAULTS[key]}


def default_options(**given: object) -> JobOptions:
    s = runtime.settings()
    values: dict[str, object] = {
        "processor": s.default_processor,
        "words_per_sentence": 8,
        "pages_per_chunk": s.default_pages_per_chunk,
        "overlap_pages": s.default_overlap_pages,
        "max_retries": s.default_max_retries,
        **_STORED_DEFAULTS,
    }
    values.update({k: v for k, v in given.items() if v is not None})
    return JobOptions(**values)  # type: ignore[arg-type]


def settings_ocr_languages() -> frozenset[str]:
    """The Tesseract languages this server offers (``QUIRE_OCR_LANGUAGES``)."""
    return frozenset(runtime.settings().ocr_languages)


def printable_filename(name: str) -> str:
    """The client's file name without control characters (NUL cannot be stored), ≤ 255."""
    return "".join(ch for ch in name if ch.isprintable())[:255] or "upload.pdf"


def submit_job(owner: User, filename: str, stream: BinaryIO, options: JobOptions) -> Job:
    """Stream the upload to the blob store, commit the job, then publish its split.

    Raises ``QuireError`` with ``PDF_TOO_LARGE``, ``INVALID_PDF``,
    ``UNKNOWN_PROCESSOR``, a cap's code (``PDF_TOO_MANY_PAGES``,
    ``TOO_MANY_CHUNKS``: 422) or a quota's (``TOO_MANY_ACTIVE_JOBS``,
    ``TOO_MANY_QUEUED_CHUNKS``: 429); nothing is stored when it does.
    """
    missing = not_configured(options.processor)
    if missing:
        raise QuireError(
            "PROCESSOR_NOT_CONFIGURED",
            f"the {options.processor} processor is not configured on this server ({missing})",
            {"processor": options.processor, "available": available()},
        )
    if options.processor not in available():
        raise QuireError(
            "UNKNOWN_PROCESSOR",
            f"unknown processor {options.processor!r}",
            {"available": available()},
        )
    unknown = [lang for lang in options.ocr_lang.split("+") if lang not in settings_ocr_languages()]
    if unknown:
        raise QuireError(
            "INVALID_PARAMS",
            f"OCR language {unknown[0]!r} is not installed on this server",
            {"ocr_lang": options.ocr_lang, "available": sorted(settings_ocr_languages())},
        )
    # Before a byte is stored: a user at a cap does not get to send 200 MB first.
    quotas.check_room(owner)
    settings = runtime.settings()
    store = runtime.blobs()
    job_id = str(uuid.uuid4())
    key = f"jobs/{job_id}/source.pdf"
    limit = settings.max_upload_mb * 1024 * 1024
    try:
        blob = store.put_stream(key, stream, max_bytes=limit)
    except BlobTooLargeError:
        store.delete_prefix(f"jobs/{job_id}")
        raise QuireError(
            "PDF_TOO_LARGE",
            f"the PDF is larger than the {settings.max_upload_mb} MB upload limit",
            {"max_bytes": limit},
        ) from None
    if PDF_MAGIC not in blob.head[:MAGIC_WINDOW]:
        store.delete_prefix(f"jobs/{job_id}")
        raise QuireError(
            "INVALID_PDF",
            "the file is not a PDF (it does not start with %PDF-)",
            {"filename": filename},
        )
    try:
        expected_chunks = quotas.check_declared(store.local_path(key), options.pages_per_chunk)
        # Holds the user's row lock until the insert below commits (or rolls back).
        quotas.reserve(owner, expected_chunks or 0)
    except QuireError:
        db.session.rollback()
        store.delete_prefix(f"jobs/{job_id}")
        raise
    job = Job(
        id=job_id,
        owner_id=owner.id,
        filename=printable_filename(filename),
        source_key=key,
        source_sha256=blob.sha256,
        source_size=blob.size,
        processor=options.processor,
        words_per_sentence=options.words_per_sentence,
        pages_per_chunk=options.pages_per_chunk,
        overlap_pages=options.overlap_pages,
        max_retries=options.max_retries,
        # Only what differs from the defaults, so older rows read the same.
        options=options.stored(),
        status=JobStatus.QUEUED.value,
        step="queued",
    )
    job.created_at = job.updated_at = utcnow()
    try:
        # Durable: retried, verified, and backed up to a file when the database
        # stays unreachable (services/persistence.py), since the blob is stored.
        outcome = persistence.save_upload(_row_values(job))
    except Exception:
        db.session.rollback()
        store.delete_prefix(f"jobs/{job_id}")
        raise
    if outcome is persistence.Outcome.BACKED_UP:
        # Accepted, not lost: ``flask quire recover`` inserts the row and
        # publishes the split (docs/runbook.md). The caller gets this unsaved job.
        job.persistence_status = PersistenceStatus.BACKED_UP.value
        log.warning("job %s: database unavailable; the upload waits in the backup", job_id)
        return job
    log.info(
        "job %s: stored %s (%d bytes, sha256 %s)", job_id, job.filename, blob.size, blob.sha256
    )
    dispatch.publish_split(job_id)
    saved = db.session.get(Job, job_id)
    if saved is None:  # NOT_APPLIED: a row with this fresh UUID existed already
        raise QuireError("INTERNAL_ERROR", f"job {job_id} could not be stored")
    return saved


def _row_values(job: Job) -> dict[str, object]:
    """The columns set on a new, unsaved job (the others take their defaults)."""
    values = {column.key: getattr(job, column.key) for column in Job.__table__.columns}
    return {key: value for key, value in values.items() if value is not None}

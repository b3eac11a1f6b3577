"""Turning rows into the API's response dictionaries."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from flask import url_for

from backend.models import ChunkStatus, Job, JobChunk
from backend.pipeline.types import DEFAULT_OCR_LANG
from backend.services.queries import chunk_summaries


def job_links(job_id: str) -> dict[str, str]:
    return {
        "self": url_for("jobs.get_job", job_id=job_id),
        "chunks": url_for("chunks.list_chunks", job_id=job_id),
        "result": url_for("jobs.get_result", job_id=job_id),
        "retry": url_for("chunks.retry_chunks", job_id=job_id),
        "cancel": url_for("jobs.cancel_job", job_id=job_id),
    }


def progress(job: Job, counts: dict[str, int]) -> dict[str, Any]:
    total = job.total_chunks
    done = (
        counts[ChunkStatus.SUCCESS.value]
        + counts[ChunkStatus.FAILED.value]
        + counts[ChunkStatus.CANCELLED.value]
    )
    return {
        "total": total,
        "done": done,
        "percent": round(100.0 * done / total, 1) if total else (100.0 if job.is_terminal else 0.0),
        "chunks": counts,
    }


def job_view(
    job: Job, counts: dict[str, int] | None = None, usage: dict[str, int] | None = None
) -> dict[str, Any]:
    """The job's API body; a list passes ``counts`` and ``usage`` read for its whole page."""
    if counts is None or usage is None:
        # Counts and usage in one grouped query (one scan of the job's chunks).
        summary = chunk_summaries([job.id])[job.id]
        counts = summary.counts if counts is None else counts
        usage = summary.usage if usage is None else usage
    return {
        "id": job.id,
        "filename": job.filename,
        "status": job.status,
        "step": job.step,
        "processor": job.processor,
        "settings": {
            "processor": job.processor,
            "words_per_sentence": job.words_per_sentence,
            "pages_per_chunk": job.pages_per_chunk,
            "overlap_pages": job.overlap_pages,
            "max_retries": job.max_retries,
            "fallback": (job.options or {}).get("fallback", "none"),
            "ocr": (job.options or {}).get("ocr", "auto"),
            "ocr_lang": (job.options or {}).get("ocr_lang", DEFAULT_OCR_LANG),
        },
        "source": {"size": job.source_size, "sha256": job.source_sha256},
        "page_count": job.page_count,
        "total_chunks": job.total_chunks,
        "progress": progress(job, counts),
        "round": job.round,
        "retry_count": job.retry_count,
        "usage": usage,
        "max_retries": job.max_retries,
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "result": job.result_summary,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "cancel_requested_at": job.cancel_requested_at,
        "resume_at": job.resume_at,
        "dispatch_pending": job.dispatch_pending,
        "persistence_status": job.persistence_status,
        "links": job_links(job.id),
    }


def chunk_view(chunk: JobChunk, fallback_ids: Container[int] = ()) -> dict[str, Any]:
    """``fallback_ids``: chunk ids the job handed to the local fallback processor."""
    result = chunk.result_json or {}
    return {
        "chunk_id": chunk.chunk_id,
        "pages": [chunk.page_start, chunk.page_end],
        "read_pages": [chunk.read_start, chunk.read_end],
        "page_count": chunk.page_count,
        "has_overlap": chunk.has_overlap,
        "status": chunk.status,
        "attempts": chunk.attempts,
        "last_error_code": chunk.last_error_code,
        "last_error": chunk.last_error,
        # (A result moved to the blob store keeps no metadata in its pointer.)
        "page_errors": (result.get("metadata") or {}).get("page_errors") or {},
        "ocr_pages": (result.get("metadata") or {}).get("ocr_pages") or {},
        "unreadable_pages": result.get("unreadable_pages") or [],
        "retryable": chunk.error_retryable,
        "sentence_count": (
            # A result moved to the blob store keeps its count in the pointer.
            result.get("sentence_count", len(result.get("sentences", [])))
            if chunk.result_json
            else None
        ),
        "fallback": "local" if chunk.chunk_id in fallback_ids else None,
        "tokens_used": chunk.tokens_used,
        "updated_at": chunk.updated_at,
        "processed_at": chunk.processed_at,
    }

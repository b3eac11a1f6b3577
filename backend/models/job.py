"""Jobs: one uploaded PDF, its settings, its state and its result."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.types import JsonType, UtcDateTime, utcnow


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    SPLITTING = "splitting"
    PROCESSING = "processing"
    RETRYING = "retrying"
    # The processor's quota is exhausted (per day): no retry round is burnt; a
    # manual retry (or, later, the reconciler after the quota window) resumes it.
    PAUSED_QUOTA = "paused_quota"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_JOB_STATUSES = frozenset(
    {JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.FAILED, JobStatus.CANCELLED}
)
ACTIVE_JOB_STATUSES = frozenset({JobStatus.PROCESSING, JobStatus.RETRYING})


class PersistenceStatus(enum.StrEnum):
    """Where a job's records live: the database, or a file backup awaiting recovery."""

    SAVED = "saved"
    BACKED_UP = "backed_up"
    RECOVERED = "recovered"


class Job(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_owner_created", "owner_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    source_key: Mapped[str] = mapped_column(String(512), nullable=False)
    source_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    source_size: Mapped[int] = mapped_column(Integer, nullable=False)
    page_count: Mapped[int | None] = mapped_column(Integer)

    processor: Mapped[str] = mapped_column(String(32), nullable=False)
    words_per_sentence: Mapped[int] = mapped_column(Integer, nullable=False)
    pages_per_chunk: Mapped[int] = mapped_column(Integer, nullable=False)
    overlap_pages: Mapped[int] = mapped_column(Integer, nullable=False)
    options: Mapped[dict[str, Any]] = mapped_column(JsonType, nullable=False, default=dict)

    status: Mapped[str] = mapped_column(String(16), nullable=False, default=JobStatus.QUEUED.value)
    step: Mapped[str] = mapped_column(String(64), nullable=False, default="queued")
    total_chunks: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # ``round`` counts chords dispatched (0 = the first); ``finalized_round`` is the
    # compare-and-set lock that lets exactly one finalize act on a round.
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    finalized_round: Mapped[int] = mapped_column(Integer, nullable=False, default=-1)
    retry_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_retries: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    dispatch_pending: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When a ``paused_quota`` job may resume by itself (the processor's quota window).
    resume_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # ``saved`` normally; ``backed_up`` while a record of it waits in the file
    # backup; ``recovered`` once ``flask quire recover`` replayed it.
    persistence_status: Mapped[str] = mapped_column(
        String(16),
        nullable=False,
        default=PersistenceStatus.SAVED.value,
        server_default=PersistenceStatus.SAVED.value,
    )

    result_key: Mapped[str | None] = mapped_column(String(512))
    result_summary: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_JOB_STATUSES

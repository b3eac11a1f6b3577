"""Job chunks: one page range of a job, the unit of work and of retry."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.types import JsonType, UtcDateTime, utcnow


class ChunkStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCESS = "success"
    FAILED = "failed"
    RETRY_SCHEDULED = "retry_scheduled"
    CANCELLED = "cancelled"


TERMINAL_CHUNK_STATUSES = frozenset(
    {ChunkStatus.SUCCESS, ChunkStatus.FAILED, ChunkStatus.CANCELLED}
)
CLAIMABLE_CHUNK_STATUSES = frozenset({ChunkStatus.PENDING, ChunkStatus.RETRY_SCHEDULED})


class JobChunk(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "job_chunks"
    __table_args__ = (
        UniqueConstraint("job_id", "chunk_id", name="uq_job_chunks_job_chunk"),
        Index("ix_job_chunks_job_status", "job_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    chunk_id: Mapped[int] = mapped_column(Integer, nullable=False)
    page_start: Mapped[int] = mapped_column(Integer, nullable=False)
    page_end: Mapped[int] = mapped_column(Integer, nullable=False)
    read_start: Mapped[int] = mapped_column(Integer, nullable=False)
    read_end: Mapped[int] = mapped_column(Integer, nullable=False)
    page_count: Mapped[int] = mapped_column(Integer, nullable=False)
    has_overlap: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    storage_key: Mapped[str] = mapped_column(String(512), nullable=False)
    payload_size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    status: Mapped[str] = mapped_column(
        String(16), nullable=False, default=ChunkStatus.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Deliveries that found the previous attempt's lease expired (its worker died).
    lost_deliveries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_retries: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    error_retryable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # The processor's hint (a 429's retryDelay): the next round waits at least this.
    retry_after_seconds: Mapped[float | None] = mapped_column(Float)
    # What the processor reported for the recorded result; 0 and True on a cache hit.
    tokens_used: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    cache_hit: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    result_json: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    celery_task_id: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, nullable=False, default=utcnow, onupdate=utcnow
    )
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

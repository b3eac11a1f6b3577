"""Thin Celery tasks: ids in, one service call, a tiny value out."""

from backend.tasks.maintenance import reconcile
from backend.tasks.pipeline import finalize_job, process_chunk, split_job
from backend.tasks.retention import purge_audit_logs, purge_finished_blobs

__all__ = [
    "finalize_job",
    "process_chunk",
    "purge_audit_logs",
    "purge_finished_blobs",
    "reconcile",
    "split_job",
]

"""Thin Celery tasks: ids in, one service call, a tiny value out."""

from backend.tasks.pipeline import finalize_job, process_chunk, split_job

__all__ = ["finalize_job", "process_chunk", "split_job"]

"""The three pipeline tasks. Each is a wrapper around one service."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from backend.services import finalize, process, split


@shared_task(name="quire.split_job", bind=True, ignore_result=True)
def split_job(self: Task, job_id: str) -> str:
    return split.split_job(job_id)


@shared_task(name="quire.process_chunk", bind=True)
def process_chunk(self: Task, chunk_pk: int) -> dict[str, Any]:
    # The return value feeds the chord: keep it small and deterministic.
    return process.process_chunk(chunk_pk, task_id=self.request.id)


@shared_task(name="quire.finalize_job", bind=True, ignore_result=True)
def finalize_job(self: Task, job_id: str, round_no: int) -> str:
    return finalize.finalize_job(job_id, round_no)

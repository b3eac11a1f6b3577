"""Retention tasks (beat, daily, on the maintenance queue)."""

from __future__ import annotations

from celery import shared_task

from backend.services import retention


@shared_task(name="quire.purge_audit_logs", ignore_result=True)
def purge_audit_logs() -> int:
    return retention.purge_audit_logs()


@shared_task(name="quire.purge_finished_blobs", ignore_result=True)
def purge_finished_blobs() -> int:
    return retention.purge_finished_blobs()

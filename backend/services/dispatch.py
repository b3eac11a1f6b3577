"""Publishing Celery messages. Messages carry ids only; rows are the truth.

Tasks are addressed by name so that services never import the task modules.
A failed publish is not an error for the caller: the job keeps
``dispatch_pending`` and the reconciler publishes it later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import Celery, chord, group
from flask import current_app as flask_app
from sqlalchemy import update

from backend.celery_app import ensure_embedded_worker
from backend.extensions import db
from backend.models import Job

log = logging.getLogger(__name__)


def _celery() -> Celery:
    """This Flask app's Celery app (not Celery's global default: tests run several)."""
    app = flask_app._get_current_object()  # type: ignore[attr-defined]
    ensure_embedded_worker(app)
    celery_app: Celery = app.extensions["celery"]
    return celery_app


def _mark_pending(job_id: str, pending: bool) -> None:
    db.session.execute(update(Job).where(Job.id == job_id).values(dispatch_pending=pending))
    db.session.commit()


def publish_split(job_id: str) -> bool:
    """Publish ``split_job``; on broker failure leave the job ``dispatch_pending``."""
    try:
        # ignore_result: nobody waits on it, and without it the publisher subscribes
        # to the result in Redis first, which retries ~20 s when Redis is down.
        _celery().send_task("quire.split_job", args=[job_id], ignore_result=True)
    except Exception:
        log.exception("job %s: could not publish split_job; left for the reconciler", job_id)
        _mark_pending(job_id, True)
        return False
    return True


def publish_round(
    job_id: str, chunk_pks: Sequence[int], round_no: int, countdown: float = 0.0
) -> bool:
    """Start ``chord(process_chunk × N)(finalize_job(job_id, round))``."""
    celery_app = _celery()
    header = group(
        celery_app.signature("quire.process_chunk", args=[pk], countdown=countdown or None)
        for pk in chunk_pks
    )
    body = celery_app.signature(
        "quire.finalize_job", args=[job_id, round_no], immutable=True, ignore_result=True
    )
    try:
        if chunk_pks:
            chord(header, app=celery_app)(body)
        else:
            body.apply_async()
    except Exception:
        log.exception(
            "job %s round %d: could not publish %d chunks; left for the reconciler",
            job_id,
            round_no,
            len(chunk_pks),
        )
        _mark_pending(job_id, True)
        return False
    log.info("job %s round %d: dispatched %d chunks", job_id, round_no, len(chunk_pks))
    return True


def publish_finalize(job_id: str, round_no: int) -> bool:
    try:
        _celery().send_task("quire.finalize_job", args=[job_id, round_no], ignore_result=True)
    except Exception:
        log.exception("job %s: could not publish finalize_job", job_id)
        _mark_pending(job_id, True)
        return False
    return True

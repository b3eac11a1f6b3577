"""The bench driver's own Quire app: submit jobs, split them here, wait for workers.

The driver runs Quire's services in-process against the bench database and
Redis, exactly as the web process and the split task would. Splitting in the
driver (instead of in a worker) lets the orchestration scenarios start their
clock when the chord is published, after the split is done.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from apiflask import APIFlask
from flask_migrate import upgrade
from pypdf import PdfWriter
from sqlalchemy import select

from backend import create_app
from backend.extensions import db
from backend.models import Job, JobStatus, User
from backend.services import dispatch, jobs, split, users
from bench import processors
from bench.infra import Services

TERMINAL = {s.value for s in (JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.FAILED)} | {
    JobStatus.CANCELLED.value
}


def blank_pdf(pages: int) -> bytes:
    """``pages`` blank pages: chunk content does not matter to orchestration."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def build_driver_app(services: Services) -> APIFlask:
    """Quire's app on the bench services, migrated, with the bench processors."""
    app = create_app(env=services.env())
    with app.app_context():
        upgrade(directory=str(app.extensions["migrate"].directory))
    processors.register()
    # Quire logs every job step at INFO; the bench's console is for progress lines.
    logging.getLogger().setLevel(logging.WARNING)
    return app


def bench_user() -> User:
    existing = db.session.scalar(select(User).where(User.email == "bench@example.com"))
    # An operator: the bench leaves more jobs unfinished than a user may (QUIRE_MAX_ACTIVE_JOBS).
    return existing or users.register_user(
        "bench@example.com", "bench password 123", role="operator"
    )


def submit(pdf: bytes | Path, **options: Any) -> str:
    """Store the upload and create the job row (its split message is left unconsumed)."""
    stream = pdf.open("rb") if isinstance(pdf, Path) else io.BytesIO(pdf)
    with stream:
        job = jobs.submit_job(bench_user(), "bench.pdf", stream, jobs.default_options(**options))
    return job.id


@contextmanager
def publish_clock() -> Iterator[list[float]]:
    """Record the wall-clock time at which each chord publish starts."""
    starts: list[float] = []
    original = dispatch.publish_round

    def timed(*args: Any, **kwargs: Any) -> bool:
        starts.append(time.time())
        return original(*args, **kwargs)

    dispatch.publish_round = timed  # type: ignore[assignment]
    try:
        yield starts
    finally:
        dispatch.publish_round = original  # type: ignore[assignment]


def split_and_time(job_id: str) -> float:
    """Run Quire's split service here; returns the time its chord publish started."""
    with publish_clock() as starts:
        status = split.split_job(job_id)
    if status != JobStatus.PROCESSING.value or not starts:
        raise RuntimeError(f"job {job_id}: split ended {status}")
    return starts[0]


def wait_terminal(job_id: str, timeout: float, poll: float = 0.1) -> Job:
    """Poll the job row until it is terminal; the job must have completed."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        job = db.session.get(Job, job_id)
        assert job is not None
        if job.status in TERMINAL:
            if job.status != JobStatus.COMPLETED.value:
                raise RuntimeError(f"job {job_id} ended {job.status}: {job.error_message}")
            return job
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} still {job.status} after {timeout:.0f}s")
        time.sleep(poll)


def finished_at(job: Job) -> float:
    stamp: datetime | None = job.finished_at
    assert stamp is not None
    return stamp.timestamp()

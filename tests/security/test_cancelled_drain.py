"""A cancelled or deleted job's queued messages cost nothing (issue 12, finding 2).

The audit cancelled and deleted a 20,000-chunk job: its queued messages kept a
worker at 100 % CPU while another user's job waited behind them. Each message
now costs its claim (one primary-key UPDATE that matches nothing) and one
primary-key read; no blob read, no parse, no processor call. Measured here
through the real service function against a baseline of bare primary-key
reads on the same connections, interleaved so that machine noise hits both.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from apiflask import APIFlask
from sqlalchemy import func, insert, select, text

from backend.database import autocommit_connection
from backend.extensions import db
from backend.models import Job, JobChunk, User
from backend.services import cancel, process, runtime
from backend.services.users import register_user

MESSAGES = 20_000
BLOCKS = 10
# Bare reads are the floor (pool checkout, pre-ping, one statement). Before
# this fix a cancelled message cost 8x that (statement building, two more
# statements, a log line at INFO): 101 s for 20,000 here, 11x. Now about 2x.
MAX_RATIO = 4.0

BARE_READ = text("SELECT id FROM job_chunks WHERE id = :pk")


def big_job(app: APIFlask, chunks: int) -> tuple[str, int, list[int]]:
    """A processing job of ``chunks`` pending one-page chunks (no files: none may be read)."""
    with app.app_context():
        user: User = register_user(f"big-{uuid.uuid4().hex[:8]}@example.com", "correct horse 12")
        job_id = str(uuid.uuid4())
        db.session.add(
            Job(
                id=job_id,
                owner_id=user.id,
                filename="big.pdf",
                source_key=f"jobs/{job_id}/source.pdf",
                source_sha256="0" * 64,
                source_size=1,
                processor="local",
                words_per_sentence=8,
                pages_per_chunk=1,
                overlap_pages=0,
                max_retries=0,
                status="processing",
                step="processing",
                total_chunks=chunks,
            )
        )
        db.session.flush()
        rows = [
            {
                "job_id": job_id,
                "chunk_id": n,
                "page_start": n + 1,
                "page_end": n + 1,
                "read_start": n + 1,
                "read_end": n + 1,
                "page_count": 1,
                "storage_key": f"jobs/{job_id}/chunks/{n:05d}.pdf",
                "status": "pending",
            }
            for n in range(chunks)
        ]
        db.session.execute(insert(JobChunk), rows)
        db.session.commit()
        pks = list(
            db.session.scalars(
                select(JobChunk.id).where(JobChunk.job_id == job_id).order_by(JobChunk.id)
            )
        )
        return job_id, user.id, pks


def bare_reads(pks: list[int]) -> None:
    for pk in pks:
        with autocommit_connection() as conn:
            conn.execute(BARE_READ, {"pk": pk}).first()


def drain(pks: list[int], statuses: dict[str, int]) -> None:
    for pk in pks:
        status = process.process_chunk(pk, task_id="drain")["status"]
        statuses[status] = statuses.get(status, 0) + 1


def timed_drain(pks: list[int]) -> tuple[float, float, dict[str, int]]:
    """(drain seconds, baseline seconds, statuses returned), in interleaved blocks."""
    statuses: dict[str, int] = {}
    spent = {"drain": 0.0, "bare": 0.0}
    size = len(pks) // BLOCKS
    for block in range(BLOCKS):
        part = pks[block * size : (block + 1) * size]
        runs: list[tuple[str, Callable[[], None]]] = [
            ("bare", lambda part=part: bare_reads(part)),
            ("drain", lambda part=part: drain(part, statuses)),
        ]
        for name, run in runs if block % 2 == 0 else reversed(runs):
            started = time.perf_counter()
            run()
            spent[name] += time.perf_counter() - started
    return spent["drain"], spent["bare"], statuses


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """``no_work()``: from then on, any blob access or processor call fails the test."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a cancelled chunk's message did real work")

    def install() -> None:
        monkeypatch.setattr(runtime, "blobs", forbidden)
        monkeypatch.setattr(process, "get_processor", forbidden)

    return install


def test_20000_messages_of_a_cancelled_job_drain_at_database_speed(
    app: APIFlask,
    client: Any,
    no_work: Callable[[], None],
    record_property: Callable[[str, object], None],
) -> None:
    job_id, user_id, pks = big_job(app, MESSAGES)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job is not None
        cancel.cancel_job(job, user_id)
        no_work()
        spent, baseline, statuses = timed_drain(pks)
        remaining = db.session.scalar(
            select(func.count(JobChunk.id)).where(
                JobChunk.job_id == job_id, JobChunk.status != "cancelled"
            )
        )
    record_property("cancelled_drain_seconds", round(spent, 2))
    record_property("bare_read_seconds", round(baseline, 2))
    print(f"\n{MESSAGES} cancelled messages: {spent:.2f} s; bare reads {baseline:.2f} s")
    assert statuses == {"cancelled": MESSAGES}
    assert remaining == 0
    assert spent <= MAX_RATIO * baseline, (spent, baseline)
    # The one refused claim that writes: a row made claimable after the cancel's
    # sweep (a race) is settled as cancelled, and still not run.
    with app.app_context():
        db.session.execute(
            text("UPDATE job_chunks SET status = 'retry_scheduled' WHERE id = :pk"), {"pk": pks[0]}
        )
        db.session.commit()
        assert process.process_chunk(pks[0])["status"] == "cancelled"
        status = db.session.scalar(select(JobChunk.status).where(JobChunk.id == pks[0]))
    assert status == "cancelled"


def test_20000_messages_of_a_deleted_job_find_no_rows_and_cost_as_little(
    app: APIFlask,
    client: Any,
    no_work: Callable[[], None],
    record_property: Callable[[str, object], None],
) -> None:
    job_id, user_id, pks = big_job(app, MESSAGES)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job is not None
        cancel.delete_job(job, user_id)
        left = db.session.scalar(select(func.count(JobChunk.id)).where(JobChunk.job_id == job_id))
        assert left == 0
        no_work()
        spent, baseline, statuses = timed_drain(pks)
        assert db.session.get(Job, job_id) is None
    record_property("deleted_drain_seconds", round(spent, 2))
    print(f"\n{MESSAGES} deleted-job messages: {spent:.2f} s; bare reads {baseline:.2f} s")
    assert statuses == {"missing": MESSAGES}
    assert spent <= MAX_RATIO * baseline, (spent, baseline)

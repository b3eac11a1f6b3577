"""The reconciler's repairs, one by one, on real Postgres and a real Redis broker.

Nothing consumes the broker here: every message the reconciler publishes stays
in Redis, so each test reads back exactly what was published. Rows are put in
the broken state a lost message, a dead worker or a failed publish leaves, and
the reconciler is called directly; ``now`` ages the rows without sleeping.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from apiflask import APIFlask
from sqlalchemy import select, update

from backend import create_app
from backend.extensions import db
from backend.models import Job, JobChunk
from backend.models.types import utcnow
from backend.services import jobs, split, users
from backend.services.reconcile import ADVISORY_LOCK_KEY, ReconcileReport, reconcile
from tests.conftest import TEST_DB, blank_pdf, dispose, pg_url, truncate_all
from tests.e2e.conftest import REDIS
from tests.integration.conftest import redis_service_app, sentence_result

pytestmark = pytest.mark.integration

BROKER_DB = 10
THRESHOLD = 600  # redispatch_after_seconds of this app


@pytest.fixture(scope="module")
def broker() -> redis.Redis:
    return redis.Redis.from_url(f"{REDIS}/{BROKER_DB}")


@pytest.fixture(scope="module")
def recon_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIFlask]:
    with redis_service_app(
        database_url,
        tmp_path_factory.mktemp("reconcile"),
        BROKER_DB,
        "reconcile",
        redispatch_after_seconds=THRESHOLD,
        retry_backoff_seconds=2.0,
    ) as flask_app:
        yield flask_app


@pytest.fixture
def app_ctx(recon_app: APIFlask, broker: redis.Redis) -> Iterator[APIFlask]:
    with recon_app.app_context():
        yield recon_app
        db.session.remove()
    truncate_all(recon_app)
    broker.flushdb()


def published(broker: redis.Redis) -> list[tuple[str, tuple[Any, ...]]]:
    """Every task message waiting in the broker, as sorted ``(task name, args)``."""
    found = []
    for key in broker.scan_iter():
        if broker.type(key) != b"list":
            continue
        for raw in broker.lrange(key, 0, -1):
            message = json.loads(raw)
            args = json.loads(base64.b64decode(message["body"]))[0]
            found.append((message["headers"]["task"], tuple(args)))
    return sorted(found)


def new_job(pages: int, pages_per_chunk: int, do_split: bool = True) -> str:
    """A stored job (split into chunk rows unless ``do_split`` is false); no message left."""
    owner = users.register_user(f"u{utcnow().timestamp()}@example.com", "long enough pw")
    options = jobs.default_options(pages_per_chunk=pages_per_chunk, overlap_pages=0)
    job = jobs.submit_job(owner, "book.pdf", io.BytesIO(blank_pdf(pages)), options)
    if do_split:
        split.split_job(job.id)
    return job.id


def lose_messages(broker: redis.Redis) -> None:
    broker.flushdb()


def set_job(job_id: str, **values: Any) -> None:
    db.session.execute(update(Job).where(Job.id == job_id).values(**values))
    db.session.commit()


def set_chunks(job_id: str, chunk_ids: list[int], **values: Any) -> None:
    db.session.execute(
        update(JobChunk)
        .where(JobChunk.job_id == job_id, JobChunk.chunk_id.in_(chunk_ids))
        .values(**values)
    )
    db.session.commit()


def chunk_pks(job_id: str) -> list[int]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(JobChunk.id).where(JobChunk.job_id == job_id).order_by(JobChunk.chunk_id)
        )
    )


def job_of(job_id: str) -> Job:
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job is not None
    return job


def later(seconds: float = THRESHOLD + 1) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def assert_second_run_does_nothing(broker: redis.Redis, now: datetime) -> None:
    before = published(broker)
    again = reconcile(now)
    assert again.repairs == 0, again
    assert published(broker) == before


def test_outbox_publishes_split_of_queued_job_and_clears_the_flag(
    app_ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id = new_job(4, 2, do_split=False)
    lose_messages(broker)
    set_job(job_id, dispatch_pending=True)

    report = reconcile()

    assert report.outbox_jobs == (job_id,)
    assert published(broker) == [("quire.split_job", (job_id,))]
    assert job_of(job_id).dispatch_pending is False
    assert_second_run_does_nothing(broker, utcnow())


def test_outbox_publishes_a_chord_over_the_waiting_chunks_of_a_processing_job(
    app_ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id = new_job(8, 2)  # chunks 0..3
    lose_messages(broker)
    pks = chunk_pks(job_id)
    set_chunks(job_id, [0], status="success", result_json=sentence_result(1, 2))
    set_chunks(job_id, [1], status="processing", lease_expires_at=later(60))
    set_chunks(job_id, [2], status="retry_scheduled")
    set_job(job_id, dispatch_pending=True)

    report = reconcile()

    assert report.outbox_jobs == (job_id,)
    # Chunk 1 runs under a live lease: its worker will finish it.
    assert published(broker) == [
        ("quire.process_chunk", (pks[2],)),
        ("quire.process_chunk", (pks[3],)),
    ]
    assert job_of(job_id).dispatch_pending is False
    assert_second_run_does_nothing(broker, utcnow())


def test_outbox_keeps_the_flag_when_the_publish_fails_again(
    recon_app: APIFlask, database_url: str, tmp_path: Path
) -> None:
    dead = create_app(
        {
            "database_url": database_url,
            "data_dir": tmp_path,
            "broker_url": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "secret_key": "reconcile-secret-0123456789abcdef0123456",
            "jwt_secret_key": "reconcile-jwt-secret-0123456789abcdef",
        }
    )
    try:
        with dead.app_context():
            job_id = new_job(2, 2, do_split=False)
            assert job_of(job_id).dispatch_pending is True  # submit's publish failed
            report = reconcile()
            assert report.failed_publishes == (job_id,)
            assert report.outbox_jobs == ()
            assert job_of(job_id).dispatch_pending is True
    finally:
        dispose(dead)
        truncate_all(recon_app)


def test_stale_waiting_chunks_of_a_quiet_job_are_redispatched_once_per_threshold(
    app_ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id = new_job(6, 2)
    lose_messages(broker)  # a broker flush: the chord's messages are gone
    pks = chunk_pks(job_id)

    assert reconcile().repairs == 0  # not stale yet: the messages may just be queued
    now = later()
    report = reconcile(now)

    assert report.stale_chunks == tuple(pks)
    assert published(broker) == [("quire.process_chunk", (pk,)) for pk in pks]
    assert_second_run_does_nothing(broker, now)
    # Still lost a threshold later: published once more, not once per run.
    lose_messages(broker)
    assert reconcile(now + timedelta(seconds=THRESHOLD + 1)).stale_chunks == tuple(pks)


def test_waiting_chunks_of_a_job_still_making_progress_are_left_alone(
    app_ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id = new_job(6, 2)
    lose_messages(broker)
    long_ago = utcnow() - timedelta(seconds=THRESHOLD * 3)
    set_chunks(job_id, [1, 2], updated_at=long_ago)
    set_chunks(job_id, [0], status="success", result_json=sentence_result(1, 2))  # just now

    assert reconcile().repairs == 0
    assert published(broker) == []


def test_retry_scheduled_chunks_wait_out_their_round_countdown_first(
    app_ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id = new_job(4, 2)
    lose_messages(broker)
    pks = chunk_pks(job_id)
    # Round 3 of the automatic retries: countdown 2 s × 2² = 8 s, up to 9.6 s with jitter.
    set_job(job_id, status="retrying", retry_count=3, round=3)
    set_chunks(job_id, [0, 1], status="retry_scheduled")

    assert reconcile(later(THRESHOLD + 5)).repairs == 0
    report = reconcile(later(THRESHOLD + 11))

    assert report.stale_chunks == tuple(pks)
    assert published(broker) == [("quire.process_chunk", (pk,)) for pk in pks]


def test_chunk_under_an_expired_lease_is_redispatched(
    app_ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id = new_job(4, 2)
    pks = chunk_pks(job_id)
    claimed_at = utcnow() - timedelta(seconds=400)
    set_chunks(job_id, [1], status="success", result_json=sentence_result(3, 4))
    set_chunks(
        job_id,
        [0],
        status="processing",
        attempts=1,
        updated_at=claimed_at,
        lease_expires_at=utcnow() - timedelta(seconds=1),
    )
    lose_messages(broker)

    report = reconcile()

    assert report.expired_lease_chunks == (pks[0],)
    assert report.stale_chunks == ()
    assert published(broker) == [("quire.process_chunk", (pks[0],))]
    assert_second_run_does_nothing(broker, utcnow())


def test_cancelled_jobs_chunk_left_by_a_dead_worker_is_cancelled_and_the_job_finalized(
    app_ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id = new_job(4, 2)
    pks = chunk_pks(job_id)
    set_chunks(job_id, [1], status="cancelled")
    set_chunks(job_id, [0], status="processing", lease_expires_at=utcnow() - timedelta(seconds=1))
    set_job(job_id, cancel_requested_at=utcnow())
    lose_messages(broker)

    report = reconcile()

    assert report.cancelled_chunks == (pks[0],)
    assert report.finalized_jobs == (job_id,)
    assert job_of(job_id).status == "cancelled"
    assert_second_run_does_nothing(broker, utcnow())


def test_job_whose_chunks_are_all_terminal_is_finalized(
    app_ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id = new_job(4, 2)
    set_chunks(job_id, [0], status="success", result_json=sentence_result(1, 2))
    set_chunks(job_id, [1], status="success", result_json=sentence_result(3, 4))
    lose_messages(broker)  # the chord's counter and its finalize message

    report = reconcile()

    assert report.finalized_jobs == (job_id,)
    job = job_of(job_id)
    assert job.status == "completed"
    assert job.result_summary is not None
    assert job.result_summary["sentence_count"] == 4
    assert_second_run_does_nothing(broker, utcnow())


def test_queued_job_never_split_gets_its_split_job_again(
    app_ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id = new_job(2, 2, do_split=False)
    lose_messages(broker)

    assert reconcile().repairs == 0
    now = later()
    report = reconcile(now)

    assert report.split_jobs == (job_id,)
    assert published(broker) == [("quire.split_job", (job_id,))]
    assert_second_run_does_nothing(broker, now)


def test_split_under_an_expired_lease_is_published_again(
    app_ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id = new_job(2, 2, do_split=False)
    set_job(
        job_id,
        status="splitting",
        updated_at=utcnow() - timedelta(seconds=400),
        lease_expires_at=utcnow() - timedelta(seconds=1),
    )
    lose_messages(broker)

    report = reconcile()

    assert report.split_jobs == (job_id,)
    assert published(broker) == [("quire.split_job", (job_id,))]
    assert_second_run_does_nothing(broker, utcnow())
    # The re-published split takes the job over (its claim accepts an expired lease).
    assert split.split_job(job_id) == "processing"


def test_run_is_skipped_while_another_holds_the_advisory_lock(
    app_ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id = new_job(2, 2, do_split=False)
    lose_messages(broker)
    set_job(job_id, dispatch_pending=True)
    with psycopg.connect(pg_url(TEST_DB)) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        assert reconcile() == ReconcileReport(skipped=True)
        assert published(broker) == []
        # Released here, not by closing: the server ends a closed session's
        # backend (and frees its locks) a moment after the client has gone.
        other.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    assert reconcile().outbox_jobs == (job_id,)


def test_concurrent_runs_repair_each_row_once(app_ctx: APIFlask, broker: redis.Redis) -> None:
    job_ids = [new_job(6, 2) for _ in range(3)]
    lose_messages(broker)
    expected = sorted(pk for job_id in job_ids for pk in chunk_pks(job_id))
    now = later()
    barrier = threading.Barrier(4)
    reports: list[ReconcileReport] = []

    def run() -> None:
        with app_ctx.app_context():
            barrier.wait()
            reports.append(reconcile(now))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    repaired = [pk for report in reports for pk in report.stale_chunks]
    assert sorted(repaired) == expected  # each chunk once, whoever ran
    assert published(broker) == [("quire.process_chunk", (pk,)) for pk in expected]


def test_flask_quire_reconcile_prints_the_report(app_ctx: APIFlask, broker: redis.Redis) -> None:
    job_id = new_job(2, 2, do_split=False)
    lose_messages(broker)
    set_job(job_id, dispatch_pending=True)

    result = app_ctx.test_cli_runner().invoke(args=["quire", "reconcile"])

    assert result.exit_code == 0, result.output
    assert f"outbox_jobs: 1  {job_id}" in result.output
    assert "repaired: 1" in result.output


def test_embedded_sqlite_run_uses_the_process_lock(tmp_path: Path) -> None:
    from backend.services import reconcile as module

    embedded = create_app({"data_dir": tmp_path, "embedded_worker": False})
    try:
        with embedded.app_context():
            from flask_migrate import upgrade

            upgrade(directory=str(embedded.extensions["migrate"].directory))
            job_id = new_job(2, 2, do_split=False)
            set_job(job_id, dispatch_pending=True)
            with module._local_lock:
                assert reconcile().skipped
            report = reconcile()
            assert report.outbox_jobs == (job_id,)
            assert job_of(job_id).dispatch_pending is False
            assert reconcile().repairs == 0
    finally:
        dispose(embedded)

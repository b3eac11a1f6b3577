"""Scenario 3: status queries, row writes and a manual retry under a 5,000-chunk job.

While a real worker (threads, C=8) processes the job (``bench_sleep``, 0.05 s,
every 10th chunk fails permanently), the driver reads the job and its failed
chunks many times, in the service layer and through the Flask test client.
The worker times its own chunk row writes (claim and outcome, UPDATE +
commit). Then the worker stops, 500 chunks are failed, and a manual retry of
all of them (rows + a 500-task chord publish) is timed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from celery import chord
from flask_jwt_extended import create_access_token
from sqlalchemy import select, text

from backend.api.views import chunk_view, job_view
from backend.extensions import db
from backend.models import Job, JobChunk
from backend.services import retry
from backend.services.queries import chunk_counts
from bench import chord_app, driver
from bench.context import Context
from bench.infra import celery_worker
from bench.report import Row, Section
from bench.stats import ms, percentile

FAIL_EVERY = 10


def _sample(func: Callable[[], object], count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def _job_service(job_id: str) -> Callable[[], object]:
    def call() -> object:
        db.session.expire_all()
        job = db.session.get(Job, job_id)
        return job_view(job)

    return call


def _failed_chunks_service(job_id: str) -> Callable[[], object]:
    def call() -> object:
        db.session.expire_all()
        job = db.session.get(Job, job_id)
        assert job is not None
        counts = chunk_counts(job.id)
        rows = db.session.scalars(
            select(JobChunk)
            .where(JobChunk.job_id == job.id, JobChunk.status == "failed")
            .order_by(JobChunk.chunk_id)
            .limit(20)
        )
        return counts, [chunk_view(c) for c in rows]

    return call


def _pk_read(job_id: str) -> Callable[[], object]:
    def call() -> object:
        db.session.expire_all()
        return db.session.execute(select(Job.id).where(Job.id == job_id)).first()

    return call


def _bare_write(database_url: str, count: int) -> list[float]:
    """An idle-database floor: one single-row UPDATE and its commit, raw psycopg."""
    times = []
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TEMP TABLE bench_floor (id int primary key, n int)")
        conn.execute("INSERT INTO bench_floor VALUES (1, 0)")
        conn.commit()
        for _ in range(count):
            start = time.perf_counter()
            conn.execute("UPDATE bench_floor SET n = n + 1 WHERE id = 1")
            conn.commit()
            times.append(time.perf_counter() - start)
    return times


def _pct_rows(name: str, quire: list[float], floor: list[float]) -> list[Row]:
    return [
        Row(
            f"{name} p{q}",
            ms(percentile(quire, q)),
            ms(percentile(floor, q)),
            percentile(quire, q) / percentile(floor, q),
        )
        for q in (50, 99)
    ]


def run(ctx: Context) -> Section:
    chunks = 1000 if ctx.quick else 5000
    requests = 200 if ctx.quick else 400
    section = Section(
        title="3. Status queries under a big job",
        method=(
            f"A {chunks}-chunk job running on `-P threads -c 8` (`bench_sleep`, 0.05 s, every "
            f"{FAIL_EVERY}th chunk fails). {requests} reads of each kind while it runs; "
            "service layer = the API view's queries and serialisation without HTTP; test "
            "client = the whole Flask stack with a JWT."
        ),
        baseline=(
            "Baselines, measured in the same run: service reads against one primary-key "
            "`SELECT` of the job row through the same session; test-client reads against "
            "`GET /health` through the same client; chunk row writes (measured inside the "
            "worker: `claim_chunk` and `_record`, UPDATE + commit) against a single-row "
            "UPDATE + commit with raw psycopg on the idle database; the manual retry of 500 "
            "chunks against publishing a plain 500-task chord to the same Redis."
        ),
    )
    floor_write = _bare_write(ctx.services.database_url, 500)
    write_log = Path(ctx.services.data_dir) / "writes.log"
    job_id = driver.submit(
        ctx.blank_pdf(chunks),
        processor="bench_sleep",
        pages_per_chunk=1,
        overlap_pages=0,
        max_retries=0,
    )
    user_id = driver.bench_user().id
    headers = {"Authorization": f"Bearer {create_access_token(identity=str(user_id))}"}
    client = ctx.app.test_client()
    with celery_worker(
        ctx.services,
        "bench.worker_entry",
        ctx.app.extensions["celery"],
        "threads",
        8,
        "quire-queries",
        QUIRE_BENCH_SLEEP_SECONDS="0.05",
        QUIRE_BENCH_FAIL_EVERY=str(FAIL_EVERY),
        QUIRE_BENCH_WRITE_LOG=str(write_log),
    ):
        driver.split_and_time(job_id)
        time.sleep(2)  # let the worker reach its steady state
        with ctx.app.test_request_context():  # the views build their links with url_for
            results = {
                "GET job (service)": _sample(_job_service(job_id), requests),
                "failed chunks (service)": _sample(_failed_chunks_service(job_id), requests),
                "pk read (floor)": _sample(_pk_read(job_id), requests),
            }
        results |= {
            "GET job (client)": _sample(
                lambda: client.get(f"/api/v1/jobs/{job_id}", headers=headers), requests
            ),
            "failed chunks (client)": _sample(
                lambda: client.get(f"/api/v1/jobs/{job_id}/chunks?status=failed", headers=headers),
                requests,
            ),
            "health (floor)": _sample(lambda: client.get("/health"), requests),
        }
        db.session.expire_all()
        done = sum(v for k, v in chunk_counts(job_id).items() if k in ("success", "failed"))
        ctx.progress(f"queries: sampled while {done}/{chunks} chunks were done")
    ctx.services.flush_redis()
    floor = results["pk read (floor)"]
    for name in ("GET job (service)", "failed chunks (service)"):
        section.rows += _pct_rows(name, results[name], floor)
    floor = results["health (floor)"]
    for name in ("GET job (client)", "failed chunks (client)"):
        section.rows += _pct_rows(name, results[name], floor)
    writes = [float(line.split()[1]) for line in write_log.read_text().splitlines()]
    section.rows += _pct_rows(f"chunk row write ({len(writes)} writes)", writes, floor_write)
    section.rows.append(_retry_row(ctx, job_id, user_id, chunks))
    section.notes.append(
        "Seed targets, absolute and machine-dependent, for reference only: service p50 < 2 ms "
        "(GET job service p50 here: "
        f"{ms(percentile(results['GET job (service)'], 50))}), end-to-end < 500 ms, row write "
        "p99 < 100 ms, retry of 500 chunks < 1 s."
    )
    return section


def _retry_row(ctx: Context, job_id: str, user_id: int, chunks: int) -> Row:
    # Setup, not measured: exactly 500 failed chunks (the worker was stopped mid-job).
    db.session.execute(
        text(
            "UPDATE job_chunks SET status = 'failed', last_error_code = 'NO_TEXT', "
            "error_retryable = false WHERE job_id = :job AND chunk_id % :every = 0"
        ),
        {"job": job_id, "every": max(1, chunks // 500)},
    )
    db.session.commit()
    job = db.session.get(Job, job_id)
    assert job is not None
    start = time.perf_counter()
    outcome = retry.retry_chunks(job, user_id)
    quire = time.perf_counter() - start
    header = [chord_app.sleep_task.s(i, 0.0) for i in range(outcome.retried_count)]
    start = time.perf_counter()
    chord(header, app=chord_app.app)(chord_app.done.si())
    plain = time.perf_counter() - start
    ctx.services.flush_redis()
    ctx.progress(
        f"queries: retry of {outcome.retried_count} chunks {quire:.3f}s, chord {plain:.3f}s"
    )
    return Row(
        f"manual retry of {outcome.retried_count} chunks", ms(quire), ms(plain), quire / plain
    )

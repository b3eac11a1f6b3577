"""Scenario 5: scaling with a no-op processor; Redis memory; finalize's queries.

Jobs of growing size on one worker (threads, C=8), each against a plain chord of
as many no-op tasks on the same worker settings. Time per chunk should stay
flat; Redis memory is sampled while the job runs (peak over the idle level)
and after it (retained: chord results live for ``result_expires``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis
from celery import chord
from sqlalchemy import select

from backend.extensions import db
from backend.models import JobChunk
from backend.services.queries import chunk_counts
from bench import chord_app, driver
from bench.context import Context
from bench.infra import celery_worker
from bench.report import Row, Section
from bench.stats import median, mib, ms

FLAT = 1.2


@contextmanager
def redis_memory(url: str) -> Iterator[dict[str, int]]:
    """Sample ``used_memory`` every 20 ms: yields {"idle", "peak", "after"} (bytes)."""
    client = redis.Redis.from_url(url)
    seen = {"idle": int(client.info("memory")["used_memory"]), "peak": 0, "after": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            seen["peak"] = max(seen["peak"], int(client.info("memory")["used_memory"]))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()
        seen["after"] = int(client.info("memory")["used_memory"])
        seen["peak"] = max(seen["peak"], seen["after"])


def _finalize_queries(job_id: str) -> float:
    """Finalize's reads: counts by status, then every chunk's merge columns."""
    start = time.perf_counter()
    chunk_counts(job_id)
    rows = db.session.execute(
        select(JobChunk.chunk_id, JobChunk.status, JobChunk.result_json)
        .where(JobChunk.job_id == job_id)
        .order_by(JobChunk.chunk_id)
    ).all()
    assert rows
    return time.perf_counter() - start


def _quire(ctx: Context, chunks: int) -> tuple[float, dict[str, int], float]:
    job_id = driver.submit(
        ctx.blank_pdf(chunks), processor="bench_noop", pages_per_chunk=1, overlap_pages=0
    )
    with redis_memory(ctx.services.redis_url) as memory:
        start = driver.split_and_time(job_id)
        job = driver.wait_terminal(job_id, timeout=120 + chunks * 0.2)
    wall = driver.finished_at(job) - start
    finalize = median([_finalize_queries(job_id) for _ in range(3)])
    return wall, memory, finalize


def _chord(ctx: Context, chunks: int) -> tuple[float, dict[str, int]]:
    header = [chord_app.sleep_task.s(i, 0.0) for i in range(chunks)]
    with redis_memory(ctx.services.redis_url) as memory:
        start = time.time()
        result = chord(header, app=chord_app.app)(chord_app.done.si())
        done: float = result.get(timeout=120 + chunks * 0.2, interval=0.05)
    return done - start, memory


def _each(
    sizes: list[int], measure: Callable[[int], object], label: str, ctx: Context
) -> dict[int, object]:
    out = {}
    for n in sizes:
        out[n] = measure(n)
        ctx.progress(f"scaling: {label} N={n} done")
        ctx.services.flush_redis()
    return out


def _ratio(quire: int, baseline: int) -> float:
    """Memory growth ratio; NaN (shown as "—") when the baseline did not grow measurably."""
    return quire / baseline if baseline > 64 * 1024 else math.nan


def run(ctx: Context) -> Section:
    sizes = [100, 500, 1000] if ctx.quick else [100, 500, 1000, 2000, 5000]
    section = Section(
        title="5. Scaling",
        method=(
            "Jobs of N one-page chunks with `bench_noop` on `-P threads -c 8`; wall time from "
            "chord publish to `finished_at`, divided by N. Redis `used_memory` sampled every "
            "20 ms (peak over idle) and after the job (retained). Finalize's reads (counts by "
            "status + every chunk's merge columns) timed after the job, median of 3."
        ),
        baseline=(
            "Baselines: time per chunk against the median time per chunk over all sizes "
            f"(flat = within ±{(FLAT - 1) * 100:.0f} %); Quire against a plain chord of N no-op "
            "tasks on the same worker settings (time per chunk and Redis memory); finalize's "
            "reads against the job's wall time."
        ),
    )
    celery = ctx.app.extensions["celery"]
    with celery_worker(ctx.services, "bench.worker_entry", celery, "threads", 8, "quire-scale"):
        _quire(ctx, 16)
        ctx.services.flush_redis()
        quire = _each(sizes, lambda n: _quire(ctx, n), "quire", ctx)
    with celery_worker(ctx.services, "bench.chord_app", chord_app.app, "threads", 8, "chord-scale"):
        _chord(ctx, 16)
        ctx.services.flush_redis()
        plain = _each(sizes, lambda n: _chord(ctx, n), "chord", ctx)
    per_chunk = {n: quire[n][0] / n for n in sizes}  # type: ignore[index]
    typical = median(list(per_chunk.values()))
    for n in sizes:
        wall, memory, finalize = quire[n]  # type: ignore[misc]
        chord_wall, chord_memory = plain[n]  # type: ignore[misc]
        section.rows += [
            Row(
                f"N={n}: time per chunk vs median",
                ms(per_chunk[n]),
                ms(typical),
                per_chunk[n] / typical,
                FLAT,
            ),
            Row(
                f"N={n}: time per chunk vs chord",
                ms(per_chunk[n]),
                ms(chord_wall / n),
                wall / chord_wall,
            ),
            Row(
                f"N={n}: Redis peak vs chord",
                mib(memory["peak"] - memory["idle"]),
                mib(chord_memory["peak"] - chord_memory["idle"]),
                _ratio(
                    memory["peak"] - memory["idle"], chord_memory["peak"] - chord_memory["idle"]
                ),
            ),
            Row(
                f"N={n}: Redis retained vs chord",
                mib(memory["after"] - memory["idle"]),
                mib(chord_memory["after"] - chord_memory["idle"]),
                _ratio(
                    memory["after"] - memory["idle"], chord_memory["after"] - chord_memory["idle"]
                ),
            ),
            Row(f"N={n}: finalize reads vs job wall", ms(finalize), ms(wall), finalize / wall),
        ]
    low = min(per_chunk.values()) / typical
    section.notes.append(
        f"Flatness also needs the lowest ratio ≥ {2 - FLAT:.1f}: lowest here {low:.2f}."
    )
    return section

"""Prometheus metrics: the counters anyone may increment, and the scrape-time gauges.

Counters and histograms live here as module singletons; import and increment
them (``CACHE_HITS.labels(processor="gemini", layer="db").inc()``). With
``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn workers, Celery prefork children),
prometheus-client writes them to files in that directory and ``/metrics`` adds
up every process's. Gauges that describe the database (jobs by state, stuck
jobs, expired leases, pool usage) and the broker (queue depth) are computed
when ``/metrics`` is scraped, so they never go stale and need no process to own them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CHUNK_DURATION = Histogram(
    "quire_chunk_duration_seconds",
    "Wall time of one processor call on one chunk, by processor and outcome.",
    ["processor", "status"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 240),
)
CHUNK_RETRIES = Counter(
    "quire_chunk_retries_total",
    "Chunks sent back to work: automatic retry rounds and manual retries.",
    ["kind"],
)
RATE_LIMITED = Counter(
    "quire_rate_limited_total",
    "429 answers: given by our API (source=api) or received from a processor (source=processor).",
    ["source"],
)
# ``layer``: redis (in front, with a TTL) or db (the result_cache table). A
# lookup that misses Redis and hits the table counts a redis miss and a db hit.
CACHE_HITS = Counter(
    "quire_result_cache_hits_total", "Result cache hits, by layer.", ["processor", "layer"]
)
CACHE_MISSES = Counter(
    "quire_result_cache_misses_total", "Result cache misses, by layer.", ["processor", "layer"]
)
CACHE_REDIS_ERRORS = Counter(
    "quire_result_cache_redis_errors_total",
    "Result cache Redis calls that failed (the database table answered instead).",
    ["op"],
)
RECONCILER_REPAIRS = Counter(
    "quire_reconciler_repairs_total", "Rows the reconciler repaired, by kind of repair.", ["kind"]
)
DB_DEADLOCK_RETRIES = Counter(
    "quire_db_deadlock_retries_total", "Transactions re-run after losing a deadlock.", ["function"]
)
RETENTION_DELETED = Counter(
    "quire_retention_deleted_total", "Rows or blobs removed by retention tasks.", ["kind"]
)
OVERSIZE_RESULTS = Counter(
    "quire_oversize_results_total", "Chunk results moved to the blob store for their size."
)
PERSISTENCE_RETRIES = Counter(
    "quire_persistence_retries_total",
    "Durable writes tried again after a transient database error or a failed verification.",
    ["kind"],
)
PERSISTENCE_VERIFY_FAILURES = Counter(
    "quire_persistence_verification_failures_total",
    "Durable writes whose read-back did not match what was written (SHA-256).",
    ["kind"],
)
PERSISTENCE_BACKUPS = Counter(
    "quire_persistence_backups_total",
    "Records written to the file backup because the database would not take them.",
    ["kind"],
)
PERSISTENCE_RECOVERED = Counter(
    "quire_persistence_recovered_total",
    "Backed-up records replayed by flask quire recover, by outcome (applied, skipped).",
    ["kind", "outcome"],
)
STUCK_AFTER_MINUTES = 30


class ScrapeTimeCollector(Collector):
    """Gauges read from Postgres and the broker at each scrape (inside the app context)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from backend.services import health_checks

        snapshot = health_checks.metrics_snapshot(STUCK_AFTER_MINUTES)
        jobs = GaugeMetricFamily("quire_jobs", "Jobs by status.", labels=["status"])
        for status, count in sorted(snapshot.jobs_by_status.items()):
            jobs.add_metric([status], count)
        yield jobs
        yield GaugeMetricFamily(
            "quire_stuck_jobs",
            f"Active jobs without any change for {STUCK_AFTER_MINUTES} minutes.",
            value=snapshot.stuck_jobs,
        )
        yield GaugeMetricFamily(
            "quire_expired_leases",
            "Chunks still processing whose lease has expired (a lost worker).",
            value=snapshot.expired_leases,
        )
        depth = GaugeMetricFamily(
            "quire_queue_depth", "Messages waiting in each broker queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "quire_queue_oldest_message_age_seconds",
            "Age of the message each queue's consumers take next (0 when the queue is empty).",
            labels=["queue"],
        )
        for queue, stats in sorted(snapshot.queues.items()):
            depth.add_metric([queue], stats.depth)
            age.add_metric([queue], stats.oldest_age_seconds or 0.0)
        yield depth
        yield age
        pool = GaugeMetricFamily(
            "quire_db_pool_connections",
            "This web process's database pool, by state.",
            labels=["state"],
        )
        for state, count in snapshot.pool.items():
            pool.add_metric([state], count)
        yield pool


def exposition() -> tuple[bytes, str]:
    """The text of ``/metrics`` and its content type."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        process_metrics = b""
    else:
        process_metrics = generate_latest(REGISTRY)
    registry.register(ScrapeTimeCollector())
    return process_metrics + generate_latest(registry), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int, **_: Any) -> None:
    """gunicorn ``child_exit`` hook: drop a dead worker's live gauges (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]

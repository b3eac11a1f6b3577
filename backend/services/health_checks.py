"""Health checks and scrape-time numbers: database, broker, workers, persistence.

Each check returns ``(status, details)`` with status ``healthy``, ``degraded``
(works, but an operator should look) or ``unhealthy`` (not ready: 503). The
thresholds are documented in docs/operations.md.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from backend.database import classify_db_error, pool_usage
from backend.extensions import db
from backend.models import ChunkStatus, Job, JobChunk, JobStatus
from backend.models.types import utcnow
from backend.services import queue_stats, runtime

log = logging.getLogger(__name__)

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
POOL_DEGRADED_AT = 0.75
POOL_UNHEALTHY_ABOVE = 0.90
WORKER_PING_TIMEOUT = 1.0
Check = tuple[str, dict[str, Any]]


def pool_level(utilisation: float) -> str:
    """healthy below 75 %, degraded from 75 % to 90 %, unhealthy above 90 %."""
    if utilisation > POOL_UNHEALTHY_ABOVE:
        return UNHEALTHY
    if utilisation >= POOL_DEGRADED_AT:
        return DEGRADED
    return HEALTHY


def check_database() -> Check:
    """Pool utilisation, then ``SELECT 1`` (read first: this check's connection is not counted)."""
    usage = pool_usage(db.engine)
    details: dict[str, Any] = {"pool": usage.as_dict() if usage else None}
    status = pool_level(usage.utilisation) if usage else HEALTHY
    if usage and usage.checked_out >= usage.capacity:
        # A round trip would wait pool_timeout seconds for a connection: report now.
        details["error"] = "the connection pool is exhausted"
        return UNHEALTHY, details
    started = time.perf_counter()
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        details.update(error=classify_db_error(exc), message=type(exc).__name__)
        return UNHEALTHY, details
    details["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return status, details


def _redis_client() -> Any:
    import redis

    return redis.Redis.from_url(
        runtime.settings().broker_url, socket_timeout=2, socket_connect_timeout=2
    )


def _redis_warnings(client: Any) -> list[str]:
    warnings: list[str] = []
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
        save = client.config_get("save").get("save", "")
    except Exception:  # managed Redis often forbids CONFIG
        return ["CONFIG GET is not allowed; cannot verify maxmemory-policy and persistence"]
    if policy != "noeviction":
        warnings.append(
            f"maxmemory-policy is {policy!r}: Redis may evict queued tasks; use 'noeviction'"
        )
    aof = client.info("persistence").get("aof_enabled", 0)
    if not aof and not save:
        warnings.append("persistence is off (no AOF, no RDB): a restart loses every queued task")
    return warnings


def check_broker() -> Check:
    """Ping, queue depths, and the Redis settings that make queued tasks durable."""
    settings = runtime.settings()
    if settings.embedded:
        return HEALTHY, {
            "transport": "memory",
            "note": "embedded mode: in-process queues",
            **_queue_details(queue_stats.memory_queue_stats()),
        }
    client = _redis_client()
    try:
        started = time.perf_counter()
        client.ping()
        latency = round((time.perf_counter() - started) * 1000, 2)
        stats = queue_stats.redis_queue_stats(client)
        warnings = _redis_warnings(client)
    except Exception as exc:
        return UNHEALTHY, {"transport": "redis", "error": type(exc).__name__, "message": str(exc)}
    finally:
        client.close()
    details = {
        "transport": "redis",
        "latency_ms": latency,
        **_queue_details(stats),
        "warnings": warnings,
    }
    return (DEGRADED if warnings else HEALTHY), details


def _queue_details(stats: dict[str, queue_stats.QueueStats]) -> dict[str, Any]:
    return {
        "queues": {name: q.depth for name, q in stats.items()},
        "oldest_message_age_seconds": {name: q.oldest_age_seconds for name, q in stats.items()},
    }


def check_workers() -> Check:
    """Celery ``inspect ping`` with a short timeout; embedded: the in-process worker."""
    settings = runtime.settings()
    if settings.embedded:
        running = "quire_embedded_worker" in current_app.extensions
        if not settings.embedded_worker:
            return DEGRADED, {"mode": "embedded", "note": "the in-process worker is disabled"}
        return HEALTHY, {"mode": "embedded", "running": running, "note": "starts on first job"}
    celery_app = current_app.extensions["celery"]
    try:
        replies = celery_app.control.inspect(timeout=WORKER_PING_TIMEOUT).ping() or {}
    except Exception as exc:
        return UNHEALTHY, {"workers": [], "error": type(exc).__name__, "message": str(exc)}
    workers = sorted(replies)
    if not workers:
        return UNHEALTHY, {"workers": [], "error": "no worker answered the ping"}
    return HEALTHY, {"workers": workers, "count": len(workers)}


def check_persistence() -> Check:
    """This host's file backup: pending records (degraded), or a directory we cannot write.

    Backups are per host unless ``QUIRE_BACKUP_DIR`` is a shared volume: each
    host's check reports its own directory (docs/runbook.md).
    """
    from backend.services import backups

    root = runtime.settings().backup_root
    problem = backups.writable(root)
    found = backups.pending(root)
    details: dict[str, Any] = {"backup_dir": str(root), "pending": len(found)}
    if found:
        kinds = Counter(item.record.kind if item.record else "unreadable" for item in found)
        details["by_kind"] = dict(sorted(kinds.items()))
        details["oldest_age_seconds"] = round(max(item.age_seconds for item in found), 1)
        details["action"] = "run `flask quire recover --all` on this host (docs/runbook.md)"
    if problem:
        details["error"] = f"the backup directory is not writable ({problem})"
        return UNHEALTHY, details
    return (DEGRADED if found else HEALTHY), details


@dataclass
class MetricsSnapshot:
    jobs_by_status: dict[str, int] = field(default_factory=dict)
    stuck_jobs: int = 0
    expired_leases: int = 0
    queues: dict[str, queue_stats.QueueStats] = field(default_factory=dict)
    pool: dict[str, int] = field(default_factory=dict)


def metrics_snapshot(stuck_after_minutes: int) -> MetricsSnapshot:
    """The numbers behind the scrape-time gauges; a failing source leaves its numbers out."""
    snapshot = MetricsSnapshot()
    usage = pool_usage(db.engine)
    if usage:
        snapshot.pool = {
            "checked_out": usage.checked_out,
            "size": usage.size,
            "overflow": usage.overflow,
            "capacity": usage.capacity,
        }
    now = utcnow()
    active = [JobStatus.QUEUED, JobStatus.SPLITTING, JobStatus.PROCESSING, JobStatus.RETRYING]
    try:
        with db.engine.connect() as conn:
            counts = dict(conn.execute(select(Job.status, func.count()).group_by(Job.status)).all())
            snapshot.jobs_by_status = {s.value: int(counts.get(s.value, 0)) for s in JobStatus}
            snapshot.stuck_jobs = int(
                conn.scalar(
                    select(func.count()).where(
                        Job.status.in_([s.value for s in active]),
                        Job.updated_at < now - timedelta(minutes=stuck_after_minutes),
                    )
                )
                or 0
            )
            snapshot.expired_leases = int(
                conn.scalar(
                    select(func.count()).where(
                        JobChunk.status == ChunkStatus.PROCESSING.value,
                        JobChunk.lease_expires_at < now,
                    )
                )
                or 0
            )
    except SQLAlchemyError as exc:
        log.warning("metrics: database unavailable (%s)", type(exc).__name__)
    if runtime.settings().embedded:
        snapshot.queues = queue_stats.memory_queue_stats()
    else:
        client = _redis_client()
        try:
            snapshot.queues = queue_stats.redis_queue_stats(client)
        except Exception as exc:
            log.warning("metrics: broker unavailable (%s)", type(exc).__name__)
        finally:
            client.close()
    return snapshot

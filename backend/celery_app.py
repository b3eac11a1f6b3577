"""Celery wiring, after Flask's own ``examples/celery``.

``celery_init_app`` builds the Celery app from the settings, gives every task
an app context, and stores it in ``app.extensions["celery"]``. In embedded mode
``ensure_embedded_worker`` starts a worker thread in this process on the
in-memory transport: the same tasks and chords as in service mode.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from celery import Celery, Task
from flask import Flask

from backend.config import Settings

log = logging.getLogger(__name__)

QUEUES = ("split", "chunks", "finalize", "maintenance")
TASK_ROUTES = {
    "quire.split_job": {"queue": "split"},
    "quire.process_chunk": {"queue": "chunks"},
    "quire.finalize_job": {"queue": "finalize"},
    "quire.reconcile": {"queue": "maintenance"},
    "quire.purge_audit_logs": {"queue": "maintenance"},
    "quire.purge_finished_blobs": {"queue": "maintenance"},
}
# Periodic tasks (celery beat); each entry is idempotent, so two beats do no harm.
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "purge-audit-logs": {"task": "quire.purge_audit_logs", "schedule": 24 * 3600.0},
    "purge-finished-blobs": {"task": "quire.purge_finished_blobs", "schedule": 24 * 3600.0},
}


# With Redis down a publish must fail fast (the job keeps ``dispatch_pending`` and
# the reconciler publishes it later), not block the upload: kombu's publish retries
# (~0.6 s) and the result backend's reconnects (Celery's default is 20 × 1 s,
# what chord publishing and result subscriptions go through) are kept short.
# Measured with Redis stopped: POST /jobs answers 202 in ~0.7 s instead of ~20 s.
PUBLISH_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
BACKEND_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CONNECT_TIMEOUT_SECONDS = 2.0


def _beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    # ``expires``: runs missed while no worker consumed ``maintenance`` are
    # dropped, not stacked up (each would only find the lock taken anyway).
    interval = float(settings.reconcile_interval_seconds)
    reconcile = {"task": "quire.reconcile", "schedule": interval, "options": {"expires": interval}}
    return {**BEAT_SCHEDULE, "reconcile": reconcile}


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery settings of DESIGN.md, derived from Quire's settings."""
    transport_options: dict[str, Any] = {"visibility_timeout": settings.visibility_timeout_seconds}
    if settings.embedded:
        # The memory transport polls; at the default 1 s a 40-task chord takes 11 s.
        transport_options = {"polling_interval": 0.01}
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.celery_result_backend,
        "broker_transport_options": transport_options,
        "result_backend_transport_options": {
            "visibility_timeout": settings.visibility_timeout_seconds,
            "retry_policy": BACKEND_RETRY_POLICY,
        },
        "task_publish_retry_policy": PUBLISH_RETRY_POLICY,
        "broker_connection_timeout": CONNECT_TIMEOUT_SECONDS,
        "redis_socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_deduplicate_successful_tasks": not settings.embedded,
        "worker_max_tasks_per_child": 1000,
        "worker_max_memory_per_child": 512_000,  # KiB
        "task_soft_time_limit": settings.chunk_soft_time_limit,
        "task_time_limit": settings.chunk_time_limit,
        # Set on the chunk task itself too (the processors' own time-outs, e.g.
        # the Gemini client's and the PDF sandbox's, stay below the soft limit).
        "task_annotations": {
            "quire.process_chunk": {
                "soft_time_limit": settings.chunk_soft_time_limit,
                "time_limit": settings.chunk_time_limit,
            }
        },
        "result_expires": 7 * 24 * 3600,
        "task_default_queue": "chunks",
        "task_routes": TASK_ROUTES,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_track_started": False,
        "worker_hijack_root_logger": False,
        "beat_schedule": _beat_schedule(settings),
    }


def celery_init_app(app: Flask, settings: Settings) -> Celery:
    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_config(settings))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    _fresh_engine_after_fork(app)
    _warn_on_a_small_pool(settings)
    _stamp_published_messages()
    # Registers the tasks on this app (they are @shared_task).
    import backend.tasks  # noqa: F401

    return celery_app


def _fresh_engine_after_fork(app: Flask) -> None:
    """A prefork child must not share the parent's pooled sockets: drop them."""
    from celery.signals import worker_process_init

    from backend.database import dispose_after_fork

    def _dispose(**_: Any) -> None:
        dispose_after_fork(app)

    worker_process_init.connect(_dispose, weak=False)


# Pools whose tasks all run in the worker's own process, sharing its DB pool.
# (``-P threads`` arrives as the alias or as celery.concurrency.thread.TaskPool.)
_IN_PROCESS_POOLS = ("thread", "gevent", "eventlet")


def pool_too_small(pool_name: str, concurrency: int, settings: Settings) -> bool:
    """Would this worker open and close connections beyond ``QUIRE_DB_POOL_SIZE`` per task?

    SQLAlchemy keeps ``pool_size`` connections; each one beyond (overflow) is
    closed when it is returned. A threads worker whose tasks start together (a
    chord fans out C at once) then pays a Postgres connect per task and burst:
    3.5× a plain chord at C=32 with the default pool of 10 (docs/benchmarks.md).
    Prefork children run one task each and use one connection: never too small.
    """
    in_process = any(name in pool_name.lower() for name in _IN_PROCESS_POOLS)
    return in_process and concurrency > settings.db_pool_size


def _warn_on_a_small_pool(settings: Settings) -> None:
    from celery.signals import worker_init

    def _check(sender: Any = None, **_: Any) -> None:
        pool = getattr(sender, "pool_cls", None)
        name = pool if isinstance(pool, str) else f"{getattr(pool, '__module__', '')}"
        concurrency = int(getattr(sender, "concurrency", 0) or 0)
        if pool_too_small(str(name), concurrency, settings):
            log.warning(
                "worker: %d threads share a database pool of %d (QUIRE_DB_POOL_SIZE); "
                "connections beyond it are opened and closed for every task. "
                "Set QUIRE_DB_POOL_SIZE to at least %d on this worker.",
                concurrency,
                settings.db_pool_size,
                concurrency,
            )

    worker_init.connect(_check, weak=False, dispatch_uid="quire-pool-size")


def _stamp_published_messages() -> None:
    """Every task message carries its publish time (the oldest-message-age metric)."""
    from celery.signals import before_task_publish

    from backend.services.queue_stats import stamp_sent_at

    before_task_publish.connect(stamp_sent_at, weak=False, dispatch_uid="quire-sent-at")


_embedded_lock = threading.Lock()


def ensure_embedded_worker(app: Flask) -> None:
    """Start the in-process worker once per app (embedded mode only)."""
    settings: Settings = app.extensions["quire_settings"]
    if (
        not settings.embedded
        or not settings.embedded_worker
        or "quire_embedded_worker" in app.extensions
    ):
        return
    with _embedded_lock:
        if "quire_embedded_worker" in app.extensions:
            return
        from celery.contrib.testing.worker import start_worker

        stack = contextlib.ExitStack()
        stack.enter_context(
            start_worker(
                app.extensions["celery"],
                pool="threads",
                concurrency=settings.embedded_concurrency,
                perform_ping_check=False,
                loglevel="WARNING",
                queues=list(QUEUES),
                shutdown_timeout=30.0,
            )
        )
        # No beat in embedded mode: the reconciler runs on a thread of this process.
        from backend.embedded_reconciler import ReconcilerThread

        stack.callback(ReconcilerThread.start_for(app, settings.reconcile_interval_seconds).stop)
        app.extensions["quire_embedded_worker"] = stack
        log.info("embedded worker started (threads=%d)", settings.embedded_concurrency)


def stop_embedded_worker(app: Flask) -> None:
    stack = app.extensions.pop("quire_embedded_worker", None)
    if stack is not None:
        stack.close()

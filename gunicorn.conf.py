"""gunicorn settings for Quire's web process (loaded from the working directory).

The Procfile and docker-compose run ``gunicorn "backend:create_app()" --bind …``;
everything else is here, so both stay one line and agree. Command-line flags
still win over this file.

Why these values:
* gthread workers with ``GUNICORN_THREADS`` (16) threads each: a live progress
  stream (``/jobs/{id}/events``) holds a thread until its job ends, so the
  per-process stream cap ``QUIRE_SSE_MAX_STREAMS`` defaults to threads − 4 here,
  which keeps 4 threads per worker for plain API requests whatever the number of
  open dashboards.
* ``child_exit`` drops a dead worker's live gauges from the Prometheus
  multiprocess directory (prometheus-client's documented gunicorn hook).
"""

from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
worker_class = "gthread"
timeout = 120
graceful_timeout = 30
accesslog = "-"
# Requests free for the API in each worker, however many progress streams are open.
API_THREADS_RESERVED = 4


def sse_stream_cap(thread_count: int) -> int:
    """The default ``QUIRE_SSE_MAX_STREAMS`` for ``thread_count`` threads (at least 1)."""
    return max(1, thread_count - API_THREADS_RESERVED)


# Set in the master before it forks, so every worker's Settings read it.
os.environ.setdefault("QUIRE_SSE_MAX_STREAMS", str(sse_stream_cap(threads)))


def child_exit(server: Any, worker: Any) -> None:
    from backend.metrics import mark_process_dead

    mark_process_dead(worker.pid)

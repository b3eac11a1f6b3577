"""The baseline: a plain Celery chord of sleep tasks, no database, no rows.

Built from Quire's own ``celery_config`` (acks_late, prefetch 1, time limits,
result backend) so that the two differ only in what Quire adds: claiming,
recording and finalizing rows. ``celery -A bench.chord_app worker``.
"""

from __future__ import annotations

import time
from typing import Any

from celery import Celery

from backend.celery_app import celery_config
from backend.config import Settings

app = Celery("bench_chord")
app.config_from_object(celery_config(Settings.from_env()))
app.conf.task_routes = {
    "bench.sleep": {"queue": "chunks"},
    "bench.done": {"queue": "finalize"},
}


@app.task(name="bench.sleep")
def sleep_task(index: int, seconds: float) -> dict[str, Any]:
    """Like a chunk task: sleep, then return a tiny deterministic value."""
    time.sleep(seconds)
    return {"chunk": index, "status": "success"}


@app.task(name="bench.done")
def done() -> float:
    """The chord body: when it ran (the driver reads it from the result backend)."""
    return time.time()

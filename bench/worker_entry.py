"""``celery -A bench.worker_entry worker``: Quire's own worker plus the bench processors.

The same ``celery_worker`` module production runs; the only addition is the
registration of the bench processors. When ``QUIRE_BENCH_WRITE_LOG`` names a
file, the chunk row writes of ``process_chunk`` (claim and outcome: an UPDATE
and its commit) are timed and appended to it, one duration in seconds a line.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from typing import Any

from backend.services import process
from bench import processors
from celery_worker import celery_app, flask_app

processors.register()

WRITE_LOG_ENV = "QUIRE_BENCH_WRITE_LOG"
_lock = threading.Lock()


def _timed(func: Any, path: str) -> Any:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            with _lock, open(path, "a", encoding="ascii") as out:
                out.write(f"{func.__name__} {elapsed:.6f}\n")

    return wrapper


if os.environ.get(WRITE_LOG_ENV):
    process.claim_chunk = _timed(process.claim_chunk, os.environ[WRITE_LOG_ENV])
    process._record = _timed(process._record, os.environ[WRITE_LOG_ENV])

__all__ = ["celery_app", "flask_app"]

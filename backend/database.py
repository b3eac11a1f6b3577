"""Database robustness: engine options, slow-query log, error classes, pool numbers.

Everything here is about the engine, not the schema: pool sizing and Postgres's
per-connection ``statement_timeout`` come from the settings, slow statements are
logged with their caller, and a DB exception is classified into one code of the
error table (``DUPLICATE_ENTRY``, ``DB_TIMEOUT_ERROR``, ``DB_CONNECTION_ERROR``,
``DB_QUERY_ERROR``) so the API and the tasks answer alike.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy.exc as sa_exc
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

from backend.config import Settings

log = logging.getLogger(__name__)

_PROJECT_DIR = str(Path(__file__).resolve().parent.parent)
_THIS_FILE = str(Path(__file__).resolve())
# Postgres SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html).
UNIQUE_VIOLATION = "23505"
QUERY_CANCELED = "57014"
DEADLOCK_DETECTED = "40P01"
SERIALIZATION_FAILURE = "40001"
# A transaction Postgres aborted to break a conflict: running it again may succeed.
CONFLICT_STATES = frozenset({DEADLOCK_DETECTED, SERIALIZATION_FAILURE})


def engine_options(settings: Settings) -> dict[str, Any]:
    """``SQLALCHEMY_ENGINE_OPTIONS`` for the configured database."""
    if settings.sqlalchemy_url.startswith("sqlite"):
        # Worker threads and the API share one file: wait for the lock, don't fail.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    options: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
        "pool_recycle": settings.db_pool_recycle,
    }
    if settings.db_statement_timeout_ms:
        # Set at connect time, so every statement of every connection is bounded
        # (PgBouncer in transaction mode ignores startup options: see docs/deploy.md).
        options["connect_args"] = {
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}"
        }
    return options


def prepare_data_dir(settings: Settings) -> None:
    """Create the data directory (owner-only when Quire creates it) and the SQLite file 0600.

    The SQLite file holds password hashes and tokens' sessions: it is created here,
    with ``os.open(..., 0o600)``, before SQLite would create it with the umask's
    mode (0644 usually); SQLite gives its -wal and -shm files the database file's
    mode. A file an older Quire created world-readable is tightened to 0600.
    """
    if not settings.data_dir.exists():
        # Another process may create it meanwhile: that is fine.
        settings.data_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
    url = settings.sqlalchemy_url
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return
    path = Path(url.removeprefix("sqlite:///").partition("?")[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def install_engine_hooks(app: Flask, settings: Settings) -> None:
    """Attach the slow-query logger to the app's engine (creating it does no I/O)."""
    from backend.extensions import db

    with app.app_context():
        engine = db.engine
    threshold = settings.slow_query_ms / 1000.0
    event.listen(engine, "before_cursor_execute", _start_timer)
    event.listen(
        engine,
        "after_cursor_execute",
        lambda conn, cursor, statement, *args: _log_if_slow(conn, statement, threshold),
    )


def _start_timer(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    conn.info.setdefault("quire_query_start", []).append(time.perf_counter())


def _log_if_slow(conn: Any, statement: str, threshold: float) -> None:
    starts: list[float] = conn.info.get("quire_query_start") or []
    if not starts:
        return
    elapsed = time.perf_counter() - starts.pop()
    if elapsed >= threshold:
        log.warning(
            "slow query: %.0f ms at %s: %s",
            elapsed * 1000,
            query_caller(),
            " ".join(statement.split())[:1000],
        )


def query_caller() -> str:
    """``file:line in function`` of the innermost project frame (not a library) that ran it."""
    for frame in reversed(traceback.extract_stack()):
        name = frame.filename
        if name.startswith(_PROJECT_DIR) and name != _THIS_FILE and "-packages" not in name:
            return f"{Path(name).name}:{frame.lineno} in {frame.name}"
    return "unknown"


_autocommit_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def autocommit_connection() -> Connection:
    """A pooled connection (use it in ``with``) whose statements commit on their own.

    For the chunk hot path, where every write is one compare-and-set statement:
    no ``BEGIN``/``COMMIT`` round trips around it, and no ORM session state.
    The pool's pre-ping still checks the connection on checkout. Shares the
    app's pool, settings and event hooks (statement timeout, slow-query log).
    """
    from backend.extensions import db

    engine = db.engine
    autocommit = _autocommit_engines.get(engine)
    if autocommit is None:
        autocommit = _autocommit_engines[engine] = engine.execution_options(
            isolation_level="AUTOCOMMIT"
        )
    return autocommit.connect()


def dispose_after_fork(app: Flask) -> None:
    """Drop the pool inherited from the parent process (a forked Celery child).

    ``close=False``: the parent's sockets must not be closed from the child; the
    child just forgets them and opens its own.
    """
    from backend.extensions import db

    with app.app_context():
        db.engine.dispose(close=False)


def sqlstate(exc: BaseException) -> str | None:
    """The Postgres SQLSTATE behind a SQLAlchemy or psycopg exception, if any."""
    orig = getattr(exc, "orig", exc)
    state = getattr(orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def classify_db_error(exc: BaseException) -> str:
    """The error-table code of a database exception."""
    state = sqlstate(exc)
    if state == UNIQUE_VIOLATION or (
        isinstance(exc, sa_exc.IntegrityError) and "UNIQUE constraint" in str(exc.orig)
    ):
        return "DUPLICATE_ENTRY"
    if state == QUERY_CANCELED:
        return "DB_TIMEOUT_ERROR"
    if isinstance(exc, sa_exc.TimeoutError):
        return "DB_CONNECTION_ERROR"  # the pool had no free connection in time
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) and (
        # No SQLSTATE: the server never answered (refused, reset, DNS); class 08: connection.
        state is None or state.startswith("08") or exc.connection_invalidated
    ):
        return "DB_CONNECTION_ERROR"
    return "DB_QUERY_ERROR"


def is_transient_db_error(exc: BaseException) -> bool:
    """True when the same write may succeed if tried again: a lost or refused
    connection, a pool time-out, a deadlock or a serialization failure.

    Integrity and data errors are never transient: the same statement would
    fail the same way, and retrying only delays the real error.
    """
    if isinstance(exc, sa_exc.IntegrityError | sa_exc.DataError):
        return False
    if not isinstance(exc, sa_exc.SQLAlchemyError):
        return False
    return sqlstate(exc) in CONFLICT_STATES or classify_db_error(exc) == "DB_CONNECTION_ERROR"


@dataclass(frozen=True)
class PoolUsage:
    size: int
    checked_out: int
    overflow: int
    max_overflow: int
    capacity: int
    utilisation: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "checked_out": self.checked_out,
            "overflow": self.overflow,
            "max_overflow": self.max_overflow,
            "capacity": self.capacity,
            "utilisation": round(self.utilisation, 4),
        }


def pool_usage(engine: Engine) -> PoolUsage | None:
    """Checked-out connections over capacity (size + max overflow); None without a QueuePool."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return None
    size = pool.size()
    max_overflow = max(pool._max_overflow, 0)  # no public accessor
    capacity = size + max_overflow
    checked_out = pool.checkedout()
    return PoolUsage(
        size=size,
        checked_out=checked_out,
        overflow=max(pool.overflow(), 0),
        max_overflow=max_overflow,
        capacity=capacity,
        utilisation=checked_out / capacity if capacity else 0.0,
    )

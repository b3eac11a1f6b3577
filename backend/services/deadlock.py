"""``retry_on_deadlock``: run a transaction again when Postgres picked it as a deadlock victim.

Postgres breaks a deadlock by aborting one of the transactions (SQLSTATE 40P01;
40001 for a serialization failure). The aborted side did nothing durable, so
rolling back and running the whole service function again is safe, provided the
function owns its transaction from the start, which our services do.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError

from backend.database import CONFLICT_STATES, sqlstate
from backend.extensions import db

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
RETRY_DELAYS = (0.1, 0.2, 0.4)
RETRIED_STATES = CONFLICT_STATES


def retry_on_deadlock(func: Callable[P, R]) -> Callable[P, R]:
    """Retry ``func`` up to three times (after 0.1, 0.2, 0.4 s) when it lost a deadlock.

    Any other error, and the fourth deadlock in a row, propagates unchanged.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt, delay in enumerate((*RETRY_DELAYS, None), start=1):
            try:
                return func(*args, **kwargs)
            except DBAPIError as exc:
                if delay is None or sqlstate(exc) not in RETRIED_STATES:
                    raise
                db.session.rollback()
                log.warning(
                    "%s: deadlock victim (attempt %d, %s); retrying in %.1f s",
                    func.__qualname__,
                    attempt,
                    sqlstate(exc),
                    delay,
                )
                _record_retry(func.__qualname__)
                time.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    return wrapper


def _record_retry(name: str) -> None:
    from backend.metrics import DB_DEADLOCK_RETRIES

    DB_DEADLOCK_RETRIES.labels(function=name).inc()

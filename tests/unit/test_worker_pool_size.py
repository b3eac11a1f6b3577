"""A threads worker warns when its concurrency exceeds the database pool it shares."""

from __future__ import annotations

import pytest

from backend.celery_app import pool_too_small
from backend.config import Settings


@pytest.mark.parametrize(
    ("pool", "concurrency", "pool_size", "too_small"),
    [
        ("threads", 32, 10, True),
        ("celery.concurrency.thread", 32, 10, True),  # the CLI hands over the class
        ("threads", 32, 32, False),
        ("threads", 8, 10, False),
        ("gevent", 100, 10, True),
        ("prefork", 32, 10, False),  # one task, one connection per child process
        ("celery.concurrency.prefork", 32, 2, False),
        ("solo", 1, 10, False),
    ],
)
def test_pool_too_small(pool: str, concurrency: int, pool_size: int, too_small: bool) -> None:
    settings = Settings.from_env({"QUIRE_DB_POOL_SIZE": str(pool_size)})
    assert pool_too_small(pool, concurrency, settings) is too_small

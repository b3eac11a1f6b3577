"""Chaos fixtures: a private PostgreSQL cluster and redis-server for the session,
a fresh database (copied from a migrated template) and flushed Redis per scenario.

Every process started here is in its own process group and is killed by a
finalizer, so a failing scenario leaves no redis-server, postgres or celery behind.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.harness import Chaos, prepare_template
from tests.servers import PostgresCluster, RedisServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test under tests/chaos/ is a chaos test, whatever its module says.
    for item in items:
        if "tests/chaos/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.chaos)


@pytest.fixture(scope="session")
def chaos_pg() -> Iterator[PostgresCluster]:
    if shutil.which("redis-server") is None or not PostgresCluster.available():
        pytest.fail("the chaos suite needs redis-server, initdb and pg_ctl on this machine")
    # Not under pytest's tmp dir: as root that is mode 0700, and the cluster
    # belongs to the postgres OS user, which must reach its directory.
    workdir = Path(tempfile.mkdtemp(prefix="quire-chaos-pg-"))
    cluster = PostgresCluster(workdir)
    try:
        cluster.init()
        cluster.start()
        prepare_template(cluster, workdir / "template-data")
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def chaos_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("chaos-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def chaos(chaos_pg: PostgresCluster, chaos_redis: RedisServer, tmp_path: Path) -> Iterator[Chaos]:
    if chaos_redis.process is None:  # a scenario stopped it and failed before restarting
        chaos_redis.start()
    harness = Chaos(chaos_pg, chaos_redis, tmp_path)
    try:
        yield harness
    finally:
        harness.close()

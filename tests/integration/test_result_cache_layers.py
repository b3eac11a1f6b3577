"""The result cache's two layers on real Redis and Postgres: Redis first, the table behind.

A stub processor with a cache key counts its calls; the table's ``hits`` column
only moves when the table answered, which tells the layers apart.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis
from apiflask import APIFlask
from prometheus_client import REGISTRY
from sqlalchemy import select

from backend.config import Settings
from backend.extensions import db
from backend.models import ResultCacheEntry
from backend.pipeline.types import ChunkInput, ChunkOutput, ProcessSettings, Sentence
from backend.services import cache_redis, result_cache
from tests.conftest import truncate_all
from tests.e2e.conftest import REDIS
from tests.integration.conftest import redis_service_app
from tests.unit.pipeline.helpers import whole

pytestmark = pytest.mark.integration

BROKER_DB = 8
TTL = 120
CHUNK = ChunkInput(b"", whole(1), ProcessSettings())


class StubProcessor:
    """A paid processor stand-in: a fixed key per instance, calls counted."""

    name = "stub"
    cache_namespace = "stub:v1"

    def __init__(self) -> None:
        self.key = uuid.uuid4().hex
        self.calls = 0

    def cache_key(self, chunk: ChunkInput) -> str:
        return self.key

    def process(self, chunk: ChunkInput) -> ChunkOutput:
        self.calls += 1
        return ChunkOutput(sentences=(Sentence("Une phrase.", 1),), metadata={"model": "stub"})


@pytest.fixture(scope="module")
def broker() -> redis.Redis:
    return redis.Redis.from_url(f"{REDIS}/{BROKER_DB}")


@pytest.fixture(scope="module")
def cache_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIFlask]:
    with redis_service_app(
        database_url,
        tmp_path_factory.mktemp("cache"),
        BROKER_DB,
        "cache",
        result_cache_ttl_seconds=TTL,
    ) as flask_app:
        yield flask_app


@pytest.fixture
def ctx(cache_app: APIFlask, broker: redis.Redis) -> Iterator[APIFlask]:
    with cache_app.app_context():
        yield cache_app
        db.session.remove()
    truncate_all(cache_app)
    broker.flushdb()


def counter(name: str, layer: str) -> float:
    value = REGISTRY.get_sample_value(
        f"quire_result_cache_{name}_total", {"processor": "stub", "layer": layer}
    )
    return value or 0.0


def run_and_store(processor: StubProcessor) -> result_cache.CachedRun:
    run = result_cache.run_cached(processor, CHUNK)
    result_cache.store(run, processor.name)
    db.session.commit()
    return run


def table_hits(key: str) -> int:
    db.session.expire_all()
    hits = db.session.scalar(select(ResultCacheEntry.hits).where(ResultCacheEntry.key == key))
    assert hits is not None
    return hits


def test_fresh_result_goes_to_both_layers_and_redis_answers_next(
    ctx: APIFlask, broker: redis.Redis
) -> None:
    stub = StubProcessor()
    kinds = [(n, layer) for n in ("hits", "misses") for layer in ("redis", "db")]
    before = {kind: counter(*kind) for kind in kinds}

    first = run_and_store(stub)
    assert (first.hit, stub.calls) == (False, 1)
    redis_key = f"quire:result-cache:stub:v1:{stub.key}"
    assert 0 < broker.ttl(redis_key) <= TTL

    second = run_and_store(stub)
    assert (second.hit, stub.calls) == (True, 1)
    assert second.output == first.output
    assert table_hits(stub.key) == 0  # Redis answered; the table was not asked
    assert counter("misses", "redis") - before[("misses", "redis")] == 1
    assert counter("misses", "db") - before[("misses", "db")] == 1
    assert counter("hits", "redis") - before[("hits", "redis")] == 1
    assert counter("hits", "db") - before[("hits", "db")] == 0


def test_table_hit_refills_redis(ctx: APIFlask, broker: redis.Redis) -> None:
    stub = StubProcessor()
    run_and_store(stub)
    broker.flushdb()  # evicted or expired in Redis; the table still has it

    again = run_and_store(stub)
    assert (again.hit, stub.calls) == (True, 1)
    assert table_hits(stub.key) == 1
    assert broker.exists(f"quire:result-cache:stub:v1:{stub.key}")


def test_unreachable_redis_falls_through_to_the_table_and_is_logged_once(
    ctx: APIFlask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A port nothing listens on: every call fails at once.
    dead = cache_redis.RedisLayer(
        redis.Redis(
            host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=cache_redis.no_retry()
        ),
        TTL,
    )
    monkeypatch.setattr(cache_redis, "layer_for", lambda settings: dead)
    errors = REGISTRY.get_sample_value("quire_result_cache_redis_errors_total", {"op": "get"}) or 0
    stub = StubProcessor()

    with caplog.at_level(logging.WARNING, logger="backend.services.cache_redis"):
        assert run_and_store(stub).hit is False
        assert run_and_store(stub).hit is True  # from the table
        assert run_and_store(stub).hit is True
    assert stub.calls == 1
    assert table_hits(stub.key) == 2
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1
    after = REGISTRY.get_sample_value("quire_result_cache_redis_errors_total", {"op": "get"})
    assert after == errors + 3


@pytest.mark.parametrize(
    ("changes", "on"),
    [
        ({"broker_url": "redis://127.0.0.1:6379/0"}, True),
        ({"broker_url": "redis://127.0.0.1:6379/0", "result_cache_ttl_seconds": 0}, False),
        ({}, False),  # embedded: no Redis at all
    ],
)
def test_redis_layer_is_on_only_in_service_mode_with_a_ttl(
    changes: dict[str, object], on: bool
) -> None:
    settings = replace(Settings(secret_key="s", jwt_secret_key="j"), **changes)  # type: ignore[arg-type]
    assert (cache_redis.layer_for(settings) is not None) is on

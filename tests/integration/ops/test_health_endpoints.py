"""Every health endpoint, healthy and unhealthy, against real Postgres and our own Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from apiflask import APIFlask
from celery.contrib.testing.worker import start_worker

from tests.integration.ops.conftest import (
    OPS_REDIS_DB,
    REDIS,
    closed_port,
    service_overrides,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def service_app(make_app: Any, ops_redis: redis.Redis) -> APIFlask:
    app: APIFlask = make_app(**service_overrides(f"{REDIS}/{OPS_REDIS_DB}"))
    return app


@pytest.fixture
def redis_config(ops_redis: redis.Redis) -> Iterator[redis.Redis]:
    """Our Redis; its persistence and eviction settings are restored afterwards."""
    saved = {key: ops_redis.config_get(key)[key] for key in ("save", "maxmemory-policy")}
    yield ops_redis
    for key, value in saved.items():
        ops_redis.config_set(key, value)


def test_liveness_and_embedded_checks_are_healthy(make_app: Any) -> None:
    client = make_app().test_client()
    assert client.get("/health").get_json() == {"status": "healthy"}
    broker = client.get("/health/broker")
    assert (broker.status_code, broker.get_json()["transport"]) == (200, "memory")
    full = client.get("/health/full")
    assert full.status_code == 200
    checks = full.get_json()["checks"]
    assert {"database", "broker", "workers"} <= set(checks)
    assert checks["database"]["status"] == "healthy"
    # The test app runs no in-process worker: flagged, but not a reason for 503.
    assert checks["workers"]["status"] == "degraded"
    assert full.get_json()["status"] == "degraded"


def test_broker_reports_queue_depths_and_warns_about_durability(
    service_app: APIFlask, redis_config: redis.Redis
) -> None:
    client = service_app.test_client()
    redis_config.config_set("maxmemory-policy", "noeviction")
    redis_config.config_set("save", "3600 1")
    redis_config.lpush("chunks", "m1", "m2")
    redis_config.lpush("chunks\x06\x163", "m3")
    redis_config.lpush("finalize", "m4")
    body = client.get("/health/broker").get_json()
    assert body["status"] == "healthy", body
    assert body["queues"] == {"split": 0, "chunks": 3, "finalize": 1, "maintenance": 0}

    redis_config.config_set("save", "")
    redis_config.config_set("maxmemory-policy", "allkeys-lru")
    response = client.get("/health/broker")
    body = response.get_json()
    assert (response.status_code, body["status"]) == (200, "degraded")
    assert any("maxmemory-policy is 'allkeys-lru'" in w for w in body["warnings"])
    assert any("persistence is off" in w for w in body["warnings"])


def test_broker_reports_the_age_of_each_queues_oldest_message(service_app: APIFlask) -> None:
    celery_app = service_app.extensions["celery"]
    celery_app.send_task("quire.finalize_job", args=["job-a", 0], queue="finalize")
    time.sleep(0.4)
    celery_app.send_task("quire.finalize_job", args=["job-b", 0], queue="finalize")
    celery_app.send_task("quire.split_job", args=["job-c"], queue="split")

    body = service_app.test_client().get("/health/broker").get_json()

    assert body["queues"] == {"split": 1, "chunks": 0, "finalize": 2, "maintenance": 0}
    ages = body["oldest_message_age_seconds"]
    assert (ages["chunks"], ages["maintenance"]) == (None, None)
    assert ages["finalize"] >= 0.4  # the first one published, not the last
    assert 0 <= ages["split"] < ages["finalize"]


def test_embedded_mode_reports_its_in_process_queues(make_app: Any) -> None:
    from kombu.transport import memory

    for fifo in memory.Channel.queues.values():
        fifo.queue.clear()  # the memory transport's queues are global to the process
    flask_app = make_app()
    flask_app.extensions["celery"].send_task("quire.split_job", args=["job-e"], queue="split")
    time.sleep(0.2)

    body = flask_app.test_client().get("/health/broker").get_json()

    assert body["transport"] == "memory"
    assert body["queues"]["split"] == 1
    assert body["oldest_message_age_seconds"]["split"] >= 0.2
    for fifo in memory.Channel.queues.values():
        fifo.queue.clear()


def test_broker_unreachable_is_unhealthy(make_app: Any) -> None:
    flask_app = make_app(**service_overrides(f"redis://127.0.0.1:{closed_port()}/0"))
    response = flask_app.test_client().get("/health/broker")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unhealthy"
    assert response.get_json()["error"] == "ConnectionError"


def test_workers_unhealthy_without_a_worker_then_healthy_with_one(service_app: APIFlask) -> None:
    client = service_app.test_client()
    response = client.get("/health/workers")
    assert response.status_code == 503
    assert response.get_json()["error"] == "no worker answered the ping"
    with start_worker(
        service_app.extensions["celery"],
        pool="threads",
        concurrency=1,
        perform_ping_check=False,
        queues=["maintenance"],
        loglevel="WARNING",
    ):
        # The worker's control consumer may need a moment after start to answer.
        deadline = time.monotonic() + 15
        response = client.get("/health/workers")
        while response.status_code != 200 and time.monotonic() < deadline:
            response = client.get("/health/workers")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["count"] == 1


def test_full_is_503_when_one_check_is_unhealthy(down_app: APIFlask) -> None:
    response = down_app.test_client().get("/health/full")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"]["status"] == "unhealthy"
    assert body["checks"]["broker"]["status"] == "healthy"

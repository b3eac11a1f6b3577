"""The fleet-wide rate limiter on real Redis: two processes never exceed burst + rate."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import redis

from backend.pipeline.errors import TransientError
from backend.services.llm_limiter import (
    CHECK_EVERY_SECONDS,
    Buckets,
    Gate,
    Limits,
    MemoryBuckets,
    RedisBuckets,
    WaitAborted,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
# DB 15: the other suites use 0, 1 and 9-14.
REDIS = os.environ.get("QUIRE_TEST_REDIS", "redis://127.0.0.1:6379") + "/15"


def most_in_any_window(times: Sequence[float], window: float) -> int:
    ordered = sorted(times)
    return max(sum(1 for t in ordered[i:] if t - start < window) for i, start in enumerate(ordered))


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS)
    yield connection
    connection.close()


def redis_gate(client: redis.Redis, name: str, limits: Limits) -> Gate:
    return Gate(RedisBuckets(client, name, limits), limits)


# A worker process of its own: its own interpreter, Redis client and clock reads.
HAMMER = """
import sys, time, redis
from backend.services.llm_limiter import Gate, Limits, RedisBuckets
url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
limits = Limits(rpm=600, burst=3, tpm=0, max_wait=30.0)
with redis.Redis.from_url(url) as client:
    gate = Gate(RedisBuckets(client, name, limits), limits)
    for _ in range(count):
        gate.acquire()
        print(time.time(), flush=True)
"""


def test_two_processes_share_one_bucket_and_never_exceed_burst_plus_rate() -> None:
    name = f"test-{uuid.uuid4().hex}"  # 10 requests/s, burst 3 (see HAMMER)
    started = time.time()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", HAMMER, REDIS, name, "15"],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=60)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]
    times = [float(line) for output in outputs for line in output.split()]
    assert len(times) == 30
    # 30 grants at 10/s after a burst of 3 take at least 2.7 s.
    assert max(times) - started >= 2.5
    assert most_in_any_window(times, 1.0) <= 3 + 10 + 1  # burst + rate × 1 s (+ edge)


def test_in_process_buckets_bound_threads_the_same_way() -> None:
    limits = Limits(rpm=1200, burst=2, tpm=0, max_wait=30.0)  # 20 requests/s
    gate = Gate(MemoryBuckets(limits), limits)
    times: list[float] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(10):
            gate.acquire()
            with lock:
                times.append(time.time())

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(times) - started >= 1.3
    assert most_in_any_window(times, 0.5) <= 2 + 10 + 1


@pytest.mark.parametrize("kind", ["redis", "memory"])
def test_tokens_used_beyond_the_budget_delay_the_next_call(client: redis.Redis, kind: str) -> None:
    limits = Limits(rpm=6000, burst=10, tpm=6000, max_wait=30.0)  # 100 tokens/s
    buckets: Buckets = (
        RedisBuckets(client, f"test-{uuid.uuid4().hex}", limits)
        if kind == "redis"
        else MemoryBuckets(limits)
    )
    gate = Gate(buckets, limits)
    assert gate.acquire() == 0.0
    gate.debit(6100)  # 100 tokens in debt: about 1 s to refill
    waited = gate.acquire()
    assert 0.8 <= waited <= 1.6


def test_a_429_drains_the_bucket_for_the_whole_fleet(client: redis.Redis) -> None:
    limits = Limits(rpm=120, burst=5, tpm=0, max_wait=30.0)  # 2 requests/s
    name = f"test-{uuid.uuid4().hex}"
    with redis.Redis.from_url(REDIS) as other_worker:
        first, second = redis_gate(client, name, limits), redis_gate(other_worker, name, limits)
        assert first.acquire() == 0.0
        first.drain()
        assert 0.3 <= second.acquire() <= 0.8


def test_a_wait_longer_than_max_wait_is_rate_limited_with_retry_after(
    client: redis.Redis,
) -> None:
    limits = Limits(rpm=60, burst=1, tpm=0, max_wait=0.1)  # 1 request/s
    gate = redis_gate(client, f"test-{uuid.uuid4().hex}", limits)
    gate.acquire()
    with pytest.raises(TransientError) as caught:
        gate.acquire()
    assert caught.value.code == "RATE_LIMITED"
    assert caught.value.retry_after is not None
    assert 0.5 < caught.value.retry_after <= 1.0


def test_a_long_wait_ends_within_a_nap_once_should_stop_says_so(client: redis.Redis) -> None:
    limits = Limits(rpm=1, burst=1, tpm=0, max_wait=120.0)  # the next slot is 60 s away
    gate = redis_gate(client, f"test-{uuid.uuid4().hex}", limits)
    gate.acquire()
    asked: list[float] = []

    def cancelled_after_two_naps() -> bool:
        asked.append(time.monotonic())
        return len(asked) >= 2

    started = time.monotonic()
    with pytest.raises(WaitAborted):
        gate.acquire(should_stop=cancelled_after_two_naps)
    assert len(asked) == 2
    assert 1.8 <= time.monotonic() - started <= 2 * CHECK_EVERY_SECONDS + 1.0

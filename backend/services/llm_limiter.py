"""A global rate limiter for paid processors: requests and tokens per minute.

Two token buckets per processor, shared by every worker on every host through
Redis (one Lua script takes both atomically, on Redis's clock), or held in
process in embedded mode. ``requests`` has ``burst`` capacity and refills at
``rpm``/60 per second; ``tokens`` has ``tpm`` capacity and is debited after a
call with the tokens it really used (it may go below zero: the next callers
wait until it refills). A 429 from the API empties the request bucket, so the
whole fleet slows down at once instead of hammering.

A chunk task waits for its turn in its slot up to ``max_wait`` seconds; past
that it fails ``RATE_LIMITED`` with the wait as ``retry_after`` and the retry
round machinery delays it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis

from backend.config import Settings
from backend.pipeline.errors import TransientError

# KEYS: requests bucket, tokens bucket. ARGV: rpm, burst, tpm, op, amount.
# op "take": take one request if both buckets allow it; returns the wait (s).
# op "debit": remove ``amount`` tokens; op "drain": empty the request bucket.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rpm, burst, tpm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function load(key, cap, per_minute)
  local v = redis.call('HMGET', key, 'level', 'ts')
  local level = tonumber(v[1]) or cap
  local ts = tonumber(v[2]) or now
  return math.min(cap, level + math.max(0, now - ts) * per_minute / 60)
end
local function save(key, level)
  redis.call('HSET', key, 'level', tostring(level), 'ts', tostring(now))
  redis.call('EXPIRE', key, 3600)
end
local req = load(KEYS[1], burst, rpm)
local tok = tpm > 0 and load(KEYS[2], tpm, tpm) or 1
if ARGV[4] == 'debit' then
  if tpm > 0 then save(KEYS[2], tok - tonumber(ARGV[5])) end
  return '0'
end
if ARGV[4] == 'drain' then save(KEYS[1], 0) return '0' end
if req >= 1 and tok > 0 then
  save(KEYS[1], req - 1)
  return '0'
end
local wait = 0
if req < 1 then wait = (1 - req) * 60 / rpm end
if tok <= 0 then wait = math.max(wait, (0.001 - tok) * 60 / tpm) end
return tostring(wait)
"""


@dataclass(frozen=True)
class Limits:
    rpm: int
    burst: int
    tpm: int
    max_wait: float


class Buckets(Protocol):
    def call(self, op: str, amount: int = 0) -> float: ...


class RedisBuckets:
    """The buckets of one processor in Redis, shared by every process."""

    def __init__(self, client: redis.Redis, name: str, limits: Limits) -> None:
        self._client = client
        self._keys = [f"quire:limiter:{name}:requests", f"quire:limiter:{name}:tokens"]
        self._limits = limits
        self._script = client.register_script(_SCRIPT)

    def call(self, op: str, amount: int = 0) -> float:
        limits = self._limits
        args: list[str | int] = [limits.rpm, limits.burst, limits.tpm, op, amount]
        return float(self._script(keys=self._keys, args=args, client=self._client))


class MemoryBuckets:
    """The same algorithm in process (embedded mode: one process holds every worker)."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._lock = threading.Lock()
        self._requests = float(limits.burst)
        self._tokens = float(limits.tpm)
        self._stamp = time.monotonic()

    def call(self, op: str, amount: int = 0) -> float:
        limits = self._limits
        with self._lock:
            now = time.monotonic()
            elapsed, self._stamp = now - self._stamp, now
            self._requests = min(limits.burst, self._requests + elapsed * limits.rpm / 60)
            self._tokens = min(limits.tpm, self._tokens + elapsed * limits.tpm / 60)
            if op == "debit":
                self._tokens -= amount
                return 0.0
            if op == "drain":
                self._requests = 0.0
                return 0.0
            tokens_ok = limits.tpm <= 0 or self._tokens > 0
            if self._requests >= 1 and tokens_ok:
                self._requests -= 1
                return 0.0
            wait = (1 - self._requests) * 60 / limits.rpm if self._requests < 1 else 0.0
            if not tokens_ok:
                wait = max(wait, (0.001 - self._tokens) * 60 / limits.tpm)
            return wait


class RateGate(Protocol):
    """What a processor call passes through: wait for a slot, pay tokens, or drain."""

    def acquire(self) -> float: ...

    def debit(self, tokens: int) -> None: ...

    def drain(self) -> None: ...


class WaitAborted(Exception):
    """``should_stop`` said so during a wait for a request slot (none was taken)."""


# A long wait is cut into naps this long, with a ``should_stop`` check after each.
CHECK_EVERY_SECONDS = 1.0


class Gate:
    """What a chunk task holds around one paid call."""

    def __init__(self, buckets: Buckets, limits: Limits) -> None:
        self._buckets = buckets
        self._limits = limits

    def acquire(self, should_stop: Callable[[], bool] | None = None) -> float:
        """Wait for a request slot; returns the seconds waited, or raises ``RATE_LIMITED``.

        ``should_stop`` (the job was cancelled) is asked between naps of at most
        ``CHECK_EVERY_SECONDS``; when it answers True the wait ends with
        :class:`WaitAborted`, so a cancelled chunk frees its worker slot within
        a second instead of after the whole wait (up to ``max_wait``).
        """
        waited = 0.0
        while True:
            wait = self._buckets.call("take")
            if wait <= 0:
                return waited
            if waited + wait > self._limits.max_wait:
                raise TransientError(
                    f"the fleet's rate limit ({self._limits.rpm} requests/min) is saturated",
                    code="RATE_LIMITED",
                    retry_after=wait,
                )
            nap = min(wait, CHECK_EVERY_SECONDS) if should_stop else wait
            time.sleep(nap)
            waited += nap
            if should_stop is not None and should_stop():
                raise WaitAborted()

    def debit(self, tokens: int) -> None:
        if tokens > 0 and self._limits.tpm > 0:
            self._buckets.call("debit", tokens)

    def drain(self) -> None:
        """The API said 429: nobody calls until the request bucket refills."""
        self._buckets.call("drain")


_gates: dict[tuple[str, str, Limits], Gate] = {}
_gates_lock = threading.Lock()


def gate_for(processor: str, settings: Settings) -> Gate | None:
    """The gate of ``processor``, or None when it is not rate-limited (local, rpm 0)."""
    if processor != "gemini" or settings.gemini_rpm <= 0:
        return None
    limits = Limits(
        rpm=settings.gemini_rpm,
        burst=max(1, settings.gemini_burst),
        tpm=settings.gemini_tpm,
        # Leave the call its time within the task's soft time limit.
        max_wait=max(0.0, settings.chunk_soft_time_limit - settings.gemini_timeout_seconds) / 2,
    )
    url = "" if settings.embedded else settings.broker_url
    with _gates_lock:
        gate = _gates.get((processor, url, limits))
        if gate is None:
            buckets: Buckets = (
                RedisBuckets(redis.Redis.from_url(url), processor, limits)
                if url.startswith(("redis://", "rediss://"))
                else MemoryBuckets(limits)
            )
            gate = _gates[(processor, url, limits)] = Gate(buckets, limits)
        return gate

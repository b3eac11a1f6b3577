"""The Redis layer in front of the ``result_cache`` table.

A lookup asks Redis first (``GET``), then the table; a table hit and every
fresh result are written back with ``SETEX`` (``QUIRE_RESULT_CACHE_TTL_SECONDS``).
Keys are ``quire:result-cache:<namespace>:<sha256>`` where the namespace names
the processor and its prompt version (``gemini:sentences-v1``), so the entries
of an old prompt can be found with one ``SCAN`` and expire by themselves.

Redis is an accelerator, never a dependency: when it cannot be reached the
lookup falls through to the table, the error is counted
(``quire_result_cache_redis_errors_total``) and logged once per process.
The layer is off in embedded mode (no Redis) and with a TTL of 0.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from backend.config import Settings
from backend.metrics import CACHE_REDIS_ERRORS

log = logging.getLogger(__name__)

PREFIX = "quire:result-cache"
# A chunk must not wait on a sick Redis: the table answers in milliseconds anyway.
SOCKET_TIMEOUT_SECONDS = 0.5


class RedisLayer:
    """GET/SETEX of JSON results; every Redis error is swallowed, counted, logged once."""

    def __init__(self, client: redis.Redis, ttl_seconds: int) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._warned = False

    @staticmethod
    def key(namespace: str, key: str) -> str:
        return f"{PREFIX}:{namespace}:{key}"

    def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        try:
            raw = self._client.get(self.key(namespace, key))
        except redis.RedisError as exc:
            self._failed("get", exc)
            return None
        if raw is None:
            return None
        try:
            data: dict[str, Any] = json.loads(raw)
        except ValueError:
            return None  # not ours or truncated: the table has the truth
        return data

    def put(self, namespace: str, key: str, data: dict[str, Any]) -> None:
        raw = json.dumps(data, ensure_ascii=False)
        try:
            self._client.setex(self.key(namespace, key), self._ttl, raw)
        except redis.RedisError as exc:
            self._failed("set", exc)

    def _failed(self, op: str, exc: Exception) -> None:
        CACHE_REDIS_ERRORS.labels(op=op).inc()
        if not self._warned:
            self._warned = True
            log.warning(
                "result cache: Redis unavailable (%s: %s); using the database table only "
                "(logged once per process; see quire_result_cache_redis_errors_total)",
                type(exc).__name__,
                exc,
            )


def no_retry() -> Retry:
    """One try per command: the table is always there to answer instead."""
    return Retry(NoBackoff(), 0)


_layers: dict[tuple[str, int], RedisLayer] = {}
_layers_lock = threading.Lock()


def layer_for(settings: Settings) -> RedisLayer | None:
    """The process's Redis layer for ``settings``, or None when it is off."""
    url = settings.broker_url
    ttl = settings.result_cache_ttl_seconds
    if ttl <= 0 or settings.embedded or not url.startswith(("redis://", "rediss://")):
        return None
    with _layers_lock:
        layer = _layers.get((url, ttl))
        if layer is None:
            client = redis.Redis.from_url(
                url,
                socket_timeout=SOCKET_TIMEOUT_SECONDS,
                socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
                # redis-py retries a refused connection 3 times with backoff
                # (~4 s); a cache miss must cost milliseconds, not seconds.
                retry=no_retry(),
            )
            layer = _layers[(url, ttl)] = RedisLayer(client, ttl)
        return layer

"""The result cache: look a chunk up before paying a processor, store what it paid for.

Only processors with a ``cache_key(chunk)`` method take part (Gemini; the local
processor is free and deterministic). The key covers the owned text, the
processor, the model, the settings and the prompt version, so bumping the
prompt version invalidates every entry at once. Two layers: Redis with a TTL
(``services/cache_redis.py``) in front of the ``result_cache`` table, which
stays the truth; hits and misses are counted per layer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from backend.extensions import db
from backend.metrics import CACHE_HITS, CACHE_MISSES
from backend.models import ResultCacheEntry
from backend.models.types import utcnow
from backend.pipeline.errors import PipelineError
from backend.pipeline.processors import Processor
from backend.pipeline.types import ChunkInput, ChunkOutput
from backend.services import cache_redis, runtime
from backend.services.llm_limiter import RateGate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedRun:
    output: ChunkOutput
    key: str | None
    hit: bool
    # The processor and prompt version the key belongs to (the Redis key prefix).
    namespace: str = ""

    @property
    def tokens_used(self) -> int:
        """Tokens this run paid for (0 on a hit)."""
        if self.hit:
            return 0
        tokens = self.output.metadata.get("tokens") or {}
        return int(tokens.get("total", 0)) if isinstance(tokens, dict) else 0


def run_cached(processor: Processor, chunk: ChunkInput, gate: RateGate | None = None) -> CachedRun:
    """The cached output for ``chunk`` if there is one, else ``processor.process(chunk)``.

    A call (not a hit) first passes ``gate``, the fleet's rate limiter, and
    pays its tokens to it afterwards. Raises what the processor raises. Does
    not store: the caller stores a successful run with :func:`store` in the
    transaction that records it.
    """
    key_of = getattr(processor, "cache_key", None)
    key: str | None = key_of(chunk) if callable(key_of) else None
    namespace = str(getattr(processor, "cache_namespace", processor.name))
    if key is not None:
        cached = lookup(key, processor.name, namespace)
        if cached is not None:
            return CachedRun(cached, key, hit=True, namespace=namespace)
    if gate is None:
        return CachedRun(processor.process(chunk), key, hit=False, namespace=namespace)
    gate.acquire()
    try:
        run = CachedRun(processor.process(chunk), key, hit=False, namespace=namespace)
    except PipelineError as exc:
        if exc.code == "RATE_LIMITED":
            gate.drain()
        gate.debit(exc.tokens_used)  # a refused answer used the tokens all the same
        raise
    gate.debit(run.tokens_used)
    return run


def lookup(key: str, processor_name: str, namespace: str) -> ChunkOutput | None:
    """The stored output for ``key``: Redis first, then the table (counting the hit), or None."""
    layer = cache_redis.layer_for(runtime.settings())
    if layer is not None:
        cached = layer.get(namespace, key)
        if cached is not None:
            CACHE_HITS.labels(processor=processor_name, layer="redis").inc()
            return ChunkOutput.from_dict(cached)
        CACHE_MISSES.labels(processor=processor_name, layer="redis").inc()
    row = db.session.execute(
        select(ResultCacheEntry.result_json).where(ResultCacheEntry.key == key)
    ).first()
    if row is None:
        # End the read's transaction: the processor call that follows may take
        # minutes, and no transaction may stay open across it.
        db.session.commit()
        CACHE_MISSES.labels(processor=processor_name, layer="db").inc()
        return None
    CACHE_HITS.labels(processor=processor_name, layer="db").inc()
    data: dict[str, Any] = row.result_json
    if layer is not None:
        layer.put(namespace, key, data)  # the next lookup stops at Redis
    db.session.execute(
        update(ResultCacheEntry)
        .where(ResultCacheEntry.key == key)
        .values(hits=ResultCacheEntry.hits + 1, last_hit_at=utcnow())
    )
    db.session.commit()
    return ChunkOutput.from_dict(data)


def store(run: CachedRun, processor_name: str) -> None:
    """Insert a fresh run's output and commit; a concurrent insert of the same key wins quietly.

    Committed before the chunk's outcome is recorded, on purpose: if that write
    fails, the answer that was paid for is still found by the next attempt.
    """
    if run.key is None or run.hit:
        return
    meta = run.output.metadata
    result = run.output.to_dict()
    values = {
        "key": run.key,
        "processor": processor_name,
        "model": str(meta.get("model", ""))[:64],
        "prompt_version": str(meta.get("prompt_version", ""))[:32],
        "result_json": result,
        "tokens_used": run.tokens_used,
        "hits": 0,
        "created_at": utcnow(),
    }
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(ResultCacheEntry).values(**values).on_conflict_do_nothing())
    db.session.commit()
    layer = cache_redis.layer_for(runtime.settings())
    if layer is not None:
        layer.put(run.namespace or processor_name, run.key, result)

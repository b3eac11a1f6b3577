"""Queue depth and oldest-message age, read from the broker itself.

Every task message Quire publishes carries a ``quire_sent_at`` header (epoch
seconds, stamped by ``stamp_sent_at`` on Celery's ``before_task_publish``
signal). The oldest message of a queue is the one its consumers take next: the
right end of kombu's Redis lists (it LPUSHes and BRPOPs), the front of the
memory transport's FIFO in embedded mode. Its age says how far behind the
workers are, which the depth alone does not (1,000 messages may be 2 s of work
or 2 hours). A message restored after a visibility timeout keeps its first
stamp: its age counts from the first publish.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from backend.celery_app import QUEUES

SENT_AT_HEADER = "quire_sent_at"
# kombu's Redis transport keeps priorities 3, 6 and 9 of a queue in sibling lists.
_PRIORITY_SEP = "\x06\x16"
_PRIORITIES = ("", *(f"{_PRIORITY_SEP}{p}" for p in (3, 6, 9)))


@dataclass(frozen=True)
class QueueStats:
    depth: int
    oldest_age_seconds: float | None  # None: empty, or no stamped message at the head


def stamp_sent_at(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """``before_task_publish`` receiver: the headers dict is the one that is published."""
    if headers is not None:
        headers.setdefault(SENT_AT_HEADER, time.time())


def redis_queue_stats(client: Any, now: float | None = None) -> dict[str, QueueStats]:
    """Depth (every priority list) and oldest age of each Quire queue, in one round trip."""
    now = time.time() if now is None else now
    pipe = client.pipeline()
    for queue in QUEUES:
        for suffix in _PRIORITIES:
            pipe.llen(queue + suffix)
            pipe.lindex(queue + suffix, -1)
    replies = iter(pipe.execute())
    stats: dict[str, QueueStats] = {}
    for queue in QUEUES:
        depth, sent = 0, []
        for _ in _PRIORITIES:
            depth += int(next(replies))
            stamp = _sent_at(next(replies))
            if stamp is not None:
                sent.append(stamp)
        stats[queue] = QueueStats(depth, _age(now, sent))
    return stats


def memory_queue_stats(now: float | None = None) -> dict[str, QueueStats]:
    """The same for the in-process memory transport of embedded mode."""
    from kombu.transport import memory

    now = time.time() if now is None else now
    stats: dict[str, QueueStats] = {}
    for queue in QUEUES:
        fifo = memory.Channel.queues.get(queue)
        if fifo is None:
            stats[queue] = QueueStats(0, None)
            continue
        with fifo.mutex:  # the worker threads take from it concurrently
            depth = len(fifo.queue)
            head = fifo.queue[0] if depth else None
        stamp = _sent_at(head)
        stats[queue] = QueueStats(depth, _age(now, [stamp] if stamp is not None else []))
    return stats


def _sent_at(message: Any) -> float | None:
    if message is None:
        return None
    if isinstance(message, bytes | str):
        try:
            message = json.loads(message)
        except ValueError:
            return None
    headers = message.get("headers") if isinstance(message, dict) else None
    stamp = headers.get(SENT_AT_HEADER) if isinstance(headers, dict) else None
    return float(stamp) if isinstance(stamp, int | float) else None


def _age(now: float, stamps: list[float]) -> float | None:
    return round(max(0.0, now - min(stamps)), 3) if stamps else None

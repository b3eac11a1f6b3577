"""services/queue_stats: depth and oldest-message age from kombu's Redis lists."""

from __future__ import annotations

import json
from typing import Any

from backend.services.queue_stats import SENT_AT_HEADER, redis_queue_stats, stamp_sent_at

PRIORITY_3 = "\x06\x163"


class FakePipeline:
    """Answers LLEN/LINDEX like Redis over a dict of lists (LPUSH order: newest first)."""

    def __init__(self, lists: dict[str, list[bytes]]) -> None:
        self._lists = lists
        self._replies: list[Any] = []

    def llen(self, key: str) -> None:
        self._replies.append(len(self._lists.get(key, [])))

    def lindex(self, key: str, index: int) -> None:
        items = self._lists.get(key, [])
        self._replies.append(items[index] if items else None)

    def execute(self) -> list[Any]:
        return self._replies


class FakeRedis:
    def __init__(self, lists: dict[str, list[bytes]]) -> None:
        self._lists = lists

    def pipeline(self) -> FakePipeline:
        return FakePipeline(self._lists)


def message(sent_at: float | None) -> bytes:
    headers = {"task": "quire.process_chunk"}
    if sent_at is not None:
        headers[SENT_AT_HEADER] = sent_at  # type: ignore[assignment]
    return json.dumps({"body": "", "headers": headers}).encode()


def test_the_oldest_stamped_message_of_every_priority_list_gives_the_age() -> None:
    lists = {
        "chunks": [message(990.0), message(950.0)],  # LPUSHed: the right end is the oldest
        "chunks" + PRIORITY_3: [message(900.0)],
        "split": [message(None), b"not json"],
    }
    stats = redis_queue_stats(FakeRedis(lists), now=1000.0)
    assert (stats["chunks"].depth, stats["chunks"].oldest_age_seconds) == (3, 100.0)
    assert (stats["split"].depth, stats["split"].oldest_age_seconds) == (2, None)
    assert (stats["finalize"].depth, stats["finalize"].oldest_age_seconds) == (0, None)


def test_publishing_stamps_the_headers_once() -> None:
    headers: dict[str, Any] = {}
    stamp_sent_at(headers=headers)
    first = headers[SENT_AT_HEADER]
    stamp_sent_at(headers=headers)  # a republished message keeps its first stamp
    assert headers[SENT_AT_HEADER] == first
    stamp_sent_at(headers=None)  # other publishers' signals carry no headers: no error

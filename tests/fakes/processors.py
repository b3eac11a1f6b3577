"""A scripted processor for end-to-end tests: the faults are ours to choose.

Each chunk index has a script of outcomes, one per call: ``"ok"``, ``"transient"``,
``"permanent"``, ``"sleep:<seconds>"`` (then ok). When the script runs out the
chunk succeeds. Every call is recorded, so tests can count processor calls per
chunk and prove that a duplicate delivery did not call twice.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from backend.pipeline.errors import PermanentError, TransientError
from backend.pipeline.types import ChunkInput, ChunkOutput, Sentence


@dataclass
class Script:
    plan: dict[int, list[str]] = field(default_factory=dict)
    calls: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    call_times: list[tuple[int, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_outcome(self, index: int) -> str:
        with self.lock:
            self.calls[index] += 1
            self.call_times.append((index, time.time()))
            steps = self.plan.get(index, [])
            return steps.pop(0) if steps else "ok"

    def total_calls(self) -> int:
        with self.lock:
            return sum(self.calls.values())


class ScriptedProcessor:
    """Emits one sentence per owned page: ``"page N"``; faults follow the script."""

    name = "scripted"

    def __init__(self, script: Script) -> None:
        self.script = script

    def process(self, chunk: ChunkInput) -> ChunkOutput:
        outcome = self.script.next_outcome(chunk.spec.index)
        if outcome == "transient":
            raise TransientError("scripted transient failure", retry_after=0.1)
        if outcome == "permanent":
            raise PermanentError("scripted permanent failure", code="NO_TEXT")
        if outcome.startswith("sleep:"):
            time.sleep(float(outcome.split(":", 1)[1]))
        pages = range(chunk.spec.page_start, chunk.spec.page_end + 1)
        return ChunkOutput(sentences=tuple(Sentence(f"page {p}", p) for p in pages))

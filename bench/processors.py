"""Bench-only processors, registered in the driver and in bench workers.

``bench_sleep`` sleeps ``QUIRE_BENCH_SLEEP_SECONDS`` (a stand-in for an LLM call:
no CPU, all wall time) and, with ``QUIRE_BENCH_FAIL_EVERY=K``, fails every K-th
chunk permanently; ``bench_noop`` returns at once, so only Quire's own work
is left to measure. Neither reads the chunk's PDF: the blob read is Quire's cost
(``process_chunk`` loads it before calling the processor).
"""

from __future__ import annotations

import os
import time

from backend.pipeline import processors
from backend.pipeline.errors import PermanentError
from backend.pipeline.types import ChunkInput, ChunkOutput, Sentence

SLEEP_ENV = "QUIRE_BENCH_SLEEP_SECONDS"
FAIL_ENV = "QUIRE_BENCH_FAIL_EVERY"


def _one_sentence(chunk: ChunkInput) -> ChunkOutput:
    page = chunk.spec.page_start
    return ChunkOutput(sentences=(Sentence(f"page {page}", page),))


class SleepProcessor:
    """Sleeps a fixed time per chunk, then emits one sentence."""

    name = "bench_sleep"

    def __init__(self) -> None:
        self.seconds = float(os.environ.get(SLEEP_ENV, "0.2"))
        self.fail_every = int(os.environ.get(FAIL_ENV, "0"))

    def process(self, chunk: ChunkInput) -> ChunkOutput:
        time.sleep(self.seconds)
        if self.fail_every and chunk.spec.index % self.fail_every == 0:
            raise PermanentError("bench: a chunk that fails on purpose", code="NO_TEXT")
        return _one_sentence(chunk)


class NoopProcessor:
    """Returns at once: what remains is orchestration."""

    name = "bench_noop"

    def process(self, chunk: ChunkInput) -> ChunkOutput:
        return _one_sentence(chunk)


def register() -> None:
    processors.register(SleepProcessor.name, SleepProcessor)
    processors.register(NoopProcessor.name, NoopProcessor)

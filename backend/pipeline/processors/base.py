"""The processor interface: one chunk in, sentences out, or a classified error."""

from __future__ import annotations

from typing import Protocol

from backend.pipeline.types import ChunkInput, ChunkOutput


class Processor(Protocol):
    """Turns one chunk into sentences.

    Raises :class:`~backend.pipeline.errors.TransientError` when a later attempt
    may succeed and :class:`~backend.pipeline.errors.PermanentError` when it
    cannot. Must be safe to call from several threads at once.
    """

    name: str

    def process(self, chunk: ChunkInput) -> ChunkOutput: ...

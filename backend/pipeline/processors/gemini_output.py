"""Validate a Gemini answer: finish reason, JSON schema, sentence length, coverage.

A truncated, blocked or lossy answer is never a silent success: it raises
``LLM_BAD_OUTPUT`` (transient: a new sample may be fine) or ``CONTENT_BLOCKED``
(permanent: the same text will be blocked again).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from backend.pipeline.errors import PermanentError, TransientError
from backend.pipeline.segment import count_words, split_long

BLOCKING_FINISH_REASONS = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)
_WORD = re.compile(r"\w+")


def bad_output(message: str) -> TransientError:
    return TransientError(message, code="LLM_BAD_OUTPUT")


def check_finish(finish_reason: str | None, block_reason: str | None) -> None:
    """Raise unless the model finished normally (``STOP``)."""
    if block_reason:
        raise PermanentError(f"Gemini blocked the prompt ({block_reason})", code="CONTENT_BLOCKED")
    if finish_reason in BLOCKING_FINISH_REASONS:
        raise PermanentError(
            f"Gemini stopped its answer for {finish_reason}", code="CONTENT_BLOCKED"
        )
    if finish_reason == "MAX_TOKENS":
        raise bad_output("Gemini's answer was truncated (MAX_TOKENS); use fewer pages per chunk")
    if finish_reason not in (None, "STOP"):
        raise bad_output(f"Gemini stopped its answer for {finish_reason}")


def parse_sentences(text: str | None, expected: int) -> list[list[str]]:
    """``{"sentences": [[…], …]}`` with one list of strings per input sentence."""
    if not text:
        raise bad_output("Gemini returned an empty answer")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise bad_output(f"Gemini's answer is not JSON ({exc}): {text[:80]!r}") from None
    groups = data.get("sentences") if isinstance(data, dict) else None
    if not isinstance(groups, list) or not all(
        isinstance(group, list) and all(isinstance(s, str) for s in group) for group in groups
    ):
        raise bad_output("Gemini's answer does not match the schema {sentences: [[string]]}")
    if len(groups) != expected:
        raise bad_output(
            f"Gemini returned {len(groups)} sentence groups for {expected} input sentences"
        )
    return [[s.strip() for s in group if s.strip()] for group in groups]


def enforce_length(pieces: Sequence[str], limit: int) -> tuple[list[str], int]:
    """Cut pieces longer than ``limit`` words locally; returns them and how many were cut."""
    out: list[str] = []
    cut = 0
    for piece in pieces:
        if count_words(piece) > limit:
            cut += 1
            out.extend(split_long(piece, limit))
        else:
            out.append(piece)
    return out, cut


@dataclass(frozen=True)
class Coverage:
    source_words: int
    output_words: int
    lost_words: int

    @property
    def loss(self) -> float:
        return self.lost_words / self.source_words if self.source_words else 0.0

    @property
    def growth(self) -> float:
        return self.output_words / self.source_words if self.source_words else 1.0


def coverage(source: Sequence[str], output: Sequence[str]) -> Coverage:
    """Compare the multisets of words (lower-cased, punctuation ignored)."""
    src = Counter(w for text in source for w in _WORD.findall(text.lower()))
    out = Counter(w for text in output for w in _WORD.findall(text.lower()))
    return Coverage(
        source_words=sum(src.values()),
        output_words=sum(out.values()),
        lost_words=sum((src - out).values()),
    )


def check_coverage(result: Coverage, max_loss: float, max_growth: float) -> None:
    """``LLM_BAD_OUTPUT`` if words were lost, or added far beyond a rewrite's needs."""
    if result.loss > max_loss:
        raise bad_output(
            f"Gemini's answer lost {result.lost_words} of {result.source_words} source words "
            f"({result.loss:.1%} > {max_loss:.1%})"
        )
    if result.growth > max_growth:
        raise bad_output(
            f"Gemini's answer has {result.output_words} words for {result.source_words} "
            f"source words (×{result.growth:.2f}); duplicated or invented text"
        )

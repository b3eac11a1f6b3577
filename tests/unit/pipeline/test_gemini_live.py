"""Opt-in smoke test against the real Gemini API (needs GEMINI_API_KEY; costs a few tokens)."""

from __future__ import annotations

import os

import pytest

from backend.config import Settings
from backend.pipeline.processors.gemini import GeminiProcessor
from backend.pipeline.segment import count_words
from backend.pipeline.types import ChunkInput, ProcessSettings
from backend.services.processors import gemini_config
from tests.unit.pipeline.helpers import text_pdf, whole

pytestmark = pytest.mark.skipif(
    not os.environ.get("GEMINI_API_KEY"),
    reason="GEMINI_API_KEY is not set: the live Gemini smoke test is opt-in",
)

LINES = [
    "Pendant que la nuit tombait doucement sur la ville, Claire attendait",
    "sans rien dire près de la gare, le cœur serré, et les cloches sonnaient",
    "au loin.",
]


def test_real_gemini_rewrites_a_paragraph_within_the_limit_and_keeps_its_words() -> None:
    config = gemini_config(Settings.from_env())
    assert config is not None
    chunk = ChunkInput(text_pdf([LINES]), whole(1), ProcessSettings(words_per_sentence=8))
    output = GeminiProcessor(config).process(chunk)  # raises LLM_BAD_OUTPUT if words are lost
    assert output.sentences
    assert all(count_words(s.text) <= 8 for s in output.sentences)
    assert output.metadata["tokens"]["total"] > 0

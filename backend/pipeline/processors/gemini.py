"""The Gemini processor: a chunk's owned sentences rewritten into sentences of ≤ N words.

Input is what :func:`~backend.pipeline.textflow.owned_sentences` keeps, so the
overlap de-duplication stays exact whatever the model does. The model answers
one list of short sentences per input sentence (a response schema enforces the
shape), which keeps each output sentence on the page its source starts on.
Every answer is validated (:mod:`gemini_output`); every SDK error is classified
(:mod:`gemini_errors`). The SDK's own retries are off: the retry policy is ours.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from backend.pipeline.errors import PipelineError
from backend.pipeline.pieces import has_letter
from backend.pipeline.processors import gemini_output as output
from backend.pipeline.processors.gemini_errors import classify_api_error, classify_transport_error
from backend.pipeline.processors.reading import OwnedText, read_owned
from backend.pipeline.segment import count_words
from backend.pipeline.types import ChunkInput, ChunkOutput, ProcessSettings, Sentence

log = logging.getLogger(__name__)

# Bump the file name to change the prompt: the version is part of every cache key.
PROMPT_VERSION = "sentences-v1"
_PROMPT = (Path(__file__).parent / "prompts" / f"{PROMPT_VERSION}.txt").read_text("utf-8")

RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "properties": {
        "sentences": {"type": "ARRAY", "items": {"type": "ARRAY", "items": {"type": "STRING"}}}
    },
    "required": ["sentences"],
}


@dataclass(frozen=True)
class GeminiConfig:
    """Everything the processor needs; built by the service layer from ``Settings``."""

    # Out of the repr: configs are logged and shown in tracebacks.
    api_key: str = field(repr=False)
    model: str
    base_url: str | None = None
    timeout_seconds: float = 120.0
    temperature: float = 0.2
    # A retry delay longer than this is cut down to it (it must stay well below
    # the broker's visibility timeout, or a countdown message is redelivered).
    max_retry_after_seconds: float = 600.0
    max_word_loss: float = 0.05
    max_word_growth: float = 1.5


def build_prompt(settings: ProcessSettings) -> str:
    """The system instruction for ``settings`` (the versioned file plus the options)."""
    options = []
    if settings.min_sentence_length > 1:
        options.append(
            f"- avoid output sentences shorter than {settings.min_sentence_length} words "
            "unless the input sentence itself is that short;"
        )
    if settings.ignore_dialogue:
        options.append("- return dialogue lines (starting with — or «) unchanged;")
    if settings.preserve_formatting:
        options.append("- keep italics markers, line breaks and capitalisation as given;")
    return _PROMPT.replace("{options}", "\n".join(options))


def cache_key_of(owned: OwnedText, settings: ProcessSettings, config: GeminiConfig) -> str:
    """sha256 of (owned text and pages, processor, model, settings, prompt version)."""
    material = {
        "sentences": [[s.text, s.page] for s in owned.sentences],
        "empty": list(owned.pages_without_text),
        "processor": "gemini",
        "model": config.model,
        "temperature": config.temperature,
        "settings": settings.as_dict(),
        "prompt": PROMPT_VERSION,
    }
    raw = json.dumps(material, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


_clients: dict[GeminiConfig, genai.Client] = {}
_clients_lock = threading.Lock()


def _client(config: GeminiConfig) -> genai.Client:
    """One client (one connection pool) per configuration and process.

    Created lazily, so a prefork child never inherits its parent's sockets, and
    under a lock: a ``genai.Client`` closes its HTTP client when garbage
    collected, so a duplicate built by a race would close under its caller.
    """
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            options = types.HttpOptions(
                timeout=int(config.timeout_seconds * 1000),
                retry_options=types.HttpRetryOptions(attempts=1),
                base_url=config.base_url or None,
            )
            client = _clients[config] = genai.Client(api_key=config.api_key, http_options=options)
        return client


class GeminiProcessor:
    """Rewrites a chunk's sentences with Gemini; thread-safe (the client is shared)."""

    name = "gemini"
    # Prefix of this processor's result-cache keys: an old prompt's entries stand apart.
    cache_namespace = f"gemini:{PROMPT_VERSION}"

    def __init__(self, config: GeminiConfig) -> None:
        self.config = config

    def cache_key(self, chunk: ChunkInput) -> str:
        """The result-cache key of ``chunk`` (reads its text; raises like ``process``)."""
        return cache_key_of(read_owned(chunk), chunk.settings, self.config)

    def process(self, chunk: ChunkInput) -> ChunkOutput:
        """Process one chunk or raise a classified ``TransientError``/``PermanentError``."""
        owned = read_owned(chunk)
        settings = chunk.settings
        limit = settings.words_per_sentence
        sources = [s.text for s in owned.sentences]
        groups, tokens = self._ask(sources, settings) if sources else ([], {})
        result = output.coverage(sources, [p for group in groups for p in group])
        try:
            output.check_coverage(result, self.config.max_word_loss, self.config.max_word_growth)
        except PipelineError as exc:
            exc.tokens_used = tokens.get("total", 0)
            raise
        sentences: list[Sentence] = []
        recut = 0
        dropped = 0
        for source, group in zip(owned.sentences, groups, strict=True):
            pieces, cut = output.enforce_length(group, limit)
            recut += cut
            kept = [piece for piece in pieces if has_letter(piece)]
            dropped += len(pieces) - len(kept)
            sentences.extend(replace(source, text=piece) for piece in kept)
        metadata = {
            "words": sum(count_words(s.text) for s in sentences),
            "pages": chunk.spec.page_count,
            "sentences": len(sentences),
            "page_errors": owned.page_errors,
            "ocr_pages": {str(page): conf for page, conf in owned.ocr_pages.items()},
            "model": self.config.model,
            "prompt_version": PROMPT_VERSION,
            "tokens": tokens,
            "recut_sentences": recut,
            "dropped_without_letters": dropped,
            "word_loss": round(result.loss, 4),
        }
        return ChunkOutput(
            sentences=tuple(sentences),
            pages_without_text=owned.pages_without_text,
            metadata=metadata,
            unreadable_pages=owned.unreadable_pages,
        )

    def _ask(
        self, sources: list[str], settings: ProcessSettings
    ) -> tuple[list[list[str]], dict[str, int]]:
        payload = {"words_per_sentence": settings.words_per_sentence, "sentences": sources}
        config = types.GenerateContentConfig(
            system_instruction=build_prompt(settings),
            response_mime_type="application/json",
            response_schema=RESPONSE_SCHEMA,
            temperature=self.config.temperature,
        )
        client = _client(self.config)  # held for the call: see _client
        try:
            response = client.models.generate_content(
                model=self.config.model,
                contents=json.dumps(payload, ensure_ascii=False),
                config=config,
            )
        except genai_errors.APIError as exc:
            raise classify_api_error(
                exc.code,
                exc.details,
                model=self.config.model,
                max_retry_after=self.config.max_retry_after_seconds,
            ) from exc
        except Exception as exc:
            classified: PipelineError | None = classify_transport_error(
                exc, timeout=self.config.timeout_seconds
            )
            if classified is None:
                raise
            raise classified from exc
        usage = response.usage_metadata
        tokens = {
            "prompt": (usage.prompt_token_count or 0) if usage else 0,
            "output": (usage.candidates_token_count or 0) if usage else 0,
            "total": (usage.total_token_count or 0) if usage else 0,
        }
        candidate = response.candidates[0] if response.candidates else None
        feedback = response.prompt_feedback
        block = feedback.block_reason.value if feedback and feedback.block_reason else None
        finish = candidate.finish_reason.value if candidate and candidate.finish_reason else None
        try:
            output.check_finish(finish, block)
            return output.parse_sentences(response.text, len(sources)), tokens
        except PipelineError as exc:
            exc.tokens_used = tokens["total"]  # a refused answer was paid for all the same
            raise

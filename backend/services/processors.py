"""Configuring the processors from ``Settings`` (the pipeline never reads the environment)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from backend.config import Settings
from backend.pipeline import processors

if TYPE_CHECKING:
    from backend.pipeline.processors.gemini import GeminiConfig

log = logging.getLogger(__name__)

# The broker redelivers a message whose countdown outlives its visibility
# timeout (1800 s, celery_app.py); retry delays stay well below it.
MAX_RETRY_DELAY_SECONDS = 900.0


def gemini_config(settings: Settings) -> GeminiConfig | None:
    """The Gemini processor's configuration, or None without ``GEMINI_API_KEY``.

    The client time-out is kept below the chunk task's soft time limit, so a hung
    call ends as ``LLM_TIMEOUT`` (retried) instead of a killed task.
    """
    if not settings.gemini_api_key:
        return None
    from backend.pipeline.processors.gemini import GeminiConfig

    timeout = min(settings.gemini_timeout_seconds, settings.chunk_soft_time_limit * 0.8)
    return GeminiConfig(
        api_key=settings.gemini_api_key,
        model=settings.gemini_model,
        base_url=settings.gemini_base_url or None,
        timeout_seconds=timeout,
        temperature=settings.gemini_temperature,
        max_retry_after_seconds=min(
            settings.gemini_max_retry_after_seconds, MAX_RETRY_DELAY_SECONDS
        ),
    )


def configure_processors(settings: Settings) -> None:
    """Enable the processors ``settings`` configure (called by the app factory)."""
    config = gemini_config(settings)
    processors.configure_gemini(config)
    if config is not None:
        log.info(
            "gemini processor enabled: model %s, timeout %.0fs",
            config.model,
            config.timeout_seconds,
        )

"""Settings → GeminiConfig: off without a key, time-out below the task's soft limit."""

from __future__ import annotations

from backend.config import Settings
from backend.services.processors import MAX_RETRY_DELAY_SECONDS, gemini_config


def test_gemini_is_off_without_an_api_key() -> None:
    assert gemini_config(Settings.from_env({})) is None


def test_gemini_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "GEMINI_API_KEY": " AIza-test-secret ",
            "QUIRE_GEMINI_MODEL": "gemini-x-flash",
            "QUIRE_GEMINI_BASE_URL": "http://127.0.0.1:1",
            "QUIRE_GEMINI_TIMEOUT_SECONDS": "30",
            "QUIRE_GEMINI_TEMPERATURE": "0",
        }
    )
    config = gemini_config(settings)
    assert config is not None
    assert (config.api_key, config.model, config.base_url) == (
        "AIza-test-secret",
        "gemini-x-flash",
        "http://127.0.0.1:1",
    )
    assert (config.timeout_seconds, config.temperature) == (30.0, 0.0)
    assert "AIza-test-secret" not in repr(settings)


def test_client_timeout_stays_below_the_soft_time_limit_and_delays_below_visibility() -> None:
    settings = Settings.from_env(
        {
            "GEMINI_API_KEY": "k",
            "QUIRE_CHUNK_SOFT_TIME_LIMIT": "60",
            "QUIRE_GEMINI_TIMEOUT_SECONDS": "300",
            "QUIRE_GEMINI_MAX_RETRY_AFTER": "7200",
        }
    )
    config = gemini_config(settings)
    assert config is not None
    assert config.timeout_seconds == 48.0
    assert config.max_retry_after_seconds == MAX_RETRY_DELAY_SECONDS < 1800

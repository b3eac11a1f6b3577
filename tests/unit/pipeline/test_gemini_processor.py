"""GeminiProcessor through google-genai against the fake Gemini server: every behaviour."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from backend.pipeline.errors import PermanentError, PipelineError, TransientError
from backend.pipeline.processors import configure_gemini, get_processor, not_configured
from backend.pipeline.processors.gemini import GeminiConfig, GeminiProcessor, cache_key_of
from backend.pipeline.processors.reading import read_owned
from backend.pipeline.segment import count_words
from backend.pipeline.types import ChunkInput, ProcessSettings
from tests.fakes.gemini_server import GeminiServer
from tests.unit.pipeline.helpers import text_pdf, whole

PAGE_ONE = [
    "Pendant que la nuit tombait doucement sur la ville, Claire attendait",
    "sans rien dire près de la gare, le cœur serré, et les cloches sonnaient",
    "au loin. « Viens, dit-il. » Elle ne bougea pas.",
]
PAGE_TWO = ["Le train arriva enfin. Personne n'en descendit, et la nuit resta muette."]


@pytest.fixture(scope="module")
def server() -> Iterator[GeminiServer]:
    running = GeminiServer().start()
    yield running
    running.close()


@pytest.fixture
def fake(server: GeminiServer) -> Iterator[GeminiServer]:
    server.state.reset()
    yield server
    server.state.reset()


def config_for(server: GeminiServer, **changes: object) -> GeminiConfig:
    values: dict[str, object] = {
        "api_key": "test-key",
        "model": "fake-flash",
        "base_url": server.url,
        "timeout_seconds": 2.0,
    }
    values.update(changes)
    return GeminiConfig(**values)  # type: ignore[arg-type]


def chunk(limit: int = 5) -> ChunkInput:
    return ChunkInput(
        text_pdf([PAGE_ONE, PAGE_TWO]), whole(2), ProcessSettings(words_per_sentence=limit)
    )


def failure(fake: GeminiServer, behaviour: str, **changes: object) -> PipelineError:
    fake.state.script("", behaviour)
    with pytest.raises(PipelineError) as caught:
        GeminiProcessor(config_for(fake, **changes)).process(chunk())
    return caught.value


@pytest.mark.parametrize("limit", [3, 5, 12])
def test_answer_keeps_every_word_within_the_limit_on_its_source_page(
    fake: GeminiServer, limit: int
) -> None:
    output = GeminiProcessor(config_for(fake)).process(chunk(limit))
    words = " ".join(s.text for s in output.sentences).split()
    assert words == " ".join(PAGE_ONE + PAGE_TWO).split()
    assert all(count_words(s.text) <= limit for s in output.sentences)
    assert [s.page for s in output.sentences if s.text.startswith("Le train")] == [2]
    assert output.metadata["tokens"]["total"] > 0
    assert output.metadata["prompt_version"] == "sentences-v1"
    assert fake.state.paths == {"/v1/models/fake-flash:generateContent"}
    assert fake.state.api_keys == {"test-key"}


def test_rate_limit_is_transient_with_the_servers_retry_delay(fake: GeminiServer) -> None:
    error = failure(fake, "429:7")
    assert isinstance(error, TransientError)
    assert (error.code, error.retry_after) == ("RATE_LIMITED", 7.0)


def test_rate_limit_delay_is_capped(fake: GeminiServer) -> None:
    error = failure(fake, "429:3600", max_retry_after_seconds=120.0)
    assert isinstance(error, TransientError)
    assert error.retry_after == 120.0


def test_daily_quota_with_limit_zero_is_quota_exhausted(fake: GeminiServer) -> None:
    error = failure(fake, "quota")
    assert isinstance(error, TransientError)
    assert error.code == "QUOTA_EXHAUSTED"
    assert "limit: 0" in error.message


@pytest.mark.parametrize("behaviour", ["500", "503"])
def test_server_errors_are_transient_unavailable(fake: GeminiServer, behaviour: str) -> None:
    error = failure(fake, behaviour)
    assert isinstance(error, TransientError)
    assert error.code == "LLM_UNAVAILABLE"


def test_hung_call_times_out_at_the_client_timeout(fake: GeminiServer) -> None:
    started = time.monotonic()
    error = failure(fake, "hang", timeout_seconds=0.5)
    assert isinstance(error, TransientError)
    assert error.code == "LLM_TIMEOUT"
    assert time.monotonic() - started < 3.0


def test_slow_answer_within_the_timeout_succeeds(fake: GeminiServer) -> None:
    fake.state.script("", "slow:0.3")
    output = GeminiProcessor(config_for(fake, timeout_seconds=3.0)).process(chunk())
    assert output.sentences


def test_unreachable_server_is_transient(fake: GeminiServer) -> None:
    config = config_for(fake, base_url="http://127.0.0.1:9")  # discard port: refused
    with pytest.raises(TransientError) as caught:
        GeminiProcessor(config).process(chunk())
    assert caught.value.code == "LLM_UNAVAILABLE"


def test_invalid_key_is_permanent_and_names_the_setting(fake: GeminiServer) -> None:
    error = failure(fake, "bad_key")
    assert isinstance(error, PermanentError)
    assert error.code == "LLM_AUTH_FAILED"
    assert "GEMINI_API_KEY" in error.message


def test_safety_block_is_permanent_content_blocked(fake: GeminiServer) -> None:
    error = failure(fake, "safety")
    assert isinstance(error, PermanentError)
    assert error.code == "CONTENT_BLOCKED"


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("max_tokens", "MAX_TOKENS"),
        ("bad_json", "not JSON"),
        ("lossy", "lost"),
        ("wrong_count", "sentence groups"),
    ],
)
def test_bad_answers_are_llm_bad_output(fake: GeminiServer, behaviour: str, message: str) -> None:
    error = failure(fake, behaviour)
    assert isinstance(error, TransientError)
    assert error.code == "LLM_BAD_OUTPUT"
    assert message in error.message


def test_too_long_sentences_are_cut_locally(fake: GeminiServer) -> None:
    fake.state.script("", "long")
    output = GeminiProcessor(config_for(fake)).process(chunk(4))
    assert all(count_words(s.text) <= 4 for s in output.sentences)
    assert output.metadata["recut_sentences"] > 0
    assert (
        " ".join(s.text for s in output.sentences).split() == " ".join(PAGE_ONE + PAGE_TWO).split()
    )


def test_the_sdk_does_not_retry_behind_our_back(fake: GeminiServer) -> None:
    failure(fake, "503")
    assert fake.state.total_requests() == 1


def test_cache_key_changes_with_model_settings_and_text(fake: GeminiServer) -> None:
    owned = read_owned(chunk())
    base = cache_key_of(owned, ProcessSettings(words_per_sentence=5), config_for(fake))
    assert base == GeminiProcessor(config_for(fake)).cache_key(chunk(5))
    assert base != cache_key_of(owned, ProcessSettings(words_per_sentence=6), config_for(fake))
    assert base != cache_key_of(
        owned, ProcessSettings(words_per_sentence=5), config_for(fake, model="other")
    )
    other = read_owned(ChunkInput(text_pdf([PAGE_TWO, PAGE_ONE]), whole(2)))
    assert base != cache_key_of(other, ProcessSettings(words_per_sentence=5), config_for(fake))


def test_registry_refuses_gemini_until_configured(fake: GeminiServer) -> None:
    configure_gemini(None)
    assert not_configured("gemini") == "set GEMINI_API_KEY"
    with pytest.raises(PermanentError) as caught:
        get_processor("gemini")
    assert caught.value.code == "PROCESSOR_NOT_CONFIGURED"
    configure_gemini(config_for(fake))
    try:
        assert not_configured("gemini") is None
        assert isinstance(get_processor("gemini"), GeminiProcessor)
    finally:
        configure_gemini(None)


@pytest.mark.parametrize("behaviour", ["max_tokens", "bad_json", "lossy", "wrong_count"])
def test_refused_answer_reports_the_tokens_it_cost(fake: GeminiServer, behaviour: str) -> None:
    # The fake bills 100 prompt tokens plus a quarter of the answer's characters.
    assert failure(fake, behaviour).tokens_used > 100


@pytest.mark.parametrize("behaviour", ["429", "503", "safety"])
def test_error_without_usage_costs_no_tokens(fake: GeminiServer, behaviour: str) -> None:
    assert failure(fake, behaviour).tokens_used == 0

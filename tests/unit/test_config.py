"""Settings: embedded defaults, service-mode secrets, ranges checked at boot."""

from __future__ import annotations

import pytest

from backend.config import ConfigError, Settings
from backend.errors import ERRORS, QuireError, is_retryable


def test_no_environment_means_embedded_mode_with_sqlite() -> None:
    settings = Settings.from_env({})
    assert settings.embedded
    assert settings.sqlalchemy_url.startswith("sqlite:///")
    assert settings.celery_result_backend == "cache+memory://"
    assert settings.secret_key
    assert settings.jwt_secret_key


def test_service_mode_refuses_to_boot_without_secrets() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY must be set.*JWT_SECRET_KEY must be set"):
        Settings.from_env({"CELERY_BROKER_URL": "redis://localhost:6379/0"})


def test_heroku_style_postgres_url_gets_a_driver() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgres://u:p@db:5432/quire",
            "CELERY_BROKER_URL": "redis://r:6379/0",
            "SECRET_KEY": "s" * 32,
            "JWT_SECRET_KEY": "j" * 32,
        }
    )
    assert settings.sqlalchemy_url == "postgresql+psycopg://u:p@db:5432/quire"
    assert settings.celery_result_backend == "redis://r:6379/0"
    assert not settings.embedded


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("QUIRE_PAGES_PER_CHUNK", "0", "out of range"),
        ("QUIRE_MAX_RETRIES", "11", "out of range"),
        ("QUIRE_MAX_UPLOAD_MB", "lots", "not an integer"),
        ("QUIRE_RETRY_BACKOFF_SECONDS", "soon", "not a number"),
    ],
)
def test_bad_values_fail_at_boot_with_the_variable_named(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=f"{name}.*{message}"):
        Settings.from_env({name: value})


def test_unknown_override_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown settings: nope"):
        Settings.from_env({}).override({"nope": 1})


def test_every_error_code_has_a_status_and_unknown_codes_are_internal() -> None:
    assert ERRORS["ENCRYPTED_PDF"].status == 422
    assert is_retryable("RATE_LIMITED")
    assert not is_retryable("INVALID_PDF")
    assert not is_retryable(None)
    error = QuireError("NO_SUCH_CODE", "boom")
    assert (error.code, error.status) == ("INTERNAL_ERROR", 500)
    assert error.body() == {"error": {"code": "INTERNAL_ERROR", "message": "boom", "details": {}}}

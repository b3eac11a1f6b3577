"""Audit findings 7 and 9 (part): guessable secrets, secrets in reprs, a world-readable quire.db."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from backend import create_app
from backend.config import ConfigError, Settings
from backend.config_secrets import KNOWN_DEFAULT_SECRETS, secret_problem
from backend.extensions import db
from backend.services.processors import gemini_config
from backend.services.tokens import TokenPair

ROOT = Path(__file__).resolve().parents[2]
STRONG = "k3Vq9-ZxP2_m8TtR4wLs7YbN1cHd6FgJ0aUe5Ai"  # 40 random-looking bytes
SERVICE = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}


def service_env(**secrets: str) -> dict[str, str]:
    return {**SERVICE, "SECRET_KEY": STRONG, "JWT_SECRET_KEY": STRONG + "-jwt", **secrets}


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("x", "1 bytes long"),
        ("dev-jwt-secret-key-change-me", "published default"),
        ("dev-secret-key-change-me", "published default"),
        ("change-me-too", "published default"),
        ("CHANGE-ME", "published default"),
        ("é" * 15, "30 bytes long"),  # 15 characters, 30 bytes: bytes are what count
    ],
)
def test_service_mode_refuses_to_boot_with_a_short_or_default_secret(
    name: str, value: str, why: str
) -> None:
    with pytest.raises(ConfigError, match=rf"{name} is .*{why}.*token_urlsafe") as caught:
        Settings.from_env(service_env(**{name: value}))

    assert value not in str(caught.value)  # the error names the variable, not the value


def test_the_app_factory_refuses_a_weak_secret_given_as_an_override(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        create_app(
            {"data_dir": tmp_path, "jwt_secret_key": "x", "secret_key": STRONG},
            env=SERVICE,
        )


def test_a_secret_of_32_random_bytes_boots() -> None:
    settings = Settings.from_env(service_env())

    assert settings.jwt_secret_key == STRONG + "-jwt"


def test_embedded_mode_still_makes_its_own_random_secrets() -> None:
    first, second = Settings.from_env({}), Settings.from_env({})

    assert len(first.jwt_secret_key) >= 32
    assert first.jwt_secret_key != second.jwt_secret_key


def test_any_secret_value_a_doc_or_example_shows_would_be_refused() -> None:
    """A value someone copies from a doc or the compose file must not boot (guards new docs)."""
    example = re.compile(r"(?:SECRET_KEY|JWT_SECRET_KEY)[=:]\s*(?:\$\{[A-Z_]+:-)?([\w.-]+)")
    paths = [ROOT / "docker-compose.dev.yml", ROOT / ".env.example", ROOT / "README.md"]
    for path in [*paths, *(ROOT / "docs").glob("*.md")]:
        for value in example.findall(path.read_text()):
            assert secret_problem("SECRET_KEY", value), (path, value)
    for shipped in ("dev-secret-key-change-me", "dev-jwt-secret-key-change-me", "change-me-too"):
        assert shipped in KNOWN_DEFAULT_SECRETS  # what earlier versions showed


def test_compose_ships_no_usable_secret() -> None:
    compose = (ROOT / "docker-compose.dev.yml").read_text()

    assert "${SECRET_KEY:?" in compose
    assert "${JWT_SECRET_KEY:?" in compose


def test_the_settings_repr_and_str_show_no_secret_and_no_url_password() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://quire:db-Pa55word@db:5432/quire",
            "CELERY_BROKER_URL": "redis://:redis-Pa55word@redis:6379/0",
            "CELERY_RESULT_BACKEND": "redis://default:backend-Pa55word@redis:6379/1",
            "QUIRE_RATE_LIMIT_STORAGE_URL": "redis://:limits-Pa55word@redis:6379/2",
            "SECRET_KEY": STRONG,
            "JWT_SECRET_KEY": STRONG + "-jwt",
            "GEMINI_API_KEY": "AIzaSy-gemini-key-0123456789",
        }
    )

    for shown in (repr(settings), str(settings), f"{settings}", repr([settings])):
        for secret in ("Pa55word", STRONG, "AIzaSy-gemini"):
            assert secret not in shown
        assert "postgresql://quire:***@db:5432/quire" in shown
        assert "redis://:***@redis:6379/0" in shown
        assert "secret_key='***'" in shown


def test_the_gemini_config_repr_shows_no_api_key() -> None:
    config = gemini_config(Settings.from_env({"GEMINI_API_KEY": "AIzaSy-gemini-key-0123456789"}))
    assert config is not None

    assert "AIzaSy" not in repr(config)
    assert "AIzaSy" not in str(config)
    assert config.api_key == "AIzaSy-gemini-key-0123456789"


def test_a_token_pair_repr_shows_no_token() -> None:
    pair = TokenPair("access.jwt.value", "refresh.jwt.value", 3600)

    assert "jwt.value" not in repr(pair)


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual umask: files 0644 unless Quire says otherwise
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_quire_db_and_its_directory_are_created_owner_only(tmp_path: Path, umask_022: None) -> None:
    data_dir = tmp_path / "fresh" / "quire-data"
    app = create_app({"data_dir": data_dir, "embedded_worker": False}, env={})
    try:
        with app.app_context():
            db.session.execute(text("CREATE TABLE probe (x INTEGER)"))
            db.session.commit()
            database = data_dir / "quire.db"
            assert mode(database) == 0o600
            assert mode(data_dir) == 0o700
            wal = data_dir / "quire.db-wal"
            assert wal.exists()
            assert mode(wal) == 0o600  # SQLite copies the database file's mode
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_world_readable_quire_db_from_an_older_version_is_tightened(
    tmp_path: Path, umask_022: None
) -> None:
    database = tmp_path / "quire.db"
    sqlite3.connect(database).close()
    database.chmod(0o644)

    app = create_app({"data_dir": tmp_path, "embedded_worker": False}, env={})
    with app.app_context():
        db.engine.dispose()

    assert mode(database) == 0o600

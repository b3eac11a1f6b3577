"""Settings: one typed object read from the environment.

Embedded mode (no ``DATABASE_URL``, no broker URL) needs no set-up at all: an
SQLite file and an in-process Celery worker on an in-memory transport. Service
mode (a real broker) refuses to boot without a real secret.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

MEMORY_BROKER = "memory://localhost/"
# The variables that select service mode; embedded runs ignore them.
SERVICE_VARIABLES = frozenset(
    {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CELERY_RESULT_BACKEND", "QUIRE_BLOB_DIR"}
)


class ConfigError(RuntimeError):
    """A setting is missing or out of range; raised at boot, never later."""


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is out of range; allowed {lo}..{hi}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


@dataclass(frozen=True)
class Settings:
    """Every knob Quire reads, with its environment variable in the docs table."""

    data_dir: Path = field(default_factory=lambda: Path("quire-data").resolve())
    database_url: str = ""
    broker_url: str = MEMORY_BROKER
    result_backend: str = ""
    secret_key: str = ""
    jwt_secret_key: str = ""
    blob_dir: Path | None = None
    max_upload_mb: int = 200
    default_processor: str = "local"
    default_pages_per_chunk: int = 20
    default_overlap_pages: int = 1
    default_max_retries: int = 3
    retry_backoff_seconds: float = 2.0
    chunk_soft_time_limit: int = 240
    chunk_time_limit: int = 300
    lease_margin_seconds: int = 60
    max_attempts: int = 5
    embedded_concurrency: int = 4
    # Off in tests that want messages queued but not consumed.
    embedded_worker: bool = True
    access_token_minutes: int = 60
    refresh_token_days: int = 30

    @property
    def embedded(self) -> bool:
        """True when Quire runs its own worker in-process on a memory transport."""
        return self.broker_url.startswith("memory://")

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            # Heroku/Railway still hand out postgres://; SQLAlchemy wants a driver.
            url = self.database_url
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        return f"sqlite:///{self.data_dir / 'quire.db'}"

    @property
    def blob_root(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"

    @property
    def celery_result_backend(self) -> str:
        if self.result_backend:
            return self.result_backend
        if self.embedded:
            return "cache+memory://"
        return self.broker_url

    @property
    def lease_seconds(self) -> int:
        return self.chunk_time_limit + self.lease_margin_seconds

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the environment; fail now, with a clear message, on a bad value."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("QUIRE_DATA_DIR", "quire-data")).resolve()
        broker = env.get("CELERY_BROKER_URL") or env.get("REDIS_URL") or MEMORY_BROKER
        settings = cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL", ""),
            broker_url=broker,
            result_backend=env.get("CELERY_RESULT_BACKEND", ""),
            secret_key=env.get("SECRET_KEY", ""),
            jwt_secret_key=env.get("JWT_SECRET_KEY", ""),
            blob_dir=Path(env["QUIRE_BLOB_DIR"]).resolve() if env.get("QUIRE_BLOB_DIR") else None,
            max_upload_mb=_int(env, "QUIRE_MAX_UPLOAD_MB", 200, 1, 4096),
            default_processor=env.get("QUIRE_DEFAULT_PROCESSOR", "local"),
            default_pages_per_chunk=_int(env, "QUIRE_PAGES_PER_CHUNK", 20, 1, 500),
            default_overlap_pages=_int(env, "QUIRE_OVERLAP_PAGES", 1, 0, 10),
            default_max_retries=_int(env, "QUIRE_MAX_RETRIES", 3, 0, 10),
            retry_backoff_seconds=_float(env, "QUIRE_RETRY_BACKOFF_SECONDS", 2.0),
            chunk_soft_time_limit=_int(env, "QUIRE_CHUNK_SOFT_TIME_LIMIT", 240, 1, 3600),
            chunk_time_limit=_int(env, "QUIRE_CHUNK_TIME_LIMIT", 300, 2, 3600),
            max_attempts=_int(env, "QUIRE_MAX_ATTEMPTS", 5, 1, 50),
            embedded_concurrency=_int(env, "QUIRE_EMBEDDED_CONCURRENCY", 4, 1, 64),
            embedded_worker=env.get("QUIRE_EMBEDDED_WORKER", "1") not in ("0", "false", "no"),
            access_token_minutes=_int(env, "QUIRE_ACCESS_TOKEN_MINUTES", 60, 1, 1440),
            refresh_token_days=_int(env, "QUIRE_REFRESH_TOKEN_DAYS", 30, 1, 365),
        )
        return settings.with_secrets()

    def with_secrets(self) -> Settings:
        """Fill in throwaway secrets in embedded mode; refuse to run without them otherwise."""
        if self.secret_key and self.jwt_secret_key:
            return self
        if not self.embedded:
            missing = [
                name
                for name, value in (
                    ("SECRET_KEY", self.secret_key),
                    ("JWT_SECRET_KEY", self.jwt_secret_key),
                )
                if not value
            ]
            raise ConfigError(
                f"{', '.join(missing)} must be set in service mode (a broker URL is configured)"
            )
        return replace(
            self,
            secret_key=self.secret_key or secrets.token_hex(32),
            jwt_secret_key=self.jwt_secret_key or secrets.token_hex(32),
        )

    def override(self, overrides: Mapping[str, Any]) -> Settings:
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        return replace(self, **dict(overrides)).with_secrets()

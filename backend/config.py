"""Settings: one typed object read from the environment.

Embedded mode (no ``DATABASE_URL``, no broker URL) needs no set-up at all: an
SQLite file and an in-process Celery worker on an in-memory transport. Service
mode (a real broker) refuses to boot without a real secret.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from backend.config_secrets import REDACTED, redact_url, secret_problem
from backend.pipeline.limits import WorkLimits
from backend.pipeline.sandbox import ParseLimits

MEMORY_BROKER = "memory://localhost/"
# The variables that select service mode; embedded runs ignore them.
SERVICE_VARIABLES = frozenset(
    {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CELERY_RESULT_BACKEND", "QUIRE_BLOB_DIR"}
)

# Shown masked by ``Settings.__repr__``: secrets entirely, URLs without their password.
SECRET_FIELDS = frozenset({"secret_key", "jwt_secret_key", "gemini_api_key"})
URL_FIELDS = frozenset({"database_url", "broker_url", "result_backend", "rate_limit_storage_url"})


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


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(repr(a) for a in allowed)}")
    return value


_LANGUAGE = re.compile(r"[a-z]{3}(?:_[a-z]+)?")


def _languages(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated Tesseract language codes (``fra,eng``)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    codes = tuple(code.strip() for code in raw.split(",") if code.strip())
    bad = [code for code in codes if not _LANGUAGE.fullmatch(code)]
    if bad or not codes:
        raise ConfigError(f"{name}={raw!r}: expected Tesseract codes such as 'fra,eng'")
    return codes


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    from limits import parse_many

    value = env.get(name) or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a rate such as '30/hour'") from None
    return value


def _operations_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The operations settings (pool, logs, retention, limits) of ``Settings.from_env``."""
    return {
        "db_pool_size": _int(env, "QUIRE_DB_POOL_SIZE", 10, 1, 200),
        "db_max_overflow": _int(env, "QUIRE_DB_MAX_OVERFLOW", 20, 0, 500),
        "db_pool_timeout": _int(env, "QUIRE_DB_POOL_TIMEOUT", 30, 1, 600),
        "db_pool_recycle": _int(env, "QUIRE_DB_POOL_RECYCLE", 1800, 60, 86_400),
        "db_statement_timeout_ms": _int(env, "QUIRE_DB_STATEMENT_TIMEOUT_MS", 30_000, 0, 3_600_000),
        "slow_query_ms": _int(env, "QUIRE_SLOW_QUERY_MS", 500, 1, 600_000),
        "log_format": _choice(env, "QUIRE_LOG_FORMAT", "", ("", "json", "text")),
        "log_level": _choice(
            env, "QUIRE_LOG_LEVEL", "info", ("debug", "info", "warning", "error")
        ).upper(),
        "audit_retention_days": _int(env, "QUIRE_AUDIT_RETENTION_DAYS", 90, 30, 365),
        "blob_retention_days": _int(env, "QUIRE_BLOB_RETENTION_DAYS", 30, 0, 3650),
        "result_max_kb": _int(env, "QUIRE_RESULT_MAX_KB", 512, 16, 65_536),
        "result_warn_kb": _int(env, "QUIRE_RESULT_WARN_KB", 256, 8, 65_536),
        "snapshot_max_items": _int(env, "QUIRE_SNAPSHOT_MAX_ITEMS", 100, 10, 100_000),
        "rate_limit_uploads": _rate(env, "QUIRE_RATE_LIMIT_UPLOADS", "30/hour"),
        "rate_limit_retries": _rate(env, "QUIRE_RATE_LIMIT_RETRIES", "60/hour"),
        "rate_limit_storage_url": env.get("QUIRE_RATE_LIMIT_STORAGE_URL", ""),
        "rate_limit_login_ip": _rate(env, "QUIRE_RATE_LIMIT_LOGIN_IP", "10/minute"),
        "rate_limit_login_email": _rate(env, "QUIRE_RATE_LIMIT_LOGIN_EMAIL", "5/minute"),
        "rate_limit_register_ip": _rate(env, "QUIRE_RATE_LIMIT_REGISTER_IP", "10/hour"),
        "trusted_proxy_hops": _int(env, "QUIRE_TRUSTED_PROXY_HOPS", 0, 0, 10),
        "backup_dir": Path(env["QUIRE_BACKUP_DIR"]).resolve()
        if env.get("QUIRE_BACKUP_DIR")
        else None,
        "persist_retries": _int(env, "QUIRE_PERSIST_RETRIES", 3, 0, 10),
        "persist_backoff_seconds": _float(env, "QUIRE_PERSIST_BACKOFF_SECONDS", 0.5),
    }


def _work_limits_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Bounded work (docs/security.md): per job, per user, per request body, per stream."""
    return {
        "max_pages": _int(env, "QUIRE_MAX_PAGES", 10_000, 1, 1_000_000),
        "max_chunks": _int(env, "QUIRE_MAX_CHUNKS", 5_000, 1, 1_000_000),
        "max_amplification": _int(env, "QUIRE_MAX_AMPLIFICATION", 30, 2, 10_000),
        "max_active_jobs": _int(env, "QUIRE_MAX_ACTIVE_JOBS", 5, 0, 100_000),
        "max_queued_chunks": _int(env, "QUIRE_MAX_QUEUED_CHUNKS", 20_000, 0, 100_000_000),
        "json_max_kb": _int(env, "QUIRE_JSON_MAX_KB", 1024, 1, 65_536),
        "json_max_depth": _int(env, "QUIRE_JSON_MAX_DEPTH", 32, 2, 1000),
        "sse_max_streams_per_user": _int(env, "QUIRE_SSE_MAX_STREAMS_PER_USER", 4, 1, 10_000),
    }


def _gemini_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The Gemini processor's settings of ``Settings.from_env``."""
    return {
        "gemini_api_key": env.get("GEMINI_API_KEY", "").strip(),
        "gemini_model": env.get("QUIRE_GEMINI_MODEL", "").strip() or "gemini-3.8-flash",
        "gemini_base_url": env.get("QUIRE_GEMINI_BASE_URL", "").strip(),
        "gemini_timeout_seconds": _float(env, "QUIRE_GEMINI_TIMEOUT_SECONDS", 120.0),
        "gemini_temperature": _float(env, "QUIRE_GEMINI_TEMPERATURE", 0.2),
        "gemini_max_retry_after_seconds": _float(env, "QUIRE_GEMINI_MAX_RETRY_AFTER", 600.0),
        "gemini_rpm": _int(env, "QUIRE_GEMINI_RPM", 0, 0, 1_000_000),
        "gemini_burst": _int(env, "QUIRE_GEMINI_BURST", 1, 1, 10_000),
        "gemini_tpm": _int(env, "QUIRE_GEMINI_TPM", 0, 0, 1_000_000_000),
        "quota_resume_seconds": _int(env, "QUIRE_QUOTA_RESUME_SECONDS", 3600, 60, 86_400),
        "result_cache_ttl_seconds": _int(
            env, "QUIRE_RESULT_CACHE_TTL_SECONDS", 86_400, 0, 30 * 86_400
        ),
    }


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
    # Redis redelivers an unacknowledged message after this long (broker and
    # result backend); it must stay above the chunk hard time limit.
    visibility_timeout_seconds: int = 1800
    max_attempts: int = 5
    # Every parse of an uploaded PDF runs in a child process with these bounds
    # (backend/pipeline/sandbox.py); the timeout stays below the chunk soft limit.
    parse_timeout_seconds: float = 120.0
    parse_memory_mb: int = 1024
    parse_concurrency: int = 3
    # OCR (docs/processors.md): the Tesseract languages a job may ask for, and
    # how long one page's OCR may take inside the parse's own time limit.
    ocr_languages: tuple[str, ...] = ("fra", "eng")
    ocr_page_seconds: float = 60.0
    # An OCR'd page whose mean word confidence is below this is listed as
    # low-confidence in the result (its sentences are kept).
    ocr_min_confidence: int = 70
    # The reconciler (docs/operations.md): how often it runs, and how long a
    # pending/retry_scheduled chunk or a queued job may sit untouched before its
    # message is presumed lost and re-published.
    reconcile_interval_seconds: int = 60
    redispatch_after_seconds: int = 600
    # The Gemini processor (docs/processors.md); off while the key is empty.
    gemini_api_key: str = field(default="", repr=False)
    gemini_model: str = "gemini-3.8-flash"
    gemini_base_url: str = ""
    gemini_timeout_seconds: float = 120.0
    gemini_temperature: float = 0.2
    gemini_max_retry_after_seconds: float = 600.0
    # The fleet-wide limiter (docs/processors.md); 0 requests/min = off.
    gemini_rpm: int = 0
    gemini_burst: int = 1
    gemini_tpm: int = 0
    # A ``paused_quota`` job resumes by itself this long after the pause
    # (docs/processors.md "Quota exhausted"); the reconciler does it.
    quota_resume_seconds: int = 3600
    # The result cache's Redis layer (the broker's Redis); 0 = table only.
    result_cache_ttl_seconds: int = 86_400
    embedded_concurrency: int = 4
    # Off in tests that want messages queued but not consumed.
    embedded_worker: bool = True
    access_token_minutes: int = 60
    refresh_token_days: int = 7
    # Live progress (GET /jobs/{id}/events): open streams per process, poll and keep-alive.
    sse_max_streams: int = 100
    # ... and per user in each process (docs/security.md "Bounded work").
    sse_max_streams_per_user: int = 4
    sse_poll_seconds: float = 0.5
    sse_keepalive_seconds: float = 15.0
    # Operations (docs/operations.md): database pool, logs, retention, limits.
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_timeout: int = 30
    db_pool_recycle: int = 1800
    db_statement_timeout_ms: int = 30_000
    slow_query_ms: int = 500
    log_format: str = ""  # "json" | "text"; empty: json in service mode, text embedded
    log_level: str = "INFO"
    audit_retention_days: int = 90
    blob_retention_days: int = 30
    result_max_kb: int = 512
    result_warn_kb: int = 256
    snapshot_max_items: int = 100
    rate_limit_uploads: str = "30/hour"
    rate_limit_retries: str = "60/hour"
    rate_limit_storage_url: str = ""
    # Auth throttling (docs/security.md): login per client address (every attempt)
    # and per email (failed attempts), sign-up per client address.
    rate_limit_login_ip: str = "10/minute"
    rate_limit_login_email: str = "5/minute"
    rate_limit_register_ip: str = "10/hour"
    # Reverse proxies in front of the web process whose X-Forwarded-For is trusted
    # for the client address of the limits (0: the socket's peer address).
    trusted_proxy_hops: int = 0
    # Durable writes (backend/services/persistence.py): retries on a transient
    # database error, waiting backoff × 1, 2, 4 …, then a file backup here.
    backup_dir: Path | None = None
    persist_retries: int = 3
    persist_backoff_seconds: float = 0.5
    # Bounded work (docs/security.md): a job's pages and chunks, its chunk files
    # against its source (x), a user's unfinished jobs and queued chunks (0 = no
    # cap; operators have none), and the JSON request bodies.
    max_pages: int = 10_000
    max_chunks: int = 5_000
    max_amplification: int = 30
    max_active_jobs: int = 5
    max_queued_chunks: int = 20_000
    json_max_kb: int = 1024
    json_max_depth: int = 32

    def __repr__(self) -> str:
        """Every field, with secrets and URL passwords masked (reprs end up in logs)."""
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in SECRET_FIELDS:
                value = REDACTED if value else ""
            elif item.name in URL_FIELDS:
                value = redact_url(value)
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"

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
    def backup_root(self) -> Path:
        """Where records the database would not take wait for ``flask quire recover``."""
        return self.backup_dir or self.data_dir / "backups"

    @property
    def celery_result_backend(self) -> str:
        if self.result_backend:
            return self.result_backend
        if self.embedded:
            return "cache+memory://"
        return self.broker_url

    @property
    def effective_log_format(self) -> str:
        """JSON lines for log collectors in service mode, readable text on a terminal."""
        return self.log_format or ("text" if self.embedded else "json")

    @property
    def rate_limit_storage(self) -> str:
        """Counters shared by every web process (Redis) in service mode; memory embedded."""
        if self.rate_limit_storage_url:
            return self.rate_limit_storage_url
        return "memory://" if self.embedded else self.broker_url

    @property
    def work_limits(self) -> WorkLimits:
        """The caps of one split (the pipeline never reads settings)."""
        return WorkLimits(
            max_pages=self.max_pages,
            max_chunks=self.max_chunks,
            max_amplification=self.max_amplification,
        )

    @property
    def parse_limits(self) -> ParseLimits:
        """The bounds handed to every PDF parse (the pipeline never reads settings)."""
        return ParseLimits(
            timeout_seconds=self.parse_timeout_seconds,
            memory_mb=self.parse_memory_mb,
            max_concurrent=self.parse_concurrency,
            ocr_page_seconds=self.ocr_page_seconds,
        )

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
            lease_margin_seconds=_int(env, "QUIRE_LEASE_MARGIN_SECONDS", 60, 1, 3600),
            visibility_timeout_seconds=_int(
                env, "QUIRE_VISIBILITY_TIMEOUT_SECONDS", 1800, 1, 86_400
            ),
            max_attempts=_int(env, "QUIRE_MAX_ATTEMPTS", 5, 1, 50),
            parse_timeout_seconds=float(_int(env, "QUIRE_PARSE_TIMEOUT_SECONDS", 120, 1, 3600)),
            parse_memory_mb=_int(env, "QUIRE_PARSE_MEMORY_MB", 1024, 64, 65_536),
            parse_concurrency=_int(env, "QUIRE_PARSE_CONCURRENCY", 3, 1, 64),
            ocr_languages=_languages(env, "QUIRE_OCR_LANGUAGES", ("fra", "eng")),
            ocr_page_seconds=float(_int(env, "QUIRE_OCR_PAGE_SECONDS", 60, 1, 3600)),
            ocr_min_confidence=_int(env, "QUIRE_OCR_MIN_CONFIDENCE", 70, 0, 100),
            reconcile_interval_seconds=_int(env, "QUIRE_RECONCILE_INTERVAL_SECONDS", 60, 5, 3600),
            redispatch_after_seconds=_int(env, "QUIRE_REDISPATCH_AFTER_SECONDS", 600, 30, 86_400),
            **_gemini_from_env(env),
            embedded_concurrency=_int(env, "QUIRE_EMBEDDED_CONCURRENCY", 4, 1, 64),
            embedded_worker=env.get("QUIRE_EMBEDDED_WORKER", "1") not in ("0", "false", "no"),
            access_token_minutes=_int(env, "QUIRE_ACCESS_TOKEN_MINUTES", 60, 1, 1440),
            refresh_token_days=_int(env, "QUIRE_REFRESH_TOKEN_DAYS", 7, 1, 365),
            sse_max_streams=_int(env, "QUIRE_SSE_MAX_STREAMS", 100, 1, 10000),
            sse_poll_seconds=_float(env, "QUIRE_SSE_POLL_SECONDS", 0.5),
            sse_keepalive_seconds=_float(env, "QUIRE_SSE_KEEPALIVE_SECONDS", 15.0),
            **_operations_from_env(env),
            **_work_limits_from_env(env),
        )
        return settings.with_secrets()

    def with_secrets(self) -> Settings:
        """Fill in throwaway secrets in embedded mode; refuse weak or missing ones otherwise."""
        if not self.embedded:
            problems = [
                problem
                for name, value in (
                    ("SECRET_KEY", self.secret_key),
                    ("JWT_SECRET_KEY", self.jwt_secret_key),
                )
                if (problem := secret_problem(name, value))
            ]
            if problems:
                raise ConfigError("; ".join(problems))
            return self
        if self.secret_key and self.jwt_secret_key:
            return self
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

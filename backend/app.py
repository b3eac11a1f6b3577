"""The application factory: settings → extensions → blueprints, errors, CLI → logging.

Nothing touches the database or the broker at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from apiflask import APIFlask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from backend import __version__
from backend.api.schemas import ERROR_SCHEMA
from backend.blobstore import FileBlobStore
from backend.config import Settings
from backend.extensions import db, jwt, migrate


def create_app(
    overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> APIFlask:
    """Build the app: settings → extensions → blueprints, errors, CLI → logging.

    ``env`` replaces ``os.environ`` as the source of settings (the embedded CLI
    passes the environment without its service-mode variables).
    """
    settings = Settings.from_env(env)
    if overrides:
        settings = settings.override(overrides)
    app = APIFlask(
        __name__,
        title="Quire API",
        version=__version__,
        spec_path="/api/openapi.json",
        # /api/docs is ours (backend/web/api_docs.py): apiflask's page loads a CDN.
        docs_path=None,
    )
    _configure(app, settings)
    _register_extensions(app, settings)
    _register_api(app)
    _register_cli(app)
    _configure_logging(settings)
    return app


def _configure(app: APIFlask, settings: Settings) -> None:
    from backend.database import prepare_data_dir

    prepare_data_dir(settings)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        JWT_SECRET_KEY=settings.jwt_secret_key,
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=settings.access_token_minutes),
        JWT_REFRESH_TOKEN_EXPIRES=timedelta(days=settings.refresh_token_days),
        SQLALCHEMY_DATABASE_URI=settings.sqlalchemy_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        # Werkzeug stops reading past this (413); the blob store checks again while streaming.
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024 + 64 * 1024,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        VALIDATION_ERROR_STATUS_CODE=400,
        HTTP_ERROR_SCHEMA=ERROR_SCHEMA,
        VALIDATION_ERROR_SCHEMA=ERROR_SCHEMA,
        SECURITY_SCHEMES={
            "BearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        },
        INFO={
            "description": "Upload long PDFs, follow their chunks, retry failures, get sentences."
        },
    )
    app.extensions["quire_settings"] = settings
    app.extensions["quire_blobs"] = FileBlobStore(settings.blob_root)
    from backend.services.processors import configure_processors

    configure_processors(settings)


def _engine_options(settings: Settings) -> dict[str, Any]:
    from backend.database import engine_options

    return engine_options(settings)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _register_extensions(app: APIFlask, settings: Settings) -> None:
    from backend.celery_app import celery_init_app
    from backend.database import install_engine_hooks

    db.init_app(app)
    install_engine_hooks(app, settings)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    jwt.init_app(app)
    celery_init_app(app, settings)


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _register_api(app: APIFlask) -> None:
    import backend.models  # noqa: F401  (the tables must be known to the metadata)
    from backend.api import register_blueprints

    register_blueprints(app)
    _register_operations(app)
    from backend.web.headers import register_security_headers

    register_security_headers(app)


def _register_operations(app: APIFlask) -> None:
    """Request ids, /metrics and rate limits (after the blueprints they wrap)."""
    from backend.api import metrics
    from backend.api.ratelimit import init_rate_limits
    from backend.api.request_ids import register_request_ids
    from backend.api.request_limits import register_request_limits

    register_request_ids(app)
    register_request_limits(app)
    app.register_blueprint(metrics.bp)
    init_rate_limits(app, app.extensions["quire_settings"])


def _register_cli(app: APIFlask) -> None:
    from backend.cli.flask_commands import quire_group

    app.cli.add_command(quire_group)


def _configure_logging(settings: Settings) -> None:
    from backend.logs import configure_logging

    configure_logging(settings)

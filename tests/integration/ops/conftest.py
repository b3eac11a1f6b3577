"""Fixtures for operations tests: apps with their own settings, a closed port, our Redis."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from apiflask import APIFlask

from backend import create_app
from tests.conftest import build_app, dispose, truncate_all

REDIS = os.environ.get("QUIRE_TEST_REDIS", "redis://127.0.0.1:6379")
# Redis DB numbers of ours for these tests (e2e uses 11-14).
OPS_REDIS_DB = 9
OPS_LIMITS_DB = 10


def closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., APIFlask]]:
    """``make_app(**settings)``: a migrated app on the test database; disposed afterwards."""
    apps: list[APIFlask] = []

    def _make(**overrides: Any) -> APIFlask:
        options: dict[str, Any] = {
            "broker_url": "memory://",
            "result_backend": "cache+memory://",
            "embedded_worker": False,
        }
        options.update(overrides)
        flask_app = build_app(database_url, tmp_path / f"data{len(apps)}", **options)
        apps.append(flask_app)
        return flask_app

    yield _make
    for flask_app in apps:
        truncate_all(flask_app)
        dispose(flask_app)


@pytest.fixture
def down_app(tmp_path: Path) -> Iterator[APIFlask]:
    """An app whose database URL points at a closed port (nothing is migrated)."""
    flask_app = create_app(
        {
            "database_url": f"postgresql://postgres@127.0.0.1:{closed_port()}/quire",
            "data_dir": tmp_path / "down",
            "broker_url": "memory://",
            "result_backend": "cache+memory://",
            "embedded_worker": False,
        }
    )
    yield flask_app
    dispose(flask_app)


@pytest.fixture
def ops_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(f"{REDIS}/{OPS_REDIS_DB}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def service_overrides(broker_url: str) -> dict[str, Any]:
    """Settings of a service-mode app (Redis broker) that does not start anything itself."""
    return {
        "broker_url": broker_url,
        "result_backend": broker_url,
        "secret_key": "test-secret-0123456789abcdef0123456789",
        "jwt_secret_key": "test-jwt-secret-of-at-least-32-bytes",
        "rate_limit_storage_url": f"{REDIS}/{OPS_LIMITS_DB}",
    }


def user_headers(flask_app: APIFlask, email: str, role: str = "user") -> dict[str, str]:
    """Register a user in ``flask_app`` and return bearer headers signed by that app."""
    from flask_jwt_extended import create_access_token

    from backend.extensions import db
    from backend.services import users

    with flask_app.app_context():
        user = users.register_user(email, "correct horse battery", role=role)
        token = create_access_token(identity=str(user.id))
        db.session.remove()
    return {"Authorization": f"Bearer {token}"}

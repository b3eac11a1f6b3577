"""The CLI's remote mode under rotation: it stores the rotated refresh token, refreshes
once when the access token has expired, and ``quire logout`` revokes the session.

The session app is served on a real port (no worker: ``quire jobs`` only lists).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
import requests
from apiflask import APIFlask
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token
from werkzeug.serving import make_server

from backend.cli.main import cli

PASSWORD = "correct horse battery"


@pytest.fixture
def served(app: APIFlask, client: FlaskClient) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def quire(served: str, make_user: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("QUIRE_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("QUIRE_TOKEN", raising=False)
    monkeypatch.delenv("QUIRE_URL", raising=False)
    make_user("cli@example.com")
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    logged_in = run("login", "--url", served, "--email", "cli@example.com", "--password", PASSWORD)
    assert logged_in.exit_code == 0, logged_in.output
    return run


def stored(tmp_path: Path) -> dict[str, str]:
    credentials: dict[str, str] = json.loads((tmp_path / "credentials.json").read_text())
    return credentials


def expire_access_token(app: APIFlask, tmp_path: Path) -> dict[str, str]:
    """Replace the stored access token by an expired one of the same user."""
    credentials = stored(tmp_path)
    subject = pyjwt.decode(credentials["token"], options={"verify_signature": False})["sub"]
    with app.app_context():
        credentials["token"] = create_access_token(subject, expires_delta=timedelta(seconds=-1))
    (tmp_path / "credentials.json").write_text(json.dumps(credentials))
    return credentials


def test_login_stores_the_refresh_token_owner_only(quire: Any, tmp_path: Path) -> None:
    credentials = stored(tmp_path)

    assert credentials["refresh_token"]
    assert (tmp_path / "credentials.json").stat().st_mode & 0o777 == 0o600


def test_an_expired_access_token_is_refreshed_once_and_the_rotated_pair_stored(
    quire: Any, app: APIFlask, tmp_path: Path
) -> None:
    before = expire_access_token(app, tmp_path)

    listed = quire("jobs")

    assert listed.exit_code == 0, listed.output
    after = stored(tmp_path)
    assert after["token"] != before["token"]
    assert after["refresh_token"] != before["refresh_token"]  # the spent one is not kept
    # The next command uses the new access token directly: no second refresh (it would
    # have to spend the new refresh token, which would then differ again).
    assert quire("jobs").exit_code == 0
    assert stored(tmp_path)["refresh_token"] == after["refresh_token"]


def test_logout_revokes_the_session_and_forgets_the_tokens(
    quire: Any, served: str, tmp_path: Path
) -> None:
    credentials = stored(tmp_path)

    logged_out = quire("logout")

    assert logged_out.exit_code == 0, logged_out.output
    assert "session revoked" in logged_out.output
    assert not (tmp_path / "credentials.json").exists()
    answer = requests.post(
        f"{served}/api/v1/auth/refresh",
        headers={"Authorization": f"Bearer {credentials['refresh_token']}"},
        timeout=10,
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "TOKEN_REVOKED"


def test_logout_with_an_expired_access_token_still_revokes_the_session(
    quire: Any, app: APIFlask, served: str, tmp_path: Path
) -> None:
    credentials = expire_access_token(app, tmp_path)

    logged_out = quire("logout")

    assert logged_out.exit_code == 0, logged_out.output
    assert "session revoked" in logged_out.output
    answer = requests.post(
        f"{served}/api/v1/auth/refresh",
        headers={"Authorization": f"Bearer {credentials['refresh_token']}"},
        timeout=10,
    )
    assert answer.status_code == 401

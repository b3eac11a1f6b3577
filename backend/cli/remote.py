"""The HTTP side of the server commands: where the server is, the token, and the calls.

The server and token come from ``QUIRE_URL`` / ``QUIRE_TOKEN`` or, failing those,
from the file ``quire login`` writes (``$QUIRE_CONFIG_DIR`` or
``~/.config/quire``, ``credentials.json``, mode 600). Every API error is raised
as ``RemoteError`` with the contract's code, so commands print the same codes
the API documents.

The file also keeps the session's refresh token: when the access token has
expired (401), the next call refreshes once and stores the rotated pair, since a
refresh token is spent by its use (presenting it again would revoke the session).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import requests

from backend.cli.sse import Event, lines_of, parse_events

DEFAULT_URL = "http://127.0.0.1:5000"
# A 401 on these is the answer itself, not an expired access token.
NO_REFRESH = frozenset({"/auth/login", "/auth/refresh"})
TIMEOUT = 30.0


class RemoteError(click.ClickException):
    """An API error (or an unreachable server); click prints it and exits 1."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.status = status


def config_dir() -> Path:
    explicit = os.environ.get("QUIRE_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "quire"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def save_credentials(url: str, token: str, email: str, refresh_token: str = "") -> Path:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)  # bearer tokens: readable by their owner only
    stored = {"url": url, "token": token, "email": email, "refresh_token": refresh_token}
    path.write_text(json.dumps(stored), encoding="utf-8")
    return path


def forget_credentials() -> bool:
    """Delete the stored tokens; False if there were none."""
    try:
        credentials_path().unlink()
    except FileNotFoundError:
        return False
    return True


def load_credentials() -> dict[str, str]:
    path = config_dir() / "credentials.json"
    try:
        stored: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = {}
    return stored


@dataclass
class Remote:
    url: str
    token: str | None = field(repr=False)
    session: requests.Session
    # Set when the tokens came from the credentials file: a refresh rewrites it.
    refresh_token: str | None = field(default=None, repr=False)
    email: str = ""

    @classmethod
    def from_environment(cls, url: str | None = None, need_token: bool = True) -> Remote:
        stored = load_credentials()
        base = url or os.environ.get("QUIRE_URL") or stored.get("url") or DEFAULT_URL
        token = os.environ.get("QUIRE_TOKEN") or stored.get("token")
        if need_token and not token:
            raise click.UsageError("no token: run `quire login` or set QUIRE_TOKEN (and QUIRE_URL)")
        from_file = not os.environ.get("QUIRE_TOKEN") and token == stored.get("token")
        refresh = (stored.get("refresh_token") or None) if from_file else None
        return cls(base.rstrip("/"), token, requests.Session(), refresh, stored.get("email", ""))

    def request(self, method: str, path: str, expected: int = 200, **kwargs: Any) -> Any:
        response = self.raw(method, path, **kwargs)
        if response.status_code != expected:
            raise error_of(response)
        return response.json() if response.content else None

    def raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self._send(method, path, self.token, **kwargs)
        if response.status_code == 401 and path not in NO_REFRESH and self._refresh():
            response.close()
            response = self._send(method, path, self.token, **kwargs)
        return response

    def _send(self, method: str, path: str, token: str | None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", TIMEOUT)
        try:
            return self.session.request(
                method, f"{self.url}/api/v1{path}", headers=headers, **kwargs
            )
        except requests.ConnectionError:
            raise RemoteError("UNREACHABLE", f"no Quire server answers at {self.url}") from None

    def _refresh(self) -> bool:
        """Trade the stored refresh token for the next pair and store it; False if refused."""
        if not self.refresh_token:
            return False
        response = self._send("POST", "/auth/refresh", self.refresh_token)
        if response.status_code != 200:
            self.refresh_token = None  # spent or revoked: `quire login` again
            return False
        tokens = response.json()
        self.token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]
        save_credentials(self.url, tokens["access_token"], self.email, tokens["refresh_token"])
        return True

    def events(self, job_id: str) -> Iterator[Event]:
        """The job's SSE stream, until the server ends it."""
        response = self.raw("GET", f"/jobs/{job_id}/events", stream=True, timeout=(10, 120))
        if response.status_code != 200:
            raise error_of(response)
        with response:
            yield from parse_events(lines_of(response.iter_content(chunk_size=None)))


def error_of(response: requests.Response) -> RemoteError:
    try:
        error = response.json()["error"]
        return RemoteError(error["code"], error["message"], response.status_code)
    except (ValueError, KeyError, TypeError):
        return RemoteError(
            f"HTTP_{response.status_code}", response.text[:200], response.status_code
        )

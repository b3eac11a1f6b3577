"""The HTTP side of the server commands: where the server is, the token, and the calls.

The server and token come from ``QUIRE_URL`` / ``QUIRE_TOKEN`` or, failing those,
from the file ``quire login`` writes (``$QUIRE_CONFIG_DIR`` or
``~/.config/quire``, ``credentials.json``, mode 600). Every API error is raised
as ``RemoteError`` with the contract's code, so commands print the same codes
the API documents.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import requests

from backend.cli.sse import Event, lines_of, parse_events

DEFAULT_URL = "http://127.0.0.1:5000"
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


def save_credentials(url: str, token: str, email: str) -> Path:
    path = config_dir() / "credentials.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)  # a bearer token: readable by its owner only
    path.write_text(json.dumps({"url": url, "token": token, "email": email}), encoding="utf-8")
    return path


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
    token: str | None
    session: requests.Session

    @classmethod
    def from_environment(cls, url: str | None = None, need_token: bool = True) -> Remote:
        stored = load_credentials()
        base = url or os.environ.get("QUIRE_URL") or stored.get("url") or DEFAULT_URL
        token = os.environ.get("QUIRE_TOKEN") or stored.get("token")
        if need_token and not token:
            raise click.UsageError("no token: run `quire login` or set QUIRE_TOKEN (and QUIRE_URL)")
        return cls(base.rstrip("/"), token, requests.Session())

    def request(self, method: str, path: str, expected: int = 200, **kwargs: Any) -> Any:
        response = self.raw(method, path, **kwargs)
        if response.status_code != expected:
            raise error_of(response)
        return response.json() if response.content else None

    def raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        kwargs.setdefault("timeout", TIMEOUT)
        try:
            return self.session.request(
                method, f"{self.url}/api/v1{path}", headers=headers, **kwargs
            )
        except requests.ConnectionError:
            raise RemoteError("UNREACHABLE", f"no Quire server answers at {self.url}") from None

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

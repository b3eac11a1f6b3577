"""The server commands of ``quire`` against a live HTTP server with a real worker.

Each command runs through click's CliRunner but talks HTTP (requests) to the
e2e app served on a real port, so tokens, the SSE stream and downloads are
exercised as an operator at a terminal would.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

from backend.cli.main import cli
from tests.conftest import blank_pdf
from tests.fakes.processors import Script

pytestmark = pytest.mark.e2e


@pytest.fixture
def quire(
    live_server: str, tmp_path: Path, e2e_client: Any, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """``quire(*args) -> Result``, logged in as a fresh user (token in a private config dir)."""
    monkeypatch.setenv("QUIRE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("QUIRE_TOKEN", raising=False)
    monkeypatch.delenv("QUIRE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # tables as wide as a real terminal
    account = {"email": "cli@example.com", "password": "a long password"}
    registered = requests.post(f"{live_server}/api/v1/auth/register", json=account, timeout=10)
    assert registered.status_code == 202, registered.text
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    logged_in = run(
        "login", "--url", live_server, "--email", account["email"], "--password", "a long password"
    )
    assert logged_in.exit_code == 0, logged_in.output
    assert (tmp_path / "config" / "credentials.json").stat().st_mode & 0o777 == 0o600
    return run


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "book.pdf"
    path.write_bytes(blank_pdf(6))
    return path


def submit(quire: Any, book: Path, *extra: str) -> tuple[str, Result]:
    args = ["submit", str(book), "--processor", "scripted", "--pages-per-chunk", "2"]
    outcome = quire(*args, "--overlap", "0", "--max-retries", "0", *extra)
    return outcome.stdout.splitlines()[0].strip(), outcome


def test_operator_flow_partial_then_retry_then_csv_download(
    quire: Any, book: Path, script: Script, tmp_path: Path
) -> None:
    script.plan = {1: ["permanent"]}

    job_id, submitted = submit(quire, book, "--watch")
    assert submitted.exit_code == 3, submitted.output  # partial

    failed = quire("chunks", job_id, "--status", "failed")
    assert failed.exit_code == 0, failed.output
    assert "NO_TEXT" in failed.stdout
    assert "3-4" in failed.stdout
    assert quire("status", job_id).exit_code == 3

    partial_csv = quire("result", job_id, "--format", "csv", "-o", str(tmp_path / "partial.csv"))
    assert partial_csv.exit_code == 3
    assert "pages 3-4 are missing" in partial_csv.stderr

    retried = quire("retry", job_id, "--chunk", "1")
    assert retried.exit_code == 0, retried.output
    assert "retrying 1 chunks (1)" in retried.stdout
    watched = quire("watch", job_id)
    assert watched.exit_code == 0, watched.output
    assert "completed" in watched.stdout

    out = tmp_path / "out.csv"
    downloaded = quire("result", job_id, "--format", "csv", "-o", str(out))
    assert downloaded.exit_code == 0, downloaded.output
    as_json = quire("result", job_id, "--format", "json")
    document = json.loads(as_json.stdout)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(int(r["page"]), r["sentence"]) for r in rows] == [
        (s["page"], s["text"]) for s in document["sentences"]
    ]
    assert [r["sentence"] for r in rows] == [f"page {n}" for n in range(1, 7)]

    listed = quire("jobs")
    assert listed.exit_code == 0
    assert job_id in listed.stdout
    assert "completed" in listed.stdout


def test_cancelled_job_exits_1_from_watch(quire: Any, book: Path, script: Script) -> None:
    script.plan = {i: ["sleep:1.5"] for i in range(3)}
    job_id, submitted = submit(quire, book)
    assert submitted.exit_code == 0

    cancelled = quire("cancel", job_id)
    assert cancelled.exit_code == 0, cancelled.output

    watched = quire("watch", job_id)
    assert watched.exit_code == 1, watched.output
    assert "cancelled" in watched.stdout


def test_usage_errors_exit_2_and_api_errors_exit_1(
    quire: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = quire("status", "00000000-0000-0000-0000-000000000000")
    assert missing.exit_code == 1
    assert "NOT_FOUND" in missing.output

    assert quire("result", "any-job", "--format", "xlsx").exit_code == 2
    assert quire("retry").exit_code == 2

    monkeypatch.setenv("QUIRE_CONFIG_DIR", str(tmp_path / "nowhere"))
    no_token = quire("jobs")
    assert no_token.exit_code == 2
    assert "quire login" in no_token.output

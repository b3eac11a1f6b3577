"""``quire process``: one PDF through the real API, Celery and database, in-process.

The embedded app uses an SQLite file and an in-process worker on the memory
transport; the CLI talks to the API through Flask's test client with a token of
the local operator account, so it exercises exactly what a frontend would.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token
from flask_migrate import upgrade
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from backend import create_app
from backend.celery_app import stop_embedded_worker
from backend.config import SERVICE_VARIABLES
from backend.services.users import get_or_create_local_user

EXIT_CODES = {"completed": 0, "failed": 1, "cancelled": 1, "partial": 3}
TERMINAL = frozenset(EXIT_CODES)


class ApiError(Exception):
    pass


def _check(response: Any, expected: int) -> dict[str, Any]:
    body: dict[str, Any] = response.get_json(silent=True) or {}
    if response.status_code != expected:
        error = body.get("error", {})
        raise ApiError(f"{error.get('code', response.status_code)}: {error.get('message', body)}")
    return body


def run_embedded(
    pdf: Path,
    settings: dict[str, Any],
    out: Path,
    data_dir: Path | None = None,
    show: int = 12,
    console: Console | None = None,
) -> str:
    """Submit ``pdf``, show progress until the job ends, write the result; return the status."""
    console = console or Console()
    # Embedded means embedded: a shell's service-mode variables are ignored, so
    # this never writes into a service's database or shared blob directory.
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir.resolve()
    app = create_app(overrides, env=env)
    # The progress bar is the terminal's log; warnings and errors still show.
    logging.getLogger().setLevel(logging.WARNING)
    try:
        with app.app_context():
            upgrade(directory=str(app.extensions["migrate"].directory))
            token = create_access_token(identity=str(get_or_create_local_user().id))
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        with pdf.open("rb") as handle:
            form = {"file": (handle, pdf.name), **{k: str(v) for k, v in settings.items()}}
            response = client.post(
                "/api/v1/jobs", data=form, headers=headers, content_type="multipart/form-data"
            )
            # The test client spools a large body to a temporary file it never closes.
            response.request.environ["wsgi.input"].close()
            accepted = _check(response, 202)
        job_id = accepted["job_id"]
        console.print(f"[bold]job[/] {job_id}  {pdf.name}")
        job = _follow(client, headers, job_id, console)
        _print_summary(client, headers, job, console)
        if job["status"] in ("completed", "partial"):
            result = client.get(f"/api/v1/jobs/{job_id}/result?format=json", headers=headers)
            document = _check(result, 200)
            out.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
            _print_sentences(document, show, console)
            console.print(f"[green]wrote[/] {out} ({document['sentence_count']} sentences)")
        status: str = job["status"]
        return status
    except ApiError as exc:
        console.print(f"[red]error[/] {exc}")
        return "failed"
    finally:
        stop_embedded_worker(app)


def _follow(
    client: FlaskClient, headers: dict[str, str], job_id: str, console: Console
) -> dict[str, Any]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("queued", total=None)
        while True:
            job = _check(client.get(f"/api/v1/jobs/{job_id}", headers=headers), 200)
            counts = job["progress"]
            progress.update(
                bar,
                description=f"{job['status']:<10}",
                total=counts["total"] or None,
                completed=counts["chunks"]["success"],
            )
            if job["status"] in TERMINAL:
                return job
            time.sleep(0.1)


def _print_summary(
    client: FlaskClient, headers: dict[str, str], job: dict[str, Any], console: Console
) -> None:
    chunks = _check(
        client.get(f"/api/v1/jobs/{job['id']}/chunks?per_page=500", headers=headers), 200
    )
    colour = {"completed": "green", "partial": "yellow"}.get(job["status"], "red")
    console.print(
        f"[bold {colour}]{job['status']}[/]: {job['page_count'] or 0} pages, "
        f"{job['total_chunks']} chunks, {job['retry_count']} automatic retry rounds"
    )
    if job["total_chunks"]:
        table = Table("chunk status", "count")
        for status, count in chunks["summary"].items():
            if count:
                table.add_row(status, str(count))
        console.print(table)
    failed = [c for c in chunks["items"] if c["status"] == "failed"]
    for chunk in failed[:10]:
        console.print(
            f"  chunk {chunk['chunk_id']} pages {chunk['pages'][0]}-{chunk['pages'][1]}: "
            f"[red]{chunk['last_error_code']}[/] {chunk['last_error']}"
        )
    if job.get("error"):
        console.print(f"[yellow]{job['error']['code']}[/]: {job['error']['message']}")


def _print_sentences(document: dict[str, Any], show: int, console: Console) -> None:
    for sentence in document["sentences"][:show]:
        console.print(f"  [dim]p.{sentence['page']:>3}[/]  {sentence['text']}")

"""``quire login|logout|submit|jobs|status|chunks|retry|cancel|result|watch``: a running server.

Exit codes: 0 done (or the command did what it was asked), 1 failed (job failed or
cancelled, or an API error), 2 usage (bad arguments, no token), 3 partial.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from backend.cli.remote import Remote, RemoteError, error_of, forget_credentials, save_credentials

EXIT_CODES = {"completed": 0, "partial": 3, "failed": 1, "cancelled": 1, "deleted": 1}
TERMINAL = frozenset(EXIT_CODES)
STATUS_COLOURS = {
    "completed": "green",
    "success": "green",
    "partial": "yellow",
    "failed": "red",
    "cancelled": "bright_black",
    "retrying": "magenta",
    "retry_scheduled": "magenta",
    "processing": "cyan",
}
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)  # notes that must not mix into piped results


def coloured(status: str) -> str:
    return f"[{STATUS_COLOURS.get(status, 'white')}]{status}[/]"


def exit_for(status: str) -> None:
    """Exit with the code of a terminal status; a running job is not an error (0)."""
    sys.exit(EXIT_CODES.get(status, 0))


@click.command("login")
@click.option("--url", envvar="QUIRE_URL", default="http://127.0.0.1:5000", show_default=True)
@click.option("--email", prompt=True)
@click.option("--password", prompt=True, hide_input=True)
def login(url: str, email: str, password: str) -> None:
    """Log in to a Quire server and remember the token."""
    remote = Remote(url.rstrip("/"), None, Remote.from_environment(url, False).session)
    tokens = remote.request("POST", "/auth/login", json={"email": email, "password": password})
    path = save_credentials(remote.url, tokens["access_token"], email, tokens["refresh_token"])
    console.print(
        f"logged in to {remote.url} as {email} ({tokens['user']['role']}); token in {path}"
    )


@click.command("logout")
def logout() -> None:
    """End the session on the server (its tokens are revoked) and forget the tokens."""
    remote = Remote.from_environment()
    body = {"refresh_token": remote.refresh_token} if remote.refresh_token else {}
    try:
        remote.request("POST", "/auth/logout", expected=204, json=body)
        outcome = "session revoked"
    except RemoteError as exc:
        if exc.status != 401:
            raise
        outcome = "the session had already ended"  # expired or revoked: nothing to revoke
    forget_credentials()
    console.print(f"logged out of {remote.url} ({outcome})")


@click.command("submit")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--words", type=click.IntRange(3, 50), default=None, help="max words per sentence")
@click.option("--pages-per-chunk", type=click.IntRange(1, 500), default=None)
@click.option("--overlap", type=click.IntRange(0, 10), default=None)
@click.option("--processor", default=None)
@click.option("--max-retries", type=click.IntRange(0, 10), default=None)
@click.option(
    "--ocr",
    type=click.Choice(["auto", "off", "force"]),
    default=None,
    help="auto: OCR pages without a usable text layer; off: never; force: every page",
)
@click.option("--ocr-lang", default=None, help="Tesseract languages, e.g. fra+eng")
@click.option("--watch", "follow", is_flag=True, help="follow the job until it ends")
def submit(
    pdf: Path,
    words: int | None,
    pages_per_chunk: int | None,
    overlap: int | None,
    processor: str | None,
    max_retries: int | None,
    ocr: str | None,
    ocr_lang: str | None,
    follow: bool,
) -> None:
    """Upload PDF and start a job; prints its id."""
    remote = Remote.from_environment()
    form = {
        "words_per_sentence": words,
        "pages_per_chunk": pages_per_chunk,
        "overlap_pages": overlap,
        "processor": processor,
        "max_retries": max_retries,
        "ocr": ocr,
        "ocr_lang": ocr_lang,
    }
    with pdf.open("rb") as handle:
        accepted = remote.request(
            "POST",
            "/jobs",
            expected=202,
            files={"file": (pdf.name, handle, "application/pdf")},
            data={k: str(v) for k, v in form.items() if v is not None},
            timeout=600,
        )
    console.print(accepted["job_id"])
    if follow:
        exit_for(follow_job(remote, accepted["job_id"]))


@click.command("jobs")
@click.option("--status", default=None, help="only jobs in this status")
@click.option("--page", type=click.IntRange(1), default=1)
@click.option("--per-page", type=click.IntRange(1, 100), default=20)
def list_jobs(status: str | None, page: int, per_page: int) -> None:
    """Your jobs, newest first (operators: everyone's)."""
    params: dict[str, Any] = {"page": page, "per_page": per_page}
    if status:
        params["status"] = status
    listing = Remote.from_environment().request("GET", "/jobs", params=params)
    # Ids are copied from here: never wrapped.
    table = Table(Column("job", no_wrap=True), "file", "status", "progress", "chunks", "created")
    for job in listing["items"]:
        progress = job["progress"]
        table.add_row(
            job["id"],
            job["filename"],
            coloured(job["status"]),
            f"{progress['percent']:.0f} %",
            f"{progress['done']}/{progress['total']}",
            str(job["created_at"])[:19].replace("T", " "),
        )
    console.print(table)
    pages = listing["pagination"]
    console.print(f"page {pages['page']} of {max(pages['pages'], 1)}, {pages['total']} jobs")


@click.command("status")
@click.argument("job_id")
def status(job_id: str) -> None:
    """One job: status, step, progress, rounds, error. Exit code follows the status."""
    job = Remote.from_environment().request("GET", f"/jobs/{job_id}")
    progress = job["progress"]
    console.print(f"[bold]{job['filename']}[/]  {job['id']}")
    console.print(f"status   {coloured(job['status'])}  ({job['step']})")
    console.print(
        f"progress {progress['percent']:.0f} %  {progress['done']}/{progress['total']} chunks  "
        + "  ".join(f"{k} {v}" for k, v in progress["chunks"].items() if v)
    )
    console.print(
        f"pages    {job['page_count'] or '?'}   round {job['round']}   "
        f"automatic retries {job['retry_count']}/{job['max_retries']}"
    )
    if job["error"]:
        console.print(f"error    [red]{job['error']['code']}[/] {job['error']['message']}")
    exit_for(job["status"])


@click.command("chunks")
@click.argument("job_id")
@click.option("--status", "chunk_status", default=None, help="e.g. failed")
def chunks(job_id: str, chunk_status: str | None) -> None:
    """A job's chunks: pages, status, attempts, last error."""
    remote = Remote.from_environment()
    table = Table("chunk", "pages", "status", "attempts", "error")
    page, summary = 1, {}
    while True:
        params: dict[str, Any] = {"page": page, "per_page": 100}
        if chunk_status:
            params["status"] = chunk_status
        listing = remote.request("GET", f"/jobs/{job_id}/chunks", params=params)
        summary = listing["summary"]
        for chunk in listing["items"]:
            error = (
                f"{chunk['last_error_code']}: {chunk['last_error']}"
                if chunk["last_error_code"]
                else ""
            )
            first, last = chunk["pages"]
            table.add_row(
                str(chunk["chunk_id"]),
                f"{first}-{last}",
                coloured(chunk["status"]),
                str(chunk["attempts"]),
                error,
            )
        if page >= listing["pagination"]["pages"]:
            break
        page += 1
    console.print(table)
    console.print("  ".join(f"{k} {v}" for k, v in summary.items() if v) or "no chunks")


@click.command("retry")
@click.argument("job_id")
@click.option("--chunk", "chunk_ids", type=int, multiple=True, help="chunk id (repeatable)")
@click.option("--force", is_flag=True, help="also re-run chunks that succeeded")
def retry(job_id: str, chunk_ids: tuple[int, ...], force: bool) -> None:
    """Retry failed chunks (all, or the ones named)."""
    body: dict[str, Any] = {"force": force}
    if chunk_ids:
        body["chunk_ids"] = list(chunk_ids)
    answer = Remote.from_environment().request(
        "POST", f"/jobs/{job_id}/chunks/retry", expected=202, json=body
    )
    console.print(
        f"retrying {answer['retried_count']} chunks ({', '.join(map(str, answer['chunk_ids']))}), "
        f"round {answer['round']}"
    )


@click.command("cancel")
@click.argument("job_id")
def cancel(job_id: str) -> None:
    """Cancel a job: no processor call starts after this returns."""
    answer = Remote.from_environment().request("POST", f"/jobs/{job_id}/cancel", expected=202)
    console.print(f"{job_id}: {coloured(answer['status'])}")


@click.command("result")
@click.argument("job_id")
@click.option("--format", "fmt", type=click.Choice(["json", "txt", "csv", "xlsx"]), default="json")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def result(job_id: str, fmt: str, output: Path | None) -> None:
    """Download the result (stdout unless -o). Exit 3 when pages are missing."""
    if fmt == "xlsx" and output is None:
        raise click.UsageError("xlsx is binary: give -o FILE")
    response = Remote.from_environment().raw(
        "GET", f"/jobs/{job_id}/result", params={"format": fmt}
    )
    if response.status_code != 200:
        raise error_of(response)
    if output is None:
        click.echo(response.content.decode("utf-8"), nl=False)
    else:
        output.write_bytes(response.content)
        errors.print(f"wrote {output} ({len(response.content)} bytes)")
    missing = response.headers.get("X-Quire-Missing-Pages")
    if missing:
        errors.print(f"[yellow]partial result: pages {missing} are missing[/]")
        sys.exit(3)


@click.command("watch")
@click.argument("job_id")
def watch(job_id: str) -> None:
    """Follow a job live (Server-Sent Events) until it ends; exit code follows the status."""
    exit_for(follow_job(Remote.from_environment(), job_id))


def follow_job(remote: Remote, job_id: str) -> str:
    """Show a progress bar fed by the job's event stream; return the final status."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks  {task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    final = "unknown"
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("connecting", total=None, detail="")
        for event in remote.events(job_id):
            snapshot = event.json()
            if event.event == "end":
                final = snapshot["status"]
                break
            if event.event != "progress" or "progress" not in snapshot:
                continue
            counts = snapshot["progress"]
            eta = snapshot.get("eta_seconds")
            progress.update(
                bar,
                description=f"{snapshot['status']:<10}",
                total=counts["total"] or None,
                completed=counts["done"],
                detail=f"failed {counts['chunks']['failed']}"
                + (f"  eta {eta:.0f}s" if eta else ""),
            )
    if final == "unknown":
        raise RemoteError("STREAM_CLOSED", "the event stream closed before the job ended")
    console.print(f"{job_id}: {coloured(final)}")
    return final


SERVER_COMMANDS = (login, logout, submit, list_jobs, status, chunks, retry, cancel, result, watch)

"""Scenario 4: peak memory of the web process for a small and a large upload.

The web process runs as in production (the Procfile's gunicorn, one worker,
threads), a fresh one per measured upload so that each has its own high-water
mark. Each first takes a one-page upload (imports, pools and caches warm), then
the measured upload, streamed by the client in 1 MiB pieces as multipart/form-data.
The worker's peak RSS is ``VmHWM`` from ``/proc``. Quire streams the body to the
blob store in 8 KiB pieces, so a 200 MB upload should cost what a 1 MB one does.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.infra import BIN, free_port, spawn, stop_process_group
from bench.report import Row, Section

TARGET = 1.2
SMALL_MB, LARGE_MB = 1, 200
PIECE = 1 << 20
BOUNDARY = "quire-bench-" + secrets.token_hex(8)


def padded_pdf(path: Path, megabytes: int) -> Path:
    """A valid one-page PDF of about ``megabytes`` MB: an unused stream of random bytes.

    Random bytes do not compress, so no layer can shrink the upload on the way.
    """
    if path.exists():
        return path
    size = megabytes * 1_000_000
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
        offsets.append(out.tell())
        out.write(b"4 0 obj\n<< /Length %d >>\nstream\n" % size)
        left = size
        while left:
            piece = os.urandom(min(PIECE, left))
            out.write(piece)
            left -= len(piece)
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 5\n0000000000 65535 f \n")
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
        out.write(b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    tmp.replace(path)
    return path


def _multipart(path: Path) -> tuple[Iterator[bytes], int]:
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="bench.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def pieces() -> Iterator[bytes]:
        yield head
        with path.open("rb") as source:
            while piece := source.read(PIECE):
                yield piece
        yield tail

    return pieces(), len(head) + path.stat().st_size + len(tail)


def _request(
    port: int, method: str, url: str, body: Any, headers: dict[str, str]
) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request(method, url, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
    finally:
        conn.close()
    if response.status >= 300:
        raise RuntimeError(f"{method} {url}: {response.status} {payload[:300]!r}")
    answer: dict[str, Any] = json.loads(payload)
    return answer


def _upload(port: int, token: str, path: Path) -> str:
    body, length = _multipart(path)
    answer = _request(
        port,
        "POST",
        "/api/v1/jobs",
        body,
        {
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(length),
        },
    )
    return str(answer["job_id"])


def _worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise RuntimeError("gunicorn started no worker")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


@contextmanager
def web_process(ctx: Context) -> Iterator[tuple[int, int]]:
    """The Procfile's web command (one worker, 4 threads); yields (port, worker pid)."""
    port = free_port()
    log_path = ctx.services.data_dir / f"web-{port}.log"
    metrics_dir = ctx.services.data_dir / f"metrics-{port}"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    env = ctx.services.env(
        QUIRE_MAX_UPLOAD_MB=str(LARGE_MB + 50), PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)
    )
    command = [
        str(BIN / "gunicorn"),
        "backend:create_app()",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "4",
        "--timeout",
        "300",
    ]
    with log_path.open("w") as log_file:
        proc = spawn(command, env, log_file)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    _request(port, "GET", "/health", None, {})
                    break
                except (OSError, RuntimeError):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"gunicorn did not start:\n{log_path.read_text()[-2000:]}"
                        ) from None
                    time.sleep(0.1)
            yield port, _worker_pid(proc.pid)
        finally:
            stop_process_group(proc)


def _measure(ctx: Context, path: Path, warmup: Path) -> tuple[float, float]:
    """(peak RSS in MiB after the upload, upload seconds) in a fresh web process."""
    with web_process(ctx) as (port, pid):
        email = f"upload-{secrets.token_hex(4)}@example.com"
        credentials = json.dumps({"email": email, "password": "correct horse battery"})
        json_body = {"Content-Type": "application/json"}
        # Register answers 202 without tokens: the client logs in next.
        _request(port, "POST", "/api/v1/auth/register", credentials, json_body)
        token = _request(port, "POST", "/api/v1/auth/login", credentials, json_body)["access_token"]
        _upload(port, token, warmup)
        started = time.perf_counter()
        _upload(port, token, path)
        elapsed = time.perf_counter() - started
        return peak_rss_mib(pid), elapsed


def run(ctx: Context) -> Section:
    small = padded_pdf(ctx.cache_dir / f"padded-{SMALL_MB}mb.pdf", SMALL_MB)
    large = padded_pdf(ctx.cache_dir / f"padded-{LARGE_MB}mb.pdf", LARGE_MB)
    warmup = padded_pdf(ctx.cache_dir / "padded-0mb.pdf", 0)
    section = Section(
        title="4. Upload memory",
        method=(
            "The Procfile's gunicorn (1 worker, 4 threads), a fresh process per measured "
            "upload: a warm-up upload, then the measured one, streamed by the client in "
            "1 MiB pieces (multipart/form-data). Peak RSS is the worker's `VmHWM`."
        ),
        baseline=f"Baseline: the same process shape after a {SMALL_MB} MB upload.",
    )
    small_peak, small_time = _measure(ctx, small, warmup)
    large_peak, large_time = _measure(ctx, large, warmup)
    ctx.progress(
        f"upload peak RSS: {SMALL_MB} MB → {small_peak:.1f} MiB ({small_time:.2f}s), "
        f"{LARGE_MB} MB → {large_peak:.1f} MiB ({large_time:.2f}s)"
    )
    section.rows.append(
        Row(
            f"{LARGE_MB} MB vs {SMALL_MB} MB upload: web worker peak RSS",
            f"{large_peak:.1f} MiB",
            f"{small_peak:.1f} MiB",
            large_peak / small_peak,
            TARGET,
        )
    )
    section.notes.append(
        f"The {LARGE_MB} MB upload took {large_time:.1f} s end to end on loopback "
        f"({LARGE_MB / large_time:.0f} MB/s: request parsing, SHA-256, fsync'd blob write)."
    )
    return section

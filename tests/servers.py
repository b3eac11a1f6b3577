"""Services that tests own: a redis-server, a PostgreSQL cluster, Celery and Flask
subprocesses, each on a free port and each in its own process group, so that a
test can kill, flush or restart them and a finalizer can leave no orphan behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKER_QUEUES = "split,chunks,finalize,maintenance"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: object, timeout: float, what: str, interval: float = 0.05) -> None:
    """Call ``check()`` until it is truthy (exceptions count as not yet)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if check():  # type: ignore[operator]
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout}s")
        time.sleep(interval)


def wait_for_http(
    url: str, log_path: Path, procs: Sequence[subprocess.Popen[bytes]] = (), timeout: float = 60
) -> None:
    """Until ``GET url`` answers 200 (a server still importing counts as not yet).

    A process of ``procs`` that exits, or the timeout, fails with the log's tail.
    """
    import requests

    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=5).status_code == 200:
                return
        dead = [p.args for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
            raise AssertionError(f"{url} not ready ({'exited: ' if dead else ''}{dead}):\n{tail}")
        time.sleep(0.1)


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Signal the process group that ``proc`` leads (it was started in a new session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM the group, wait, then SIGKILL whatever is left of it."""
    if proc.poll() is None:
        kill_group(proc, signal.SIGCONT)  # a frozen (SIGSTOP) group would ignore SIGTERM
        kill_group(proc, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    # Children (pool processes) may outlive a leader that already exited.
    kill_group(proc, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


class RedisServer:
    """A private redis-server on a free port that a test may flush, stop and start again."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (our own fixed command)
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = self.client()
        try:
            wait_until(client.ping, 10, f"redis-server on {self.port}")
        finally:
            client.close()

    def flushall(self) -> None:
        client = self.client()
        try:
            client.flushall()
        finally:
            client.close()

    def stop(self) -> None:
        """Stop at once (SIGKILL): what a crash or an OOM kill does to Redis."""
        if self.process is not None:
            kill_group(self.process)
            self.process.wait(10)
            self.process = None


class PostgresCluster:
    """A private PostgreSQL cluster (initdb + pg_ctl) on a free port, trust auth.

    initdb refuses to run as root: as root, the cluster belongs to the
    ``postgres`` OS user and every pg_ctl command runs as that user.
    """

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.datadir = workdir / "pgdata"
        self.logfile = workdir / "postgres.log"
        self.bindir = self._find_bindir()

    @staticmethod
    def _find_bindir() -> Path:
        for candidate in (Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin")):
            if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
                return candidate
        found = shutil.which("initdb")
        if found is None:
            raise RuntimeError("initdb not found")
        return Path(found).parent

    @staticmethod
    def available() -> bool:
        return shutil.which("initdb") is not None or Path("/usr/lib/postgresql/15/bin").exists()

    def _run(self, *args: str) -> None:
        # pg_ctl's start and stop wait (-w) for the server, at most 60 s.
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.workdir)  # noqa: S603

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.datadir), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    def start(self) -> None:
        # fsync=off: fast, and safe against what the tests do (a postmaster crash,
        # not an OS crash: written WAL survives in the page cache). Never
        # synchronous_commit=off: a crash would then lose commits already reported.
        options = (
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.logfile),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """``fast`` shuts down cleanly; ``immediate`` is a crash (recovery on next start)."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.url(name)


def celery_worker_command(
    concurrency: int = 2, queues: str = WORKER_QUEUES, extra: Sequence[str] = ()
) -> list[str]:
    """``celery -A celery_worker worker`` as the Procfile runs it (prefork pool)."""
    return [
        str(BIN / "celery"),
        "-A",
        "celery_worker",
        "worker",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
        "-l",
        "INFO",
        *extra,
    ]


def flask_command(*args: str) -> list[str]:
    return [str(BIN / "flask"), "--app", "backend:create_app", *args]


def spawn(
    command: Sequence[str], env: Mapping[str, str], log: IO[bytes]
) -> subprocess.Popen[bytes]:
    """Start ``command`` in the repository, in a new session (its own process group)."""
    return subprocess.Popen(  # noqa: S603 (our own commands)
        list(command),
        cwd=ROOT,
        env=dict(env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

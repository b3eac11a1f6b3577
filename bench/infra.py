"""The bench's own services: a private redis-server, its own Postgres databases
(``quire_bench*``), and Celery worker processes started as production starts them.

Nothing here touches Redis on 6379 or the test databases.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis
from celery import Celery

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_HOST = os.environ.get("QUIRE_BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("QUIRE_BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("QUIRE_BENCH_PG_USER", "postgres")
# Two people benchmarking on one Postgres give each run its own name (quire_bench_*).
BENCH_DB = os.environ.get("QUIRE_BENCH_DB", "quire_bench")
PROFILE_ENV = "QUIRE_BENCH_PROFILE"

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pg_url(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def recreate_database(name: str) -> str:
    """Drop and create one of the bench's own databases; returns its URL."""
    if not name.startswith("quire_bench"):
        raise ValueError(f"the bench only owns databases named quire_bench*: {name}")
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def drop_database(name: str) -> None:
    if not name.startswith("quire_bench"):
        raise ValueError(f"the bench only owns databases named quire_bench*: {name}")
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A private, non-persistent redis-server on a free port; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=(workdir / "redis.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass(frozen=True)
class Services:
    """Where the bench's processes find their database, broker and files."""

    database_url: str
    redis_url: str
    data_dir: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": f"{self.redis_url}/0",
            "CELERY_RESULT_BACKEND": f"{self.redis_url}/1",
            "SECRET_KEY": "bench-secret-0123456789abcdef0123456789",
            "JWT_SECRET_KEY": "bench-jwt-secret-0123456789abcdef0123456789",
            "QUIRE_DATA_DIR": str(self.data_dir),
            "QUIRE_MAX_RETRIES": "0",
            # The bench uploads and retries more often than a user would.
            "QUIRE_RATE_LIMIT_UPLOADS": "10000/hour",
            "QUIRE_RATE_LIMIT_RETRIES": "10000/hour",
            **extra,
        }

    def flush_redis(self) -> None:
        for number in (0, 1):
            redis.Redis.from_url(f"{self.redis_url}/{number}").flushdb()


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid


def _wait_ready(control_app: Celery, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while not control_app.control.ping(timeout=0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start:\n{log_path.read_text()[-3000:]}")


def spawn(command: list[str], env: dict[str, str], log_file: Any) -> subprocess.Popen[bytes]:
    """``command`` in the repository, output to ``log_file``, in its own process group."""
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@contextmanager
def celery_worker(
    services: Services,
    module: str,
    control_app: Celery,
    pool: str,
    concurrency: int,
    name: str,
    **extra_env: str,
) -> Iterator[Worker]:
    """``celery -A MODULE worker -P POOL -c C -Q chunks,finalize`` until the block ends."""
    log_path = services.data_dir / f"worker-{name}.log"
    if pool == "threads":
        # As docs/deploy.md says to run one: a pool no smaller than the
        # concurrency (the worker warns otherwise; backend/celery_app.py).
        extra_env = {"QUIRE_DB_POOL_SIZE": str(max(10, concurrency)), **extra_env}
    command = [
        str(BIN / "celery"),
        "-A",
        module,
        "worker",
        "-P",
        pool,
        "-c",
        str(concurrency),
        "-Q",
        "chunks,finalize",
        "-n",
        f"{name}@%h",
        "-l",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
    ]
    with log_path.open("w") as log_file:
        proc = spawn(command, services.env(**extra_env), log_file)
        profiler = None
        try:
            _wait_ready(control_app, proc, log_path)
            profiler = _start_profiler(proc.pid, services.data_dir, name)
            yield Worker(proc, log_path)
        finally:
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=60)
            stop_process_group(proc)


def _start_profiler(pid: int, data_dir: Path, name: str) -> subprocess.Popen[bytes] | None:
    """With ``QUIRE_BENCH_PROFILE=DIR``, sample the worker (and its children) with py-spy.

    Writes collapsed stacks (``DIR/NAME.txt``, one ``stack count`` a line) for
    ``bench/profile_top.py`` or any flame-graph tool.
    """
    out_dir = os.environ.get(PROFILE_ENV)
    if not out_dir:
        return None
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            str(BIN / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--format",
            "raw",
            "--rate",
            "200",
            "--output",
            str(Path(out_dir) / f"{name}.txt"),
        ],
        stdout=(data_dir / f"py-spy-{name}.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def stop_process_group(proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """Warm shutdown (SIGTERM); the group we started is killed if it lingers."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def dispose(flask_app: Any) -> None:
    """Close the driver app's pooled connections before its database is dropped."""
    from backend.extensions import db

    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()

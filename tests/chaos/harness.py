"""The chaos harness: one scenario's database, Redis, workers, API and invariants.

The API runs in the test process (Flask test client, service mode on the chaos
Redis and Postgres); workers are real ``celery -A celery_worker worker``
subprocesses (prefork) with the chaos processor loaded; the reconciler is called
directly, about once a second while a test waits, as Celery beat would.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
from apiflask import APIFlask
from flask.testing import FlaskClient
from psycopg.rows import dict_row

from backend import create_app
from backend.services.reconcile import ReconcileReport, reconcile
from tests.chaos import processor
from tests.conftest import dispose, upload
from tests.servers import (
    PostgresCluster,
    RedisServer,
    celery_worker_command,
    spawn,
    stop_group,
)

TEMPLATE_DB = "chaos_template"
TERMINAL_JOB = {"completed", "partial", "failed", "cancelled"}
TERMINAL_CHUNK = {"success", "failed", "cancelled"}
# Short limits so that a lost worker's lease expires in seconds (lease = hard + margin).
SOFT_LIMIT, HARD_LIMIT, LEASE_MARGIN = 4, 5, 1
REDISPATCH_AFTER = 2
MAX_ATTEMPTS = 3
RECONCILE_EVERY = 1.0

# Test instrumentation, installed in the template database only: every committed
# change of a job's status or finalize round, and of a chunk's status, as a row.
# A rolled-back finalize leaves none, so "finalize committed once" is countable.
INSTRUMENT_SQL = """
CREATE TABLE chaos_job_events (
    id bigserial PRIMARY KEY, job_id text, old_status text, new_status text,
    old_finalized int, new_finalized int, round int, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION chaos_job_event() RETURNS trigger AS $$ BEGIN
    INSERT INTO chaos_job_events (job_id, old_status, new_status, old_finalized,
                                  new_finalized, round)
    VALUES (NEW.id, OLD.status, NEW.status, OLD.finalized_round, NEW.finalized_round, NEW.round);
    RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER chaos_job_events AFTER UPDATE ON jobs FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.finalized_round IS DISTINCT FROM NEW.finalized_round)
    EXECUTE FUNCTION chaos_job_event();
CREATE TABLE chaos_chunk_events (
    id bigserial PRIMARY KEY, chunk_pk int, job_id text, chunk_id int, old_status text,
    new_status text, old_attempts int, attempts int,
    at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION chaos_chunk_event() RETURNS trigger AS $$ BEGIN
    INSERT INTO chaos_chunk_events (chunk_pk, job_id, chunk_id, old_status, new_status,
                                    old_attempts, attempts)
    VALUES (NEW.id, NEW.job_id, NEW.chunk_id, OLD.status, NEW.status, OLD.attempts,
            NEW.attempts);
    RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER chaos_chunk_events AFTER UPDATE ON job_chunks FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.attempts IS DISTINCT FROM NEW.attempts)
    EXECUTE FUNCTION chaos_chunk_event();
"""


def prepare_template(cluster: PostgresCluster, workdir: Path) -> None:
    """Migrate the template database once; each scenario copies it (fast)."""
    url = cluster.create_database(TEMPLATE_DB)
    app = create_app(
        {
            "database_url": url,
            "data_dir": workdir,
            "broker_url": "memory://",
            "result_backend": "cache+memory://",
            "embedded_worker": False,
        }
    )
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(app.extensions["migrate"].directory))
    dispose(app)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(INSTRUMENT_SQL)


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def children(self) -> list[int]:
        """The pool processes (direct children of the main process)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                # Field 4 (after the parenthesised command) is the parent pid.
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    found.append(int(entry.name))
        return found

    def freeze(self) -> None:
        """SIGSTOP the main process and its pool: a paused VM, a long GC or swap storm."""
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def thaw(self, pid: int | None = None) -> None:
        """SIGCONT the whole group, or only ``pid`` (a pool child whose parent, left
        frozen, cannot enforce the time limits that would kill it on waking)."""
        if pid is None:
            os.killpg(self.proc.pid, signal.SIGCONT)
        else:
            os.kill(pid, signal.SIGCONT)

    def kill_main(self) -> None:
        """SIGKILL the main process only: its pool children are orphaned, as in a crash."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        stop_group(self.proc)
        self.log.close()

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")


_counter = itertools.count()


@dataclass
class Chaos:
    """One scenario: a fresh database copied from the template, a flushed Redis."""

    pg: PostgresCluster
    redis: RedisServer
    tmp: Path
    worker_env: dict[str, str] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)
    reports: list[ReconcileReport] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db_name = f"chaos_{os.getpid()}_{next(_counter)}"
        self.db_url = self.pg.create_database(self.db_name, template=TEMPLATE_DB)
        self.redis.flushall()
        self.data_dir = self.tmp / "data"
        self.calls_path = self.tmp / "calls.jsonl"
        self.script_path = self.tmp / "script.json"
        self.script({"delay": 0.15})
        self.app: APIFlask = create_app(
            {
                "database_url": self.db_url,
                "data_dir": self.data_dir,
                "broker_url": f"{self.redis.url}/0",
                "result_backend": f"{self.redis.url}/1",
                "secret_key": "chaos-secret-0123456789abcdef0123456789",
                "jwt_secret_key": "chaos-jwt-secret-0123456789abcdef0123",
                "embedded_worker": False,
                "redispatch_after_seconds": REDISPATCH_AFTER,
                "retry_backoff_seconds": 0.2,
                "chunk_soft_time_limit": SOFT_LIMIT,
                "chunk_time_limit": HARD_LIMIT,
                "lease_margin_seconds": LEASE_MARGIN,
                "max_attempts": MAX_ATTEMPTS,
            }
        )
        self.client: FlaskClient = self.app.test_client()
        account = {"email": "chaos@example.com", "password": "long pw 123"}
        registered = self.client.post("/api/v1/auth/register", json=account)
        assert registered.status_code == 202, registered.get_json()
        response = self.client.post("/api/v1/auth/login", json=account)
        assert response.status_code == 200, response.get_json()
        self.headers = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
        self._last_reconcile = 0.0

    # -- services -------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "CELERY_BROKER_URL": f"{self.redis.url}/0",
            "CELERY_RESULT_BACKEND": f"{self.redis.url}/1",
            "SECRET_KEY": "chaos-secret-0123456789abcdef0123456789",
            "JWT_SECRET_KEY": "chaos-jwt-secret-0123456789abcdef0123",
            "QUIRE_DATA_DIR": str(self.data_dir),
            "QUIRE_CHUNK_SOFT_TIME_LIMIT": str(SOFT_LIMIT),
            "QUIRE_CHUNK_TIME_LIMIT": str(HARD_LIMIT),
            "QUIRE_LEASE_MARGIN_SECONDS": str(LEASE_MARGIN),
            "QUIRE_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "QUIRE_RETRY_BACKOFF_SECONDS": "0.2",
            "QUIRE_LOG_FORMAT": "text",
            processor.SCRIPT_ENV: str(self.script_path),
            processor.CALLS_ENV: str(self.calls_path),
            **self.worker_env,
            **extra,
        }

    def start_worker(
        self, concurrency: int = 2, include: str = "tests.chaos.processor", **env: str
    ) -> Worker:
        log_path = self.tmp / f"worker-{len(self.workers)}.log"
        log = log_path.open("wb")
        command = celery_worker_command(concurrency, extra=["-I", include])
        worker = Worker(spawn(command, self.env(**env), log), log_path, log)
        self.workers.append(worker)
        return worker

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        dispose(self.app)

    def script(self, data: dict[str, Any]) -> None:
        """Replace the chaos processor's script (read again at every call)."""
        tmp = self.script_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.script_path)

    # -- API and rows ---------------------------------------------------------

    def upload(self, pages: int, per_chunk: int = 1, tag: int = 1, **form: Any) -> str:
        response = upload(
            self.client,
            self.headers,
            processor.tagged_pdf(pages, tag),
            processor="chaos",
            pages_per_chunk=per_chunk,
            overlap_pages=0,
            **form,
        )
        assert response.status_code == 202, response.get_json()
        job_id: str = response.get_json()["job_id"]
        return job_id

    @contextlib.contextmanager
    def sql(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        with psycopg.connect(self.db_url, autocommit=True, row_factory=dict_row) as conn:
            yield conn

    def job(self, job_id: str) -> dict[str, Any]:
        with self.sql() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = %s", (job_id,)).fetchone()
        assert row is not None
        return row

    def chunks(self, job_id: str) -> list[dict[str, Any]]:
        with self.sql() as conn:
            return conn.execute(
                "SELECT * FROM job_chunks WHERE job_id = %s ORDER BY chunk_id", (job_id,)
            ).fetchall()

    def counts(self, job_id: str) -> Counter[str]:
        return Counter(c["status"] for c in self.chunks(job_id))

    def calls(self, tag: int | None = None) -> list[dict[str, Any]]:
        found = processor.read_calls(self.calls_path)
        return [c for c in found if tag is None or c["tag"] == tag]

    def claims(self, job_id: str) -> Counter[int]:
        """Committed claims (``attempts`` increments) per chunk index."""
        with self.sql() as conn:
            rows = conn.execute(
                "SELECT chunk_id, count(*) AS n FROM chaos_chunk_events WHERE job_id = %s"
                " AND attempts > old_attempts GROUP BY chunk_id",
                (job_id,),
            ).fetchall()
        return Counter({row["chunk_id"]: row["n"] for row in rows})

    def reconcile(self) -> ReconcileReport:
        with self.app.app_context():
            report = reconcile()
        self.reports.append(report)
        return report

    def repaired(self, kind: str) -> set[Any]:
        """Every id the reconciler repaired as ``kind`` (a ReconcileReport field) so far."""
        return {value for report in self.reports for value in getattr(report, kind)}

    # -- waiting --------------------------------------------------------------

    def wait(
        self,
        check: Callable[[], bool],
        what: str,
        timeout: float = 60.0,
        job_id: str | None = None,
        reconciler: bool = True,
    ) -> None:
        """Poll ``check`` (running the reconciler about once a second, like beat)."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not reached in {timeout}s\n{self.diagnose(job_id)}")
            if reconciler and time.monotonic() - self._last_reconcile >= RECONCILE_EVERY:
                self._last_reconcile = time.monotonic()
                with contextlib.suppress(Exception):
                    self.reconcile()
            time.sleep(0.1)

    def wait_done(self, job_id: str, at_least: int, timeout: float = 60.0) -> None:
        """Until ``at_least`` chunks are finished (a point "mid-job" to strike at)."""
        self.wait(
            lambda: (
                sum(n for s, n in self.counts(job_id).items() if s in TERMINAL_CHUNK) >= at_least
            ),
            f"{at_least} chunks finished",
            timeout,
            job_id,
            reconciler=False,
        )

    def wait_terminal(self, job_id: str, timeout: float = 90.0) -> dict[str, Any]:
        self.wait(
            lambda: self.job(job_id)["status"] in TERMINAL_JOB, "a terminal job", timeout, job_id
        )
        return self.job(job_id)

    def diagnose(self, job_id: str | None) -> str:
        lines = []
        if job_id is not None:
            job = self.job(job_id)
            lines.append(f"job {job['status']} round {job['round']} step {job['step']}")
            lines.append(f"chunks {dict(self.counts(job_id))}")
        for n, worker in enumerate(self.workers):
            lines.append(f"--- worker {n} (exit {worker.proc.poll()}) ---")
            lines.extend(worker.text().splitlines()[-25:])
        return "\n".join(lines)

    # -- the invariants of every scenario --------------------------------------

    def assert_settled(
        self,
        job_id: str,
        status: str,
        failed: dict[int, str] | None = None,
        tag: int = 1,
    ) -> dict[str, Any]:
        """Every chunk terminal, the job ``status``, finalize committed once per round,
        processor calls per chunk ≤ its attempts, and (with a result) every owned page
        of a successful chunk exactly once, every other page reported missing.

        ``failed`` maps chunk index → error code of the chunks expected failed
        (None: do not check which). Returns the result document, if any.
        """
        job = self.job(job_id)
        chunks = self.chunks(job_id)
        assert job["status"] == status, self.diagnose(job_id)
        assert chunks, "the job has no chunks"
        assert {c["status"] for c in chunks} <= TERMINAL_CHUNK, self.diagnose(job_id)
        if failed is not None:
            got = {c["chunk_id"]: c["last_error_code"] for c in chunks if c["status"] == "failed"}
            assert got == failed, self.diagnose(job_id)

        with self.sql() as conn:
            events = conn.execute(
                "SELECT * FROM chaos_job_events WHERE job_id = %s ORDER BY id", (job_id,)
            ).fetchall()
        taken = Counter(
            e["new_finalized"] for e in events if e["new_finalized"] > e["old_finalized"]
        )
        # Finalize commits at most once per round, and once for the last round.
        # (A round a manual retry superseded before it ended is finalized with
        # the next one: its number is never taken, which is no double finalize.)
        assert set(taken.values()) == {1}, ("a round finalized twice", events)
        assert taken[job["round"]] == 1, ("the last round never finalized", events)
        assert max(taken) == job["round"], events
        finished = [e for e in events if e["new_status"] in TERMINAL_JOB]
        reopened = [e for e in events if e["old_status"] in TERMINAL_JOB]
        assert len(finished) == len(reopened) + 1, ("terminal state set twice", events)

        # Processor calls ≤ attempts. ``attempts`` restarts at 0 on a manual retry
        # (docs/api.md), so the attempts are counted as claims over the chunk's life:
        # every committed increment of ``attempts``.
        per_chunk = Counter(c["chunk"] for c in self.calls(tag))
        claims = self.claims(job_id)
        for chunk in chunks:
            index = chunk["chunk_id"]
            assert chunk["attempts"] <= claims[index]
            assert per_chunk[index] <= claims[index], (
                f"chunk {index}: {per_chunk[index]} processor calls for {claims[index]} attempts"
            )

        if status not in ("completed", "partial"):
            return {}
        response = self.client.get(f"/api/v1/jobs/{job_id}/result", headers=self.headers)
        assert response.status_code == 200, response.get_json()
        document: dict[str, Any] = response.get_json()
        owned = {
            page: chunk["status"]
            for chunk in chunks
            for page in range(chunk["page_start"], chunk["page_end"] + 1)
        }
        assert sorted(owned) == list(range(1, job["page_count"] + 1)), "pages not covered"
        expected = [processor.sentence(tag, p) for p, s in sorted(owned.items()) if s == "success"]
        assert [s["text"] for s in document["sentences"]] == expected
        assert document["missing_pages"] == sorted(p for p, s in owned.items() if s != "success")
        return document

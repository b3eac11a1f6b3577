"""Durable writes on real Postgres: retries, verification, backup, and ``flask quire recover``.

Failures are real: a trigger raises a real SQLSTATE, or kills its own backend
(``pg_terminate_backend(pg_backend_pid())``: the client sees the connection
drop mid-statement), or an app points at a closed port. A sequence counts the
tries, since ``nextval`` survives the rollback of the try that called it.
"""

from __future__ import annotations

import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from apiflask import APIFlask
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.metrics import REGISTRY
from backend.models import Job, JobChunk
from backend.models.types import utcnow
from backend.services import backups, persistence, process, recovery, runtime
from backend.services.persistence import Outcome
from backend.services.split import split_job
from tests.conftest import blank_pdf, upload
from tests.integration.conftest import sentence_result
from tests.integration.ops.conftest import user_headers

pytestmark = pytest.mark.integration

FAST = {"persist_backoff_seconds": 0.01, "persist_retries": 3}


@pytest.fixture
def sql(database_url: str) -> Iterator[Callable[[str], Any]]:
    """Run SQL on the test database from a connection of its own; triggers are dropped after."""
    conn = psycopg.connect(database_url, autocommit=True)

    def _run(statement: str) -> Any:
        return conn.execute(statement)

    yield _run
    for table in ("job_chunks", "jobs"):
        conn.execute(f"DROP TRIGGER IF EXISTS quire_test_fault ON {table}")
    conn.execute("DROP FUNCTION IF EXISTS quire_test_fault() CASCADE")
    conn.execute("DROP SEQUENCE IF EXISTS quire_test_tries")
    conn.close()


def fault(
    sql: Callable[[str], Any], table: str, body: str, when: str = "TRUE", event: str = ""
) -> None:
    """A BEFORE trigger on ``table`` that counts its calls and runs ``body`` when ``when``."""
    sql("CREATE SEQUENCE quire_test_tries")
    sql(
        "CREATE FUNCTION quire_test_fault() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "DECLARE try bigint; BEGIN try := nextval('quire_test_tries'); "
        f"IF {when} THEN {body} END IF; RETURN NEW; END $$"
    )
    event = event or ("INSERT" if table == "jobs" else "UPDATE")
    sql(
        f"CREATE TRIGGER quire_test_fault BEFORE {event} ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION quire_test_fault()"
    )


def tries(sql: Callable[[str], Any]) -> int:
    row = sql("SELECT last_value, is_called FROM quire_test_tries").fetchone()
    return int(row[0]) if row[1] else 0


KILL = "PERFORM pg_terminate_backend(pg_backend_pid());"


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def claimed_chunk(flask_app: APIFlask, pages: int = 2) -> process.Claim:
    """A one-chunk job, split, its chunk claimed by attempt 1 (as a worker would)."""
    headers = user_headers(flask_app, "owner@example.com")
    response = upload(flask_app.test_client(), headers, blank_pdf(pages), pages_per_chunk=20)
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["job_id"]
    with flask_app.app_context():
        split_job(job_id)
        pk = db.session.scalar(select(JobChunk.id).where(JobChunk.job_id == job_id))
        claim = process.claim_chunk(pk, None)
        db.session.remove()
    assert claim is not None
    return claim


def success_values(pages: int = 2) -> dict[str, Any]:
    return {
        "status": "success",
        "result_json": sentence_result(1, pages),
        "processed_at": utcnow(),
        "updated_at": utcnow(),
        "lease_expires_at": None,
    }


def chunk(flask_app: APIFlask, pk: int) -> dict[str, Any]:
    with flask_app.app_context():
        row = db.session.get(JobChunk, pk)
        assert row is not None
        values = {c.key: getattr(row, c.key) for c in JobChunk.__table__.columns}
        db.session.remove()
    return values


def job(flask_app: APIFlask, job_id: str) -> dict[str, Any] | None:
    with flask_app.app_context():
        row = db.session.get(Job, job_id)
        values = (
            None if row is None else {c.key: getattr(row, c.key) for c in Job.__table__.columns}
        )
        db.session.remove()
    return values


def save_success(flask_app: APIFlask, claim: process.Claim) -> Outcome:
    with flask_app.app_context():
        outcome = persistence.save_chunk_result(
            claim.job_id, claim.chunk_pk, claim.attempts, success_values()
        )
        db.session.remove()
    return outcome


def recover(flask_app: APIFlask, *args: str) -> Any:
    with flask_app.app_context():
        result = flask_app.test_cli_runner().invoke(args=["quire", "recover", *args])
        db.session.remove()
    return result


def backup_files(flask_app: APIFlask) -> list[Path]:
    with flask_app.app_context():
        root = runtime.settings().backup_root
    return sorted(root.glob("*.json")) if root.is_dir() else []


def test_chunk_result_that_fails_twice_is_saved_on_the_third_try(
    make_app: Any, sql: Callable[[str], Any]
) -> None:
    flask_app = make_app(**FAST)
    claim = claimed_chunk(flask_app)
    fault(sql, "job_chunks", "RAISE EXCEPTION 'injected' USING ERRCODE = '40001';", "try <= 2")
    retries_before = metric("quire_persistence_retries_total", kind="chunk_result")

    assert save_success(flask_app, claim) is Outcome.SAVED

    assert tries(sql) == 3
    assert metric("quire_persistence_retries_total", kind="chunk_result") - retries_before == 2
    row = chunk(flask_app, claim.chunk_pk)
    assert row["status"] == "success"
    assert row["result_json"] == sentence_result(1, 2)
    assert backup_files(flask_app) == []


def test_backoff_waits_between_tries_when_the_connection_drops(
    make_app: Any, sql: Callable[[str], Any]
) -> None:
    flask_app = make_app(persist_backoff_seconds=0.2, persist_retries=3)
    claim = claimed_chunk(flask_app)
    fault(sql, "job_chunks", KILL, "try <= 2")

    started = time.monotonic()
    assert save_success(flask_app, claim) is Outcome.SAVED
    elapsed = time.monotonic() - started

    assert tries(sql) == 3
    assert 0.6 <= elapsed < 5  # 0.2 + 0.4 s of backoff, then success
    assert chunk(flask_app, claim.chunk_pk)["status"] == "success"


def test_unreachable_database_backs_up_and_recover_replays_it_once(
    make_app: Any, sql: Callable[[str], Any]
) -> None:
    flask_app = make_app(**FAST)
    claim = claimed_chunk(flask_app)
    fault(sql, "job_chunks", KILL, "NEW.status = 'success'")
    backups_before = metric("quire_persistence_backups_total", kind="chunk_result")

    assert save_success(flask_app, claim) is Outcome.BACKED_UP

    assert tries(sql) == 4  # the first try and 3 retries
    assert metric("quire_persistence_backups_total", kind="chunk_result") - backups_before == 1
    [path] = backup_files(flask_app)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    record = backups.load(path)
    assert (record.kind, record.job_id, record.chunk_pk) == (
        "chunk_result",
        claim.job_id,
        claim.chunk_pk,
    )
    assert record.fence == {"attempts": claim.attempts}
    assert chunk(flask_app, claim.chunk_pk)["status"] == "processing"
    # The jobs table still answered, so the job says where its record is.
    assert job(flask_app, claim.job_id)["persistence_status"] == "backed_up"

    listed = recover(flask_app, "--list")
    assert listed.exit_code == 0, listed.output
    assert "1 pending backup(s)" in listed.output
    assert claim.job_id in listed.output

    sql("DROP TRIGGER quire_test_fault ON job_chunks")  # the database is back
    dry = recover(flask_app, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would be applied: chunk_result" in dry.output
    assert chunk(flask_app, claim.chunk_pk)["status"] == "processing"
    assert backup_files(flask_app) == [path]

    done = recover(flask_app, "--all")
    assert done.exit_code == 0, done.output
    assert "applied: 1, skipped: 0, failed: 0" in done.output
    assert f"finalized: {claim.job_id}" in done.output
    row = chunk(flask_app, claim.chunk_pk)
    assert (row["status"], row["result_json"]) == ("success", sentence_result(1, 2))
    finished = job(flask_app, claim.job_id)
    assert finished is not None
    assert (finished["status"], finished["persistence_status"]) == ("completed", "recovered")
    assert backup_files(flask_app) == []

    again = recover(flask_app, "--all")
    assert again.exit_code == 0, again.output
    assert "applied: 0, skipped: 0, failed: 0" in again.output
    assert chunk(flask_app, claim.chunk_pk)["updated_at"] == row["updated_at"]


def test_a_backup_the_job_moved_past_is_skipped_and_set_aside(
    make_app: Any, sql: Callable[[str], Any]
) -> None:
    flask_app = make_app(**FAST)
    claim = claimed_chunk(flask_app)
    fault(sql, "job_chunks", KILL, "NEW.status = 'success'")
    assert save_success(flask_app, claim) is Outcome.BACKED_UP
    sql("DROP TRIGGER quire_test_fault ON job_chunks")
    with flask_app.app_context():  # meanwhile the job was cancelled and finished
        db.session.execute(update(Job).where(Job.id == claim.job_id).values(status="cancelled"))
        db.session.commit()
        db.session.remove()

    done = recover(flask_app, "--all")

    assert done.exit_code == 0, done.output
    assert "applied: 0, skipped: 1, failed: 0" in done.output
    assert chunk(flask_app, claim.chunk_pk)["status"] == "processing"
    assert backup_files(flask_app) == []
    with flask_app.app_context():
        kept = list((runtime.settings().backup_root / backups.SUPERSEDED).glob("*.json"))
    assert len(kept) == 1
    assert job(flask_app, claim.job_id)["persistence_status"] == "recovered"


def test_integrity_error_is_raised_at_once_not_retried(
    make_app: Any, sql: Callable[[str], Any]
) -> None:
    flask_app = make_app(**FAST)
    claim = claimed_chunk(flask_app)
    fault(sql, "job_chunks", "RAISE EXCEPTION 'injected' USING ERRCODE = '23505';")
    retries_before = metric("quire_persistence_retries_total", kind="chunk_result")

    with pytest.raises(IntegrityError):
        save_success(flask_app, claim)

    assert tries(sql) == 1
    assert metric("quire_persistence_retries_total", kind="chunk_result") == retries_before
    assert backup_files(flask_app) == []


def test_verification_catches_a_stored_value_that_differs(
    make_app: Any, sql: Callable[[str], Any]
) -> None:
    flask_app = make_app(**FAST)
    claim = claimed_chunk(flask_app)
    fault(sql, "job_chunks", """NEW.result_json := '{"tampered": true}'::jsonb;""")
    failures_before = metric("quire_persistence_verification_failures_total", kind="chunk_result")

    assert save_success(flask_app, claim) is Outcome.BACKED_UP

    # Each of the 4 tries wrote, read back, and found the other value.
    failures = metric("quire_persistence_verification_failures_total", kind="chunk_result")
    assert failures - failures_before == 4
    assert chunk(flask_app, claim.chunk_pk)["result_json"] == {"tampered": True}
    [path] = backup_files(flask_app)
    assert backups.load(path).payload["result_json"] == sentence_result(1, 2)

    still = recover(flask_app, "--all")  # the trigger still alters the value: kept
    assert still.exit_code == 1, still.output
    assert "failed: 1" in still.output
    assert backup_files(flask_app) == [path]

    sql("DROP TRIGGER quire_test_fault ON job_chunks")
    fixed = recover(flask_app, "--all")
    assert fixed.exit_code == 0, fixed.output
    assert chunk(flask_app, claim.chunk_pk)["result_json"] == sentence_result(1, 2)
    assert backup_files(flask_app) == []


def test_upload_while_the_database_drops_is_accepted_and_recovered(
    make_app: Any, sql: Callable[[str], Any]
) -> None:
    flask_app = make_app(**FAST)
    headers = user_headers(flask_app, "owner@example.com")
    fault(sql, "jobs", KILL)

    response = upload(flask_app.test_client(), headers, blank_pdf(2))

    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["persistence_status"] == "backed_up"
    assert "recovered" in body["message"]
    job_id = body["job_id"]
    assert job(flask_app, job_id) is None
    with flask_app.app_context():
        assert runtime.blobs().exists(f"jobs/{job_id}/source.pdf")
    assert len(backup_files(flask_app)) == 1

    sql("DROP TRIGGER quire_test_fault ON jobs")
    done = recover(flask_app, "--all")

    assert done.exit_code == 0, done.output
    assert f"applied: upload job {job_id}" in done.output
    row = job(flask_app, job_id)
    assert row is not None
    assert (row["status"], row["persistence_status"]) == ("queued", "recovered")
    shown = flask_app.test_client().get(f"/api/v1/jobs/{job_id}", headers=headers)
    assert shown.status_code == 200
    assert shown.get_json()["persistence_status"] == "recovered"


def test_closed_port_backs_up_a_job_result_that_recover_applies(
    make_app: Any, down_app: APIFlask
) -> None:
    down_app.extensions["quire_settings"] = runtime_settings(down_app, **FAST)
    flask_app = make_app(**FAST)
    claim = claimed_chunk(flask_app)
    with flask_app.app_context():  # the chunk finished; finalize now writes the job result
        persistence.save_chunk_result(claim.job_id, claim.chunk_pk, 1, success_values())
        db.session.remove()

    with down_app.app_context():
        outcome = persistence.save_job_result(
            claim.job_id,
            0,
            {"status": "completed", "step": "completed", "finished_at": utcnow()},
        )
        root = runtime.settings().backup_root
    assert outcome is Outcome.BACKED_UP
    assert job(flask_app, claim.job_id)["status"] == "processing"

    with flask_app.app_context():
        report = recovery.recover(root=root)
        db.session.remove()

    assert [item.action for item in report.items] == ["applied"]
    row = job(flask_app, claim.job_id)
    assert row is not None
    assert (row["status"], row["finalized_round"], row["persistence_status"]) == (
        "completed",
        0,
        "recovered",
    )


def runtime_settings(flask_app: APIFlask, **overrides: Any) -> Any:
    settings = flask_app.extensions["quire_settings"]
    return settings.override(overrides)


def test_health_persistence_reports_pending_backups(
    make_app: Any, sql: Callable[[str], Any]
) -> None:
    flask_app = make_app(**FAST)
    client = flask_app.test_client()
    healthy = client.get("/health/persistence")
    assert healthy.status_code == 200
    assert healthy.get_json()["status"] == "healthy"
    assert healthy.get_json()["pending"] == 0

    claim = claimed_chunk(flask_app)
    fault(sql, "job_chunks", KILL, "NEW.status = 'success'")
    assert save_success(flask_app, claim) is Outcome.BACKED_UP

    degraded = client.get("/health/persistence").get_json()
    assert degraded["status"] == "degraded"
    assert degraded["pending"] == 1
    assert degraded["by_kind"] == {"chunk_result": 1}
    assert degraded["oldest_age_seconds"] >= 0
    full = client.get("/health/full").get_json()
    assert full["checks"]["persistence"]["status"] == "degraded"


def test_health_persistence_is_unhealthy_when_the_backup_dir_cannot_be_written(
    make_app: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the backup directory should be")
    flask_app = make_app(backup_dir=blocker / "backups")

    response = flask_app.test_client().get("/health/persistence")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unhealthy"
    assert "not writable" in body["error"]


def test_process_chunk_survives_a_lost_database_and_its_outcome_is_recovered(
    make_app: Any, sql: Callable[[str], Any]
) -> None:
    flask_app = make_app(**FAST)
    claim = claimed_chunk(flask_app)
    with flask_app.app_context():  # hand the chunk back, as a fresh delivery would find it
        db.session.execute(
            update(JobChunk).where(JobChunk.id == claim.chunk_pk).values(status="pending")
        )
        db.session.commit()
        db.session.remove()
    fault(sql, "job_chunks", KILL, "NEW.status IN ('success', 'failed')")

    with flask_app.app_context():
        answer = process.process_chunk(claim.chunk_pk)
        db.session.remove()

    # Blank pages: the local processor fails the chunk NO_TEXT; that outcome is kept.
    assert answer == {"chunk": claim.chunk_pk, "status": "failed"}
    assert chunk(flask_app, claim.chunk_pk)["status"] == "processing"
    [path] = backup_files(flask_app)
    assert backups.load(path).payload["last_error_code"] == "NO_TEXT"

    sql("DROP TRIGGER quire_test_fault ON job_chunks")
    done = recover(flask_app, "--all")

    assert done.exit_code == 0, done.output
    row = chunk(flask_app, claim.chunk_pk)
    assert (row["status"], row["last_error_code"]) == ("failed", "NO_TEXT")


def test_finalize_whose_result_write_is_lost_is_backed_up_and_recovered(
    make_app: Any, sql: Callable[[str], Any]
) -> None:
    from backend.services import finalize

    flask_app = make_app(**FAST)
    claim = claimed_chunk(flask_app)
    assert save_success(flask_app, claim) is Outcome.SAVED
    fault(sql, "jobs", KILL, "NEW.status = 'completed'", event="UPDATE")
    retries_before = metric("quire_persistence_retries_total", kind="job_result")

    with flask_app.app_context():
        outcome = finalize.finalize_job(claim.job_id, 0)
        db.session.remove()

    assert outcome == "completed"  # what the merge decided; the record is in the backup
    assert metric("quire_persistence_retries_total", kind="job_result") - retries_before == 3
    row = job(flask_app, claim.job_id)
    assert row is not None
    # Every try rolled back, the round's compare-and-set included.
    assert (row["status"], row["finalized_round"]) == ("processing", -1)
    [path] = backup_files(flask_app)
    assert backups.load(path).kind == "job_result"

    sql("DROP TRIGGER quire_test_fault ON jobs")
    done = recover(flask_app, "--all")

    assert done.exit_code == 0, done.output
    row = job(flask_app, claim.job_id)
    assert row is not None
    assert (row["status"], row["finalized_round"]) == ("completed", 0)
    assert row["result_summary"]["sentence_count"] == 2
    assert row["persistence_status"] == "recovered"

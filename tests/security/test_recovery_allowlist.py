"""Recovery trusts no column name from a backup file (issue 12, finding 9).

``flask quire recover`` replays JSON files; a file edited (or planted) in the
backup directory could name any column: give a job to another owner, move a
chunk to another job, point a result at someone else's file. Each kind of
record now has an allow-list; any other column is refused, the file is
reported and kept, and nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.extensions import db
from backend.models import Job, JobChunk
from backend.services import backups, recovery
from backend.services.backups import BackupRecord
from backend.services.split import split_job
from tests.conftest import blank_pdf, upload


def split_job_of(app: APIFlask, client: FlaskClient, headers: dict[str, str]) -> tuple[str, int]:
    response = upload(client, headers, blank_pdf(2), pages_per_chunk=20)
    assert response.status_code == 202, response.get_json()
    job_id: str = response.get_json()["job_id"]
    with app.app_context():
        split_job(job_id)
        pk = db.session.scalar(select(JobChunk.id).where(JobChunk.job_id == job_id))
    assert pk is not None
    return job_id, pk


def replay(app: APIFlask, root: Path, record: BackupRecord) -> recovery.Replayed:
    path = backups.write(root, record)
    with app.app_context():
        report = recovery.recover(root=root)
    assert path.exists(), "a refused backup must be kept"
    (item,) = report.items
    return item


def row(app: APIFlask, model: Any, key: Any) -> dict[str, Any]:
    with app.app_context():
        found = db.session.get(model, key)
        assert found is not None
        values = {c.key: getattr(found, c.key) for c in model.__table__.columns}
        db.session.remove()
        return values


@pytest.mark.parametrize(
    "payload",
    [
        {"status": "success", "job_id": "00000000-0000-4000-8000-000000000000"},
        {"status": "pending", "attempts": 0},
        {"status": "success", "storage_key": "jobs/other/source.pdf"},
        {"status": "success", "no_such_column": 1},
    ],
    ids=["job_id", "attempts", "storage_key", "unknown"],
)
def test_chunk_result_naming_a_column_outside_the_allow_list_is_refused(
    app: APIFlask,
    client: FlaskClient,
    alice: dict[str, str],
    tmp_path: Path,
    payload: dict[str, Any],
) -> None:
    job_id, pk = split_job_of(app, client, alice)
    before = row(app, JobChunk, pk)
    record = BackupRecord(
        kind="chunk_result", job_id=job_id, chunk_pk=pk, fence={"attempts": 0}, payload=payload
    )
    item = replay(app, tmp_path, record)
    assert item.action == recovery.FAILED
    extra = sorted(set(payload) - recovery.ALLOWED_COLUMNS["chunk_result"])
    assert item.reason == f"refused: chunk_result records may not write {', '.join(extra)}"
    assert row(app, JobChunk, pk) == before


def test_job_result_that_reassigns_the_owner_is_refused(
    app: APIFlask, client: FlaskClient, make_user: Any, tmp_path: Path
) -> None:
    _, alice = make_user("alice@example.com")
    mallory_id, _ = make_user("mallory@example.com")
    job_id, _ = split_job_of(app, client, alice)
    before = row(app, Job, job_id)
    record = BackupRecord(
        kind="job_result",
        job_id=job_id,
        fence={"round": 0},
        payload={"status": "completed", "owner_id": mallory_id},
    )
    item = replay(app, tmp_path, record)
    assert (item.action, item.reason) == (
        recovery.FAILED,
        "refused: job_result records may not write owner_id",
    )
    assert row(app, Job, job_id) == before


def test_a_result_pointing_at_another_jobs_file_is_refused(
    app: APIFlask, client: FlaskClient, alice: dict[str, str], tmp_path: Path
) -> None:
    job_id, _ = split_job_of(app, client, alice)
    other_id, _ = split_job_of(app, client, alice)
    record = BackupRecord(
        kind="job_result",
        job_id=job_id,
        fence={"round": 0},
        payload={"status": "completed", "result_key": f"jobs/{other_id}/source.pdf"},
    )
    item = replay(app, tmp_path, record)
    assert item.reason == "refused: the result_key is not its own job's file"
    assert row(app, Job, job_id)["status"] == "processing"


def test_an_upload_claiming_another_jobs_source_is_refused(
    app: APIFlask, client: FlaskClient, make_user: Any, tmp_path: Path
) -> None:
    owner_id, alice = make_user("alice@example.com")
    victim_id, _ = split_job_of(app, client, alice)
    job_id = "11111111-1111-4111-8111-111111111111"
    payload = {
        "id": job_id,
        "owner_id": owner_id,
        "filename": "stolen.pdf",
        "source_key": f"jobs/{victim_id}/source.pdf",
        "source_sha256": "0" * 64,
        "source_size": 1,
        "processor": "local",
        "words_per_sentence": 8,
        "pages_per_chunk": 20,
        "overlap_pages": 1,
        "max_retries": 3,
        "options": {},
        "status": "queued",
        "step": "queued",
    }
    item = replay(app, tmp_path, BackupRecord(kind="upload", job_id=job_id, payload=payload))
    assert item.reason == "refused: the upload's source_key is not its own job's file"
    with app.app_context():
        assert db.session.get(Job, job_id) is None


def test_dry_run_reports_the_refusal_too(
    app: APIFlask, client: FlaskClient, alice: dict[str, str], tmp_path: Path
) -> None:
    job_id, pk = split_job_of(app, client, alice)
    record = BackupRecord(
        kind="chunk_result",
        job_id=job_id,
        chunk_pk=pk,
        fence={"attempts": 0, "owner_id": 1},
        payload={"status": "success"},
    )
    path = backups.write(tmp_path, record)
    with app.app_context():
        report = recovery.recover(dry_run=True, root=tmp_path)
    assert [i.reason for i in report.items] == [
        "refused: chunk_result records may not fence on owner_id"
    ]
    assert path.exists()

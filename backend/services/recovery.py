"""recover: replay the file backup into the database (``flask quire recover``).

Idempotent: every record goes through its replay compare-and-set
(``persistence.Mode.REPLAY``), so a record already in the database, or one the
job has moved past, changes nothing. A record is ``applied`` (written, read
back, verified; its file deleted), ``skipped`` (it no longer applies; its file
moved to ``superseded/``) or ``failed`` (the database refused it, or the file is
unreadable; the file stays). After the replay, jobs whose chunk results came
back are finalized when all their chunks are terminal, and recovered uploads
get their split published.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from backend.database import classify_db_error
from backend.extensions import db
from backend.metrics import PERSISTENCE_RECOVERED, PERSISTENCE_VERIFY_FAILURES
from backend.models import Job
from backend.models.job import ACTIVE_JOB_STATUSES, PersistenceStatus
from backend.services import backups, dispatch, finalize, persistence, runtime
from backend.services.backups import BackupRecord, PendingBackup, digest
from backend.services.persistence import CHUNK_RESULT, UPLOAD, Mode

log = logging.getLogger(__name__)

APPLIED, SKIPPED, FAILED = "applied", "skipped", "failed"
# What each kind of record may write: the columns its write sets (services/jobs.py,
# process.py, finalize.py), and the facts its fence names. A backup is a file
# anyone with the directory's permissions could have edited; one that names any
# other column (an owner, a role, a lease…) is refused, reported and kept.
ALLOWED_COLUMNS = {
    persistence.UPLOAD: frozenset(
        {
            "id",
            "owner_id",
            "filename",
            "source_key",
            "source_sha256",
            "source_size",
            "processor",
            "words_per_sentence",
            "pages_per_chunk",
            "overlap_pages",
            "max_retries",
            "options",
            "status",
            "step",
            "created_at",
            "updated_at",
        }
    ),
    persistence.CHUNK_RESULT: frozenset(
        {
            "status",
            "last_error",
            "last_error_code",
            "error_retryable",
            "retry_after_seconds",
            "tokens_used",
            "result_json",
            "cache_hit",
            "processed_at",
            "updated_at",
            "lease_expires_at",
        }
    ),
    persistence.JOB_RESULT: frozenset(
        {
            "status",
            "step",
            "result_key",
            "result_summary",
            "error_code",
            "error_message",
            "finished_at",
            "updated_at",
            "finalized_round",
        }
    ),
}
ALLOWED_FENCE = {
    persistence.UPLOAD: frozenset(),
    persistence.CHUNK_RESULT: frozenset({"attempts"}),
    persistence.JOB_RESULT: frozenset({"round"}),
}
SKIP_REASONS = {
    persistence.UPLOAD: "the job exists already, or its owner was deleted",
    persistence.CHUNK_RESULT: "the chunk has a result already or moved on, or its job finished",
    persistence.JOB_RESULT: "the job finished already or moved on to another round",
}


@dataclass(frozen=True)
class Replayed:
    """What happened (or, in a dry run, would happen) to one backup file."""

    path: Path
    kind: str
    job_id: str
    chunk_pk: int | None
    action: str
    reason: str = ""


@dataclass
class RecoverReport:
    dry_run: bool
    items: list[Replayed] = field(default_factory=list)
    finalized: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for item in self.items if item.action == action)

    @property
    def failed(self) -> int:
        return self.count(FAILED)


def recover(dry_run: bool = False, root: Path | None = None) -> RecoverReport:
    """Replay every pending backup in ``root`` (default ``QUIRE_BACKUP_DIR``).

    ``dry_run`` runs each compare-and-set in a transaction that is rolled back:
    the report says what would happen and nothing changes, files included.
    """
    root = root or runtime.settings().backup_root
    report = RecoverReport(dry_run=dry_run)
    for backup in backups.pending(root):
        report.items.append(_replay(backup, dry_run))
    if not dry_run:
        report.finalized = _follow_up(report.items)
    return report


def _replay(backup: PendingBackup, dry_run: bool) -> Replayed:
    record = backup.record
    if record is None:
        log.error("recover: %s is unreadable (%s); kept", backup.path, backup.problem)
        return Replayed(backup.path, "?", "?", None, FAILED, backup.problem)

    def outcome(action: str, reason: str = "") -> Replayed:
        return Replayed(backup.path, record.kind, record.job_id, record.chunk_pk, action, reason)

    refusal = refused(record)
    if refusal:
        log.error("recover: %s refused (%s); kept, nothing written", backup.path.name, refusal)
        return outcome(FAILED, f"refused: {refusal}")
    try:
        # REPAIR too: the row may carry this very write already (a commit whose
        # answer was lost), or a value that failed verification.
        # The stored values (the write's RETURNING), verified below once committed.
        applied = persistence.apply(record, Mode.REPLAY) or persistence.apply(record, Mode.REPAIR)
        if dry_run:
            db.session.rollback()
            return outcome(
                APPLIED if applied else SKIPPED, "" if applied else SKIP_REASONS[record.kind]
            )
        db.session.commit()
        stored = applied
    except SQLAlchemyError as exc:
        _rollback()
        log.error("recover: %s: %s", backup.path.name, exc)
        return outcome(FAILED, f"{classify_db_error(exc)} ({type(exc).__name__})")
    if not applied:
        return _skip(backup.path, record, outcome(SKIPPED, SKIP_REASONS[record.kind]))
    if stored is None or digest(stored) != record.sha256:
        PERSISTENCE_VERIFY_FAILURES.labels(kind=record.kind).inc()
        log.error("recover: %s: what was stored differs from the backup; kept", backup.path.name)
        return outcome(FAILED, "the stored record differs from the backup (verification)")
    if not persistence.mark_job(record.job_id, PersistenceStatus.RECOVERED):
        return outcome(FAILED, "applied, but persistence_status could not be set; run again")
    backups.remove(backup.path)
    PERSISTENCE_RECOVERED.labels(kind=record.kind, outcome=APPLIED).inc()
    log.warning("recover: %s applied (job %s)", backup.path.name, record.job_id)
    return outcome(APPLIED)


def refused(record: BackupRecord) -> str:
    """Why ``record`` may not be replayed; empty if it may.

    Refused: a column or fence fact outside its kind's allow-list, or a file key
    or upload state that Quire's own writes never produce.
    """
    extra = sorted(set(record.payload) - ALLOWED_COLUMNS[record.kind])
    if extra:
        return f"{record.kind} records may not write {', '.join(extra)}"
    fence = sorted(set(record.fence) - ALLOWED_FENCE[record.kind])
    if fence:
        return f"{record.kind} records may not fence on {', '.join(fence)}"
    if record.kind == persistence.UPLOAD:
        if record.payload.get("id") != record.job_id:
            return "the upload's id is not the record's job"
        if record.payload.get("source_key") != f"jobs/{record.job_id}/source.pdf":
            return "the upload's source_key is not its own job's file"
        if record.payload.get("status") != "queued":
            return "an upload is recorded queued"
    result_key = record.payload.get("result_key")
    if result_key is not None and result_key != f"jobs/{record.job_id}/result.json":
        return "the result_key is not its own job's file"
    return ""


def _skip(path: Path, record: BackupRecord, result: Replayed) -> Replayed:
    """A record the database no longer needs: keep the file aside, settle the job's status."""
    try:
        # A job marked backed_up whose record is superseded is not waiting any more.
        db.session.execute(
            update(Job)
            .where(
                Job.id == record.job_id, Job.persistence_status == PersistenceStatus.BACKED_UP.value
            )
            .values(persistence_status=PersistenceStatus.RECOVERED.value)
        )
        db.session.commit()
    except SQLAlchemyError as exc:
        _rollback()
        return Replayed(
            path, record.kind, record.job_id, record.chunk_pk, FAILED, type(exc).__name__
        )
    backups.supersede(path)
    PERSISTENCE_RECOVERED.labels(kind=record.kind, outcome=SKIPPED).inc()
    log.warning("recover: %s skipped (%s)", path.name, result.reason)
    return result


def _follow_up(items: list[Replayed]) -> list[str]:
    """Finalize jobs whose last chunks came back; publish the split of recovered uploads."""
    applied = [item for item in items if item.action == APPLIED]
    for job_id in sorted({item.job_id for item in applied if item.kind == UPLOAD}):
        dispatch.publish_split(job_id)
    finalized: list[str] = []
    active = [s.value for s in ACTIVE_JOB_STATUSES]
    for job_id in sorted({item.job_id for item in applied if item.kind == CHUNK_RESULT}):
        round_no = db.session.scalar(
            select(Job.round).where(Job.id == job_id, Job.status.in_(active))
        )
        db.session.rollback()
        if round_no is None:
            continue
        try:
            result = finalize.finalize_job(job_id, round_no)
        except Exception:
            # The reconciler's orphaned-finalize repair tries again within a minute.
            _rollback()
            log.exception("recover: job %s: finalize failed; left to the reconciler", job_id)
            continue
        if result not in ("waiting", "skipped"):
            finalized.append(job_id)
    return finalized


def _rollback() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:
        log.debug("rollback after a lost connection failed; the session is reset anyway")

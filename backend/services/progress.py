"""Live progress for Server-Sent Events: one poller per process, fanned out to subscribers.

Each process (gunicorn worker, ``flask run``, ``quire serve``) has one hub. While
at least one stream is open, its thread reads the state of *every* watched job
in one grouped query (jobs LEFT JOIN job_chunks, counted by chunk status on the
``(job_id, status)`` index) every ``sse_poll_seconds``, and hands each stream
the latest snapshot of its job. A hundred browsers watching one job cost one
query per tick, not a hundred; no stream ever touches the database itself.
Rows stay the only truth: nothing has to remember to publish (see
docs/decisions.md). The number of open streams per process is bounded
(``sse_max_streams``); one more is refused with ``TOO_MANY_STREAMS`` (503). So is
each user's share of them (``sse_max_streams_per_user``): one user holding every
stream would lock everyone else out, so their next one is refused with
``TOO_MANY_USER_STREAMS`` (429) while other users can still open theirs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from backend.errors import QuireError
from backend.extensions import db
from backend.models import ChunkStatus, Job, JobChunk
from backend.models.job import TERMINAL_JOB_STATUSES

log = logging.getLogger(__name__)

DONE_CHUNK_STATUSES = (ChunkStatus.SUCCESS, ChunkStatus.FAILED, ChunkStatus.CANCELLED)
# A deleted job ends its streams with this pseudo-status.
DELETED = "deleted"


def is_final(snapshot: dict[str, Any]) -> bool:
    return snapshot["status"] in TERMINAL_JOB_STATUSES or snapshot["status"] == DELETED


@dataclass(eq=False)
class Subscription:
    """One open stream: waits for a newer snapshot of its job than the one it last sent."""

    job_id: str
    hub: ProgressHub
    user_id: int | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _snapshot: dict[str, Any] | None = None
    _version: int = 0
    _closed: bool = False

    def offer(self, snapshot: dict[str, Any]) -> None:
        with self._changed:
            if snapshot != self._snapshot:
                self._snapshot, self._version = snapshot, self._version + 1
                self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> tuple[int, dict[str, Any] | None]:
        """``(version, snapshot)`` newer than ``seen``, or ``(seen, None)`` after ``timeout``."""
        with self._changed:
            self._changed.wait_for(lambda: self._version > seen or self._closed, timeout)
            if self._version > seen:
                return self._version, self._snapshot
            return seen, None

    def close(self) -> None:
        """Idempotent: frees the stream's slot (called when the HTTP response closes)."""
        with self._changed:
            if self._closed:
                return
            self._closed = True
            self._changed.notify_all()
        self.hub.unsubscribe(self)


class ProgressHub:
    """The per-process poller; ``subscribe`` starts it, the last ``close`` lets it stop."""

    def __init__(
        self, app: Flask, interval: float, max_streams: int, max_per_user: int | None = None
    ) -> None:
        self._app = app
        self._interval = interval
        self._max_streams = max_streams
        self._max_per_user = max_per_user or max_streams
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscription]] = {}
        self._open = 0
        self._open_by_user: dict[int, int] = {}
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    @property
    def open_streams(self) -> int:
        with self._lock:
            return self._open

    def subscribe(self, job_id: str, user_id: int | None = None) -> Subscription:
        """A new stream on ``job_id`` for ``user_id``.

        Raises ``TOO_MANY_USER_STREAMS`` when the user holds their share of this
        process's streams, ``TOO_MANY_STREAMS`` when the process is full.
        """
        subscription = Subscription(job_id, self, user_id)
        with self._lock:
            held = self._open_by_user.get(user_id, 0) if user_id is not None else 0
            if held >= self._max_per_user:
                raise QuireError(
                    "TOO_MANY_USER_STREAMS",
                    f"you already have {held} live progress streams open on this server "
                    f"(at most {self._max_per_user}): close one (a browser tab) first",
                    {"open_streams": held, "max_streams_per_user": self._max_per_user},
                    headers={"Retry-After": "5"},
                )
            if self._open >= self._max_streams:
                raise QuireError(
                    "TOO_MANY_STREAMS",
                    f"this server process already has {self._open} live streams open",
                    {"max_streams": self._max_streams},
                    headers={"Retry-After": "5"},
                )
            self._open += 1
            if user_id is not None:
                self._open_by_user[user_id] = held + 1
            self._subscribers.setdefault(job_id, set()).add(subscription)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="quire-progress-hub", daemon=True
                )
                self._thread.start()
        self._wake.set()  # a new stream wants its first snapshot now, not at the next tick
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            watchers = self._subscribers.get(subscription.job_id)
            if watchers is None or subscription not in watchers:
                return
            watchers.discard(subscription)
            if not watchers:
                del self._subscribers[subscription.job_id]
            self._open -= 1
            user_id = subscription.user_id
            if user_id is not None:
                left = self._open_by_user.get(user_id, 1) - 1
                if left > 0:
                    self._open_by_user[user_id] = left
                else:
                    self._open_by_user.pop(user_id, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                watched = {job_id: set(subs) for job_id, subs in self._subscribers.items()}
                if not watched:
                    self._thread = None  # the next subscribe starts a fresh thread
                    return
            try:
                with self._app.app_context():
                    snapshots = read_snapshots(list(watched))
                    db.session.remove()
            except Exception:  # a database blip must not kill the poller: streams wait
                log.exception("progress poll of %d jobs failed", len(watched))
                snapshots = {}
            for job_id, subs in watched.items():
                snapshot = snapshots.get(job_id)
                if snapshot is not None:
                    for subscription in subs:
                        subscription.offer(snapshot)
            self._wake.wait(self._interval)
            self._wake.clear()


def read_snapshots(job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The progress snapshot of each job, in one query; a vanished job is ``deleted``."""
    rows = db.session.execute(
        select(
            Job.id,
            Job.status,
            Job.step,
            Job.round,
            Job.retry_count,
            Job.max_retries,
            Job.total_chunks,
            Job.started_at,
            Job.error_code,
            Job.error_message,
            JobChunk.status,
            func.count(JobChunk.id),
        )
        .outerjoin(JobChunk, JobChunk.job_id == Job.id)
        .where(Job.id.in_(job_ids))
        .group_by(Job.id, JobChunk.status)
    ).all()
    snapshots: dict[str, dict[str, Any]] = {}
    for (
        job_id,
        status,
        step,
        round_,
        retries,
        max_retries,
        total,
        started,
        code,
        msg,
        chunk,
        n,
    ) in rows:
        snapshot = snapshots.setdefault(
            job_id,
            {
                "job_id": job_id,
                "status": status,
                "step": step,
                "round": round_,
                "retry_count": retries,
                "max_retries": max_retries,
                "error": {"code": code, "message": msg} if code else None,
                "progress": {"total": total, "chunks": {s.value: 0 for s in ChunkStatus}},
                "_started_at": started,
            },
        )
        if chunk is not None:
            snapshot["progress"]["chunks"][chunk] = int(n)
    for snapshot in snapshots.values():
        _add_done_and_eta(snapshot)
    for job_id in job_ids:
        snapshots.setdefault(job_id, {"job_id": job_id, "status": DELETED})
    return snapshots


def _add_done_and_eta(snapshot: dict[str, Any]) -> None:
    progress = snapshot["progress"]
    started: datetime | None = snapshot.pop("_started_at")
    total = progress["total"]
    done = sum(progress["chunks"][s.value] for s in DONE_CHUNK_STATUSES)
    final = is_final(snapshot)
    progress["done"] = done
    progress["percent"] = round(100.0 * done / total, 1) if total else (100.0 if final else 0.0)
    eta: float | None = None
    if final:
        eta = 0.0
    elif started is not None and 0 < done < total:
        # Rows carry no per-chunk durations; the average pace so far is a fair guess.
        elapsed = (datetime.now(UTC) - started).total_seconds()
        eta = round(elapsed * (total - done) / done, 1)
    snapshot["eta_seconds"] = eta


def hub_for(app: Flask) -> ProgressHub:
    """The process's hub for ``app`` (created on first use, never at import or fork)."""
    hub: ProgressHub | None = app.extensions.get("quire_progress_hub")
    if hub is None:
        with _create_lock:
            hub = app.extensions.get("quire_progress_hub")
            if hub is None:
                settings = app.extensions["quire_settings"]
                hub = ProgressHub(
                    app,
                    settings.sse_poll_seconds,
                    settings.sse_max_streams,
                    settings.sse_max_streams_per_user,
                )
                app.extensions["quire_progress_hub"] = hub
    return hub


_create_lock = threading.Lock()

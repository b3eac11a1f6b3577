"""Races between finalizes, manual and automatic retries, stale deliveries and cancel."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from backend.extensions import db
from backend.services import finalize
from tests.chaos.harness import TERMINAL_JOB, Chaos


def test_early_and_duplicate_finalize_fires_change_nothing(chaos: Chaos) -> None:
    """Scenario 5: finalize fired while chunks run (through the broker, as an early
    chord body would arrive) and hammered by four threads across the last chunk's
    end and twice after it: exactly one finalize commits."""
    chaos.script({"delay": 0.1, "chunks": {"19": ["sleep:2"]}})
    chaos.start_worker()
    job_id = chaos.upload(20)
    chaos.wait_done(job_id, 3)
    celery = chaos.app.extensions["celery"]
    for _ in range(3):
        celery.send_task("quire.finalize_job", args=[job_id, 0], ignore_result=True)

    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def hammer() -> None:
        with chaos.app.app_context():
            while not stop.is_set():
                try:
                    outcome = finalize.finalize_job(job_id, 0)
                except Exception as exc:  # a lost race must not surface as an error
                    outcome = type(exc).__name__
                    db.session.rollback()
                with lock:
                    outcomes[outcome] += 1
                time.sleep(0.002)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        chaos.wait_terminal(job_id)
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    for _ in range(2):
        celery.send_task("quire.finalize_job", args=[job_id, 0], ignore_result=True)
    time.sleep(1.5)  # let the worker consume the duplicates

    chaos.assert_settled(job_id, "completed", failed={})
    assert outcomes["waiting"] > 0, outcomes  # fired early, while chunks ran
    assert set(outcomes) <= {"waiting", "skipped", "completed"}, outcomes


def test_manual_retry_racing_automatic_rounds(chaos: Chaos) -> None:
    """Scenario 13a: while chunks fail and automatic rounds are scheduled, a
    client keeps asking for a manual retry; every round is finalized at most
    once and each chunk's output is in the result exactly once."""
    chaos.script({"delay": 0.1, "chunks": {"2": ["transient", "transient"], "5": ["transient"]}})
    chaos.start_worker()
    job_id = chaos.upload(20)
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + 60
    while chaos.job(job_id)["status"] not in TERMINAL_JOB and time.monotonic() < deadline:
        if chaos.counts(job_id)["failed"]:
            response = chaos.client.post(
                f"/api/v1/jobs/{job_id}/chunks/retry", json={}, headers=chaos.headers
            )
            statuses[response.status_code] += 1
            assert response.status_code in (202, 409), response.get_json()
        time.sleep(0.05)
    chaos.wait_terminal(job_id)
    chaos.assert_settled(job_id, "completed", failed={})
    assert statuses[202] >= 1, statuses  # a manual round really raced the automatic ones


def test_late_outcome_of_an_old_attempt_is_discarded(chaos: Chaos) -> None:
    """Scenario 13b: the worker running chunk 7 freezes (SIGSTOP: a paused VM) past
    its lease; another worker takes the chunk over and succeeds. When the frozen
    attempt wakes up its outcome is fenced off. A stale duplicate message sent
    afterwards calls no processor either."""
    chaos.script({"delay": 0.1, "chunks": {"7": ["sleep:2"]}})
    # One pool process, frozen inside chunk 7's call: no process is frozen in the
    # middle of a transaction, whose row locks would block every other worker.
    first = chaos.start_worker(concurrency=1)
    job_id = chaos.upload(20)
    chaos.wait(lambda: any(c["chunk"] == 7 for c in chaos.calls()), "chunk 7 called", 30)
    first.freeze()
    chaos.start_worker()
    chaos.wait_terminal(job_id)
    stale = next(c["pid"] for c in chaos.calls() if c["chunk"] == 7)
    first.thaw(stale)
    chaos.wait(
        lambda: "lost its lease; outcome discarded" in first.text(),
        "the old attempt's outcome discarded",
        20,
        job_id,
    )
    first.thaw()
    chunk = next(c for c in chaos.chunks(job_id) if c["chunk_id"] == 7)
    assert chunk["attempts"] == 2
    calls = len(chaos.calls())
    chaos.app.extensions["celery"].send_task("quire.process_chunk", args=[chunk["id"]])
    time.sleep(1.5)
    assert len(chaos.calls()) == calls
    chaos.assert_settled(job_id, "completed", failed={})


def test_old_attempt_cannot_overwrite_a_manual_retry_of_its_chunk(chaos: Chaos) -> None:
    """Scenario 13c: attempt 1 of chunk 7 freezes past its lease; the takeover fails
    permanently; a manual retry sends it back (``attempts`` keeps counting, so its
    claim is attempt 3, never 1 again). The frozen attempt wakes while the retry
    runs: its outcome must be discarded, and the retry's recorded."""
    chaos.script({"delay": 0.1, "chunks": {"7": ["sleep:2", "permanent", "sleep:3"]}})
    # One pool process, frozen inside chunk 7's call: no process is frozen in the
    # middle of a transaction, whose row locks would block every other worker.
    first = chaos.start_worker(concurrency=1)
    job_id = chaos.upload(20)
    chaos.wait(lambda: any(c["chunk"] == 7 for c in chaos.calls()), "chunk 7 called", 30)
    first.freeze()
    chaos.start_worker()
    chaos.wait_terminal(job_id)
    response = chaos.client.post(
        f"/api/v1/jobs/{job_id}/chunks/retry", json={"chunk_ids": [7]}, headers=chaos.headers
    )
    assert response.status_code == 202, response.get_json()
    chaos.wait(lambda: len([c for c in chaos.calls() if c["chunk"] == 7]) == 3, "retry called", 30)
    stale, _, retry_call = [c for c in chaos.calls() if c["chunk"] == 7]
    first.thaw(stale["pid"])
    time.sleep(1)  # the stale attempt writes (or is refused) at once
    first.thaw()
    job = chaos.wait_terminal(job_id)
    chunk = next(c for c in chaos.chunks(job_id) if c["chunk_id"] == 7)
    # The recorded outcome is the retry's: written after its 3 s call, not at the thaw.
    discarded = [
        line for w in chaos.workers for line in w.text().splitlines() if "outcome discarded" in line
    ]
    assert chunk["processed_at"].timestamp() >= retry_call["t"] + 3.0, discarded
    assert "lost its lease; outcome discarded" in first.text(), discarded
    chaos.assert_settled(job_id, "completed", failed={})
    assert job["round"] == 1


def test_cancel_mid_job_then_restart_workers_calls_no_processor(chaos: Chaos) -> None:
    """Scenario 14: cancel mid-job, crash the workers, start new ones: no processor
    call starts after the cancel, and the job ends cancelled once."""
    chaos.script({"delay": 0.3})
    first = chaos.start_worker()
    job_id = chaos.upload(30)
    chaos.wait_done(job_id, 4)
    response = chaos.client.post(f"/api/v1/jobs/{job_id}/cancel", headers=chaos.headers)
    assert response.status_code in (200, 202), response.get_json()
    cancelled_at = chaos.job(job_id)["cancel_requested_at"]
    first.stop()  # SIGTERM, then SIGKILL of the whole group: a crash at worst
    calls_at_restart = len(chaos.calls())
    chaos.start_worker()
    job = chaos.wait_terminal(job_id, timeout=60)
    time.sleep(1)
    assert job["status"] == "cancelled"
    assert len(chaos.calls()) == calls_at_restart  # the new workers called nothing
    # A call in flight at the cancel may finish; none may start after it (the
    # tolerance covers the few ms between the chunk's cancel check and its call
    # being recorded).
    latest = (cancelled_at + timedelta(seconds=0.5)).timestamp()
    assert all(c["t"] < latest for c in chaos.calls()), chaos.calls()
    chaos.assert_settled(job_id, "cancelled")
    assert {c["status"] for c in chaos.chunks(job_id)} <= {"success", "cancelled"}

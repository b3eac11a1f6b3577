"""Workers die or hang: the main process, a pool child, a task past its hard time
limit, a poison chunk that kills every process touching it, a redelivery of a
task that is still running, and a processor call that never returns."""

from __future__ import annotations

import os
import re
import signal

from tests.chaos.harness import MAX_ATTEMPTS, Chaos

PAGES = 30


def test_worker_main_process_sigkill_mid_job_then_restart_completes(chaos: Chaos) -> None:
    """Scenario 1: the chunks the dead worker held come back (expired leases,
    unacknowledged and prefetched messages) and the job completes once."""
    first = chaos.start_worker()
    job_id = chaos.upload(PAGES)
    chaos.wait_done(job_id, 6)
    first.kill_main()
    assert sum(n for s, n in chaos.counts(job_id).items() if s != "success") > 0
    chaos.start_worker()
    job = chaos.wait_terminal(job_id)
    chaos.assert_settled(job_id, "completed", failed={})
    assert job["round"] == 0  # recovered without spending a retry round
    # The dead worker's chunks came back through the reconciler (its in-flight
    # leases expired; its prefetched messages sat unacknowledged in Redis).
    assert chaos.repaired("expired_lease_chunks") | chaos.repaired("stale_chunks")


def test_pool_child_sigkill_and_hard_time_limit_are_recovered(chaos: Chaos) -> None:
    """Scenario 2: a pool child killed mid-call, and a call that ignores the soft
    limit until the hard limit kills its child: both chunks are taken over once
    their lease expires, and succeed on their next delivery."""
    chaos.script({"delay": 0.1, "chunks": {"4": ["sleep:3.5"], "9": ["hang_hard"]}})
    chaos.start_worker()
    job_id = chaos.upload(PAGES)
    chaos.wait(lambda: any(c["chunk"] == 4 for c in chaos.calls()), "chunk 4 called", 30)
    victim = next(c["pid"] for c in chaos.calls() if c["chunk"] == 4)
    os.kill(victim, signal.SIGKILL)
    chaos.wait_terminal(job_id)
    chaos.assert_settled(job_id, "completed", failed={})
    chunks = {c["chunk_id"]: c for c in chaos.chunks(job_id)}
    for index in (4, 9):
        # Taken over from a dead attempt (not retried as a failure in a new round).
        assert chunks[index]["lost_deliveries"] >= 1, chunks[index]
        assert [c["n"] for c in chaos.calls() if c["chunk"] == index][:2] == [0, 1]
    assert chaos.job(job_id)["round"] == 0


def test_poison_chunk_fails_worker_lost_and_the_rest_completes(chaos: Chaos) -> None:
    """Scenario 3: chunk 5 kills its process at every call. After MAX_ATTEMPTS
    lost deliveries it is failed WORKER_LOST (not looping); the job is partial."""
    chaos.script({"delay": 0.1, "chunks": {"5": ["exit"] * 20}})
    chaos.start_worker()
    job_id = chaos.upload(PAGES)
    chaos.wait_terminal(job_id, timeout=120)
    document = chaos.assert_settled(job_id, "partial", failed={5: "WORKER_LOST"})
    assert document["missing_pages"] == [6]
    poison = [c for c in chaos.calls() if c["chunk"] == 5]
    assert len(poison) == MAX_ATTEMPTS, poison  # never called again once capped
    assert chaos.job(job_id)["round"] == 0  # WORKER_LOST is not retried


def test_redelivery_after_visibility_timeout_while_running_does_not_reprocess(
    chaos: Chaos,
) -> None:
    """Scenario 4: with a 2 s visibility timeout Redis hands a still-running task
    to another process; the copy finds a live lease and does nothing, and the
    chord counter it bumps early does not finalize the job before its end."""
    long_limits = {"QUIRE_CHUNK_SOFT_TIME_LIMIT": "40", "QUIRE_CHUNK_TIME_LIMIT": "45"}
    chaos.script({"delay": 0.1, "chunks": {"3": ["sleep:14"]}})
    worker = chaos.start_worker(
        include="tests.chaos.processor,tests.chaos.fast_restore",
        QUIRE_VISIBILITY_TIMEOUT_SECONDS="2",
        **long_limits,
    )
    job_id = chaos.upload(20)
    chaos.wait_terminal(job_id, timeout=90)
    chaos.assert_settled(job_id, "completed", failed={})
    slow = next(c for c in chaos.chunks(job_id) if c["chunk_id"] == 3)
    received = re.findall(
        rf"quire\.process_chunk\[{slow['celery_task_id']}\] received", worker.text()
    )
    assert len(received) >= 2, "the running task was never redelivered"
    assert slow["attempts"] == 1
    assert len([c for c in chaos.calls() if c["chunk"] == 3]) == 1


def test_hung_processor_call_hits_soft_limit_and_succeeds_next_round(chaos: Chaos) -> None:
    """Scenario 11: a call that never returns is cut by the soft time limit,
    recorded as a retryable failure, and succeeds in the next automatic round."""
    chaos.script({"delay": 0.1, "chunks": {"6": ["hang"]}})
    chaos.start_worker()
    job_id = chaos.upload(20)
    job = chaos.wait_terminal(job_id, timeout=60)
    chaos.assert_settled(job_id, "completed", failed={})
    assert job["round"] == 1
    assert len([c for c in chaos.calls() if c["chunk"] == 6]) == 2

"""Processors that fail on purpose: a permanent error, a storm of 429s."""

from __future__ import annotations

from collections import Counter

from tests.chaos.harness import Chaos


def test_permanent_error_fails_its_chunk_only(chaos: Chaos) -> None:
    """Scenario 6: a permanent error is not retried; a transient one on another
    chunk is, in one automatic round; the job is partial and says what is missing."""
    chaos.script({"delay": 0.1, "chunks": {"4": ["permanent"] * 5, "9": ["transient"]}})
    chaos.start_worker()
    job_id = chaos.upload(20)
    job = chaos.wait_terminal(job_id)
    document = chaos.assert_settled(job_id, "partial", failed={4: "INVALID_PDF"})
    assert document["missing_pages"] == [5]
    assert job["round"] == 1
    calls = Counter(c["chunk"] for c in chaos.calls())
    assert (calls[4], calls[9]) == (1, 2)


def test_rate_limit_storm_is_ridden_out_by_retry_rounds(chaos: Chaos) -> None:
    """Scenario 10: every chunk answers 429 (RATE_LIMITED, with a retry delay) on its
    first two calls; two automatic rounds later the job completes, each chunk
    called three times, each round finalized once."""
    chaos.script({"delay": 0.02, "chunks": {str(i): ["rate_limited"] * 2 for i in range(20)}})
    chaos.start_worker()
    job_id = chaos.upload(20)
    job = chaos.wait_terminal(job_id)
    chaos.assert_settled(job_id, "completed", failed={})
    assert job["round"] == 2
    assert set(Counter(c["chunk"] for c in chaos.calls()).values()) == {3}

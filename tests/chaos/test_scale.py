"""Scenario 15: a 2,000-chunk job with a no-op processor completes, and finalize
stays fast: its merge grows about linearly with the chunk count."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chaos.harness import Chaos

pytestmark = pytest.mark.scale

# Finalize of 2,000 chunks vs 200: linear is 10×. Allow noise, catch anything
# quadratic (100×), such as a query or a merge step per chunk over all chunks.
MAX_RATIO = 30


def finalize_seconds(chaos: Chaos, job_id: str) -> float:
    """From the commit that took the round to the commit of the final state."""
    with chaos.sql() as conn:
        events: list[dict[str, Any]] = conn.execute(
            "SELECT * FROM chaos_job_events WHERE job_id = %s ORDER BY id", (job_id,)
        ).fetchall()
    took = next(e["at"] for e in events if e["new_finalized"] > e["old_finalized"])
    done = next(e["at"] for e in events if e["new_status"] == "completed")
    return float((done - took).total_seconds())


def test_two_thousand_chunk_job_completes_and_finalize_scales_linearly(chaos: Chaos) -> None:
    chaos.script({"delay": 0})
    chaos.start_worker()
    small = chaos.upload(200, tag=1)
    chaos.wait_terminal(small, timeout=120)
    big = chaos.upload(2000, tag=2)
    chaos.wait_terminal(big, timeout=420)
    chaos.assert_settled(small, "completed", failed={}, tag=1)
    document = chaos.assert_settled(big, "completed", failed={}, tag=2)
    assert document["sentence_count"] == 2000
    small_s, big_s = finalize_seconds(chaos, small), finalize_seconds(chaos, big)
    assert big_s <= MAX_RATIO * max(small_s, 0.01), (small_s, big_s)

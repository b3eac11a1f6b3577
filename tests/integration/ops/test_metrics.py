"""/metrics: Prometheus exposition parsed back, scrape-time gauges, multiprocess mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import upload
from tests.integration.conftest import blank_pdf
from tests.integration.ops.conftest import user_headers

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    parsed: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            parsed[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return parsed


def test_metrics_expose_jobs_by_state_and_the_shared_counters(make_app: Any) -> None:
    from kombu.transport import memory

    for fifo in memory.Channel.queues.values():
        fifo.queue.clear()  # embedded mode's queues are global to the process
    flask_app = make_app(rate_limit_uploads="2/minute")
    client = flask_app.test_client()
    headers = user_headers(flask_app, "metrics@example.com")
    before = samples(client.get("/metrics").get_data(as_text=True))
    for _ in range(3):  # two jobs, then a 429
        upload(client, headers, blank_pdf(2))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    after = samples(response.get_data(as_text=True))
    assert after[("quire_jobs", (("status", "queued"),))] == 2
    assert after[("quire_jobs", (("status", "completed"),))] == 0
    assert after[("quire_stuck_jobs", ())] == 0
    assert after[("quire_expired_leases", ())] == 0
    limited = ("quire_rate_limited_total", (("source", "api"),))
    assert after[limited] == before.get(limited, 0) + 1
    assert after[("quire_db_pool_connections", (("state", "size"),))] == 10
    assert after[("quire_db_pool_connections", (("state", "capacity"),))] == 30
    # No worker runs: both split messages wait in the (embedded) queue.
    assert after[("quire_queue_depth", (("queue", "split"),))] == 2
    assert after[("quire_queue_depth", (("queue", "chunks"),))] == 0
    assert after[("quire_queue_oldest_message_age_seconds", (("queue", "split"),))] > 0
    assert after[("quire_queue_oldest_message_age_seconds", (("queue", "chunks"),))] == 0
    for fifo in memory.Channel.queues.values():
        fifo.queue.clear()


def test_stuck_jobs_count_active_jobs_without_change_for_30_minutes(make_app: Any) -> None:
    flask_app = make_app()
    client = flask_app.test_client()
    headers = user_headers(flask_app, "stuck@example.com")
    job_id = upload(client, headers, blank_pdf(2)).get_json()["job_id"]
    upload(client, headers, blank_pdf(2))
    with flask_app.app_context():
        from sqlalchemy import text

        from backend.extensions import db

        db.session.execute(
            text(
                "UPDATE jobs SET status = 'processing', updated_at = now() - interval '31 minutes'"
                " WHERE id = :id"
            ),
            {"id": job_id},
        )
        db.session.commit()
        db.session.remove()
    after = samples(client.get("/metrics").get_data(as_text=True))
    assert after[("quire_stuck_jobs", ())] == 1
    assert after[("quire_jobs", (("status", "processing"),))] == 1


INCREMENT = """
from backend.metrics import CACHE_HITS
CACHE_HITS.labels(processor="gemini", layer="db").inc({amount})
"""
SCRAPE = """
from backend import create_app
app = create_app({{"database_url": {url!r}, "broker_url": "memory://",
                  "result_backend": "cache+memory://", "embedded_worker": False}})
print(app.test_client().get("/metrics").get_data(as_text=True))
with app.app_context():
    from backend.extensions import db
    db.engine.dispose()
"""


def test_multiprocess_mode_adds_up_counters_of_every_process(
    database_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "QUIRE_DATA_DIR": str(tmp_path)}
    for amount in (2, 3):  # two worker processes, each gone before the scrape
        subprocess.run(
            [sys.executable, "-c", INCREMENT.format(amount=amount)], env=env, check=True, cwd=ROOT
        )
    scraped = subprocess.run(
        [sys.executable, "-c", SCRAPE.format(url=database_url)],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    parsed = samples(scraped)
    assert (
        parsed[("quire_result_cache_hits_total", (("layer", "db"), ("processor", "gemini")))] == 5
    )
    assert ("quire_jobs", (("status", "queued"),)) in parsed

"""GET /jobs reads a page's chunk counts and usage in one grouped query, not per job."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import event, update

from backend.extensions import db
from backend.models import JobChunk

pytestmark = pytest.mark.integration


@pytest.fixture
def statements(app: APIFlask) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the test runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def make_jobs(
    app: APIFlask, create_job: Callable[..., str], split: Callable[[str], str], headers: Any, n: int
) -> list[str]:
    """``n`` split jobs of 4 pages (2 chunks each); chunk 0 paid 50 tokens, chunk 1 a hit."""
    ids = []
    for _ in range(n):
        job_id = create_job(headers, pages=4, pages_per_chunk=2, overlap_pages=0)
        split(job_id)
        ids.append(job_id)
    with app.app_context():
        db.session.execute(
            update(JobChunk)
            .where(JobChunk.job_id.in_(ids), JobChunk.chunk_id == 0)
            .values(status="success", tokens_used=50)
        )
        db.session.execute(
            update(JobChunk)
            .where(JobChunk.job_id.in_(ids), JobChunk.chunk_id == 1)
            .values(status="failed", cache_hit=True)
        )
        db.session.commit()
    return ids


def list_page(client: FlaskClient, headers: Any, seen: list[str]) -> tuple[list[Any], int]:
    seen.clear()
    response = client.get("/api/v1/jobs?per_page=100", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"], len(seen)


def test_job_list_statement_count_does_not_grow_with_the_page(
    app: APIFlask,
    client: FlaskClient,
    alice: dict[str, str],
    create_job: Callable[..., str],
    split: Callable[[str], str],
    statements: list[str],
) -> None:
    make_jobs(app, create_job, split, alice, 2)
    small, small_count = list_page(client, alice, statements)
    make_jobs(app, create_job, split, alice, 8)
    large, large_count = list_page(client, alice, statements)

    assert (len(small), len(large)) == (2, 10)
    assert large_count == small_count, statements


def test_job_list_reports_the_same_counts_and_usage_as_the_job_itself(
    app: APIFlask,
    client: FlaskClient,
    alice: dict[str, str],
    create_job: Callable[..., str],
    split: Callable[[str], str],
    statements: list[str],
) -> None:
    make_jobs(app, create_job, split, alice, 3)
    empty = create_job(alice, pages=2)  # never split: no chunks at all
    items, _ = list_page(client, alice, statements)

    assert len(items) == 4
    for item in items:
        single = client.get(f"/api/v1/jobs/{item['id']}", headers=alice).get_json()
        assert item["progress"] == single["progress"]
        assert item["usage"] == single["usage"]
    by_id = {item["id"]: item for item in items}
    assert by_id[empty]["usage"] == {"tokens_used": 0, "cache_hits": 0}
    paid = [i["usage"] for i in items if i["id"] != empty]
    assert paid == [{"tokens_used": 50, "cache_hits": 1}] * 3

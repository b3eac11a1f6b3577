"""Database robustness on real Postgres: pool levels, timeouts, deadlocks, error mapping."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
import pytest
from apiflask import APIFlask
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.metrics import DB_DEADLOCK_RETRIES
from backend.models import User
from backend.services.deadlock import retry_on_deadlock
from tests.conftest import pg_url
from tests.integration.conftest import assert_error

pytestmark = pytest.mark.integration


def _pool_status(flask_app: APIFlask, checked_out: int) -> tuple[int, dict[str, Any]]:
    with flask_app.app_context():
        held = [db.engine.connect() for _ in range(checked_out)]
        try:
            response = flask_app.test_client().get("/health/database")
        finally:
            for conn in held:
                conn.close()
    return response.status_code, response.get_json()


def test_pool_utilisation_level_follows_checked_out_connections(make_app: Any) -> None:
    flask_app = make_app(db_pool_size=10, db_max_overflow=10)  # capacity 20
    expected = {0: "healthy", 14: "healthy", 15: "degraded", 18: "degraded", 19: "unhealthy"}
    for checked_out, level in expected.items():
        status, body = _pool_status(flask_app, checked_out)
        assert body["status"] == level, (checked_out, body)
        assert status == (503 if level == "unhealthy" else 200)
        pool = body["pool"]
        assert pool["checked_out"] == checked_out
        assert (pool["size"], pool["max_overflow"], pool["capacity"]) == (10, 10, 20)
        assert pool["overflow"] == max(0, checked_out - 10)


def test_exhausted_pool_is_unhealthy_without_waiting_for_a_connection(make_app: Any) -> None:
    flask_app = make_app(db_pool_size=2, db_max_overflow=0, db_pool_timeout=30)
    started = time.monotonic()
    status, body = _pool_status(flask_app, 2)
    assert time.monotonic() - started < 5
    assert (status, body["status"]) == (503, "unhealthy")
    assert body["error"] == "the connection pool is exhausted"


def test_statement_timeout_is_set_per_connection_and_answers_408(make_app: Any) -> None:
    flask_app = make_app(db_statement_timeout_ms=200)

    @flask_app.get("/_test/slow")
    def slow() -> dict[str, Any]:
        db.session.execute(text("SELECT pg_sleep(2)"))
        return {}

    with flask_app.app_context():
        assert db.session.scalar(text("SHOW statement_timeout")) == "200ms"
        db.session.remove()
    response = flask_app.test_client().get("/_test/slow")
    assert_error(response, 408, "DB_TIMEOUT_ERROR")
    assert "pg_sleep" not in response.get_data(as_text=True)


def test_unique_violation_answers_409_duplicate_entry(make_app: Any) -> None:
    flask_app = make_app()

    @flask_app.post("/_test/duplicate")
    def duplicate() -> dict[str, Any]:
        for _ in range(2):  # the second insert hits the unique index on email
            db.session.add(User(email="twice@example.com", password_hash="x", role="user"))
            db.session.commit()
        return {}

    response = flask_app.test_client().post("/_test/duplicate")
    assert_error(response, 409, "DUPLICATE_ENTRY")
    body = response.get_data(as_text=True)
    assert "INSERT" not in body
    assert "users" not in body


def test_other_query_errors_answer_500_without_sql_or_trace(make_app: Any) -> None:
    flask_app = make_app()

    @flask_app.get("/_test/bad-sql")
    def bad_sql() -> dict[str, Any]:
        db.session.execute(text("SELECT no_such_column FROM users"))
        return {}

    response = flask_app.test_client().get("/_test/bad-sql")
    assert_error(response, 500, "DB_QUERY_ERROR")
    body = response.get_data(as_text=True)
    assert "no_such_column" not in body
    assert "Traceback" not in body


def test_database_down_answers_503_with_the_contract_body(down_app: APIFlask) -> None:
    client = down_app.test_client()
    response = client.post(
        "/api/v1/auth/login", json={"email": "a@example.com", "password": "whatever-long"}
    )
    assert_error(response, 503, "DB_CONNECTION_ERROR")
    assert response.headers["Retry-After"] == "5"
    assert "127.0.0.1" not in response.get_data(as_text=True)
    health = client.get("/health/database")
    assert health.status_code == 503
    assert health.get_json()["status"] == "unhealthy"
    assert health.get_json()["error"] == "DB_CONNECTION_ERROR"
    assert client.get("/health").status_code == 200  # liveness does no I/O


def test_slow_queries_are_logged_with_duration_and_caller(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    flask_app = make_app(slow_query_ms=50)
    with caplog.at_level(logging.WARNING, logger="backend.database"), flask_app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.execute(text("SELECT pg_sleep(0.1)"))
        db.session.remove()
    slow = [r.getMessage() for r in caplog.records if r.getMessage().startswith("slow query")]
    assert len(slow) == 1, slow
    assert "pg_sleep(0.1)" in slow[0]
    assert "test_database_robustness.py" in slow[0]
    assert "test_slow_queries_are_logged_with_duration_and_caller" in slow[0]


def _users(flask_app: APIFlask) -> tuple[int, int]:
    with flask_app.app_context():
        first = User(email="first@example.com", password_hash="x", role="user")
        second = User(email="second@example.com", password_hash="x", role="user")
        db.session.add_all([first, second])
        db.session.commit()
        return first.id, second.id


def _wait_until_waiting_on_a_lock(pid: int) -> None:
    with psycopg.connect(pg_url(db_name()), autocommit=True) as probe:
        for _ in range(200):
            row = probe.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            if row and row[0] == "Lock":
                return
            time.sleep(0.02)
    raise AssertionError("the other transaction never waited on our lock")


def db_name() -> str:
    from tests.conftest import TEST_DB

    return TEST_DB


def test_deadlock_victim_is_rolled_back_and_retried(make_app: Any) -> None:
    flask_app = make_app()
    first, second = _users(flask_app)
    calls: list[int] = []
    first_locked = threading.Event()
    other_pid: list[int] = []
    other_error: list[BaseException] = []

    def other_transaction() -> None:
        # Locks the rows in the opposite order, and waits long before checking for
        # deadlocks, so that our side is the one Postgres aborts.
        try:
            with psycopg.connect(pg_url(db_name())) as conn:
                other_pid.append(conn.info.backend_pid)
                conn.execute("SET deadlock_timeout = '10s'")
                assert first_locked.wait(10)
                conn.execute("UPDATE users SET role = 'operator' WHERE id = %s", (second,))
                conn.execute("UPDATE users SET role = 'operator' WHERE id = %s", (first,))
                conn.commit()
        except BaseException as exc:
            other_error.append(exc)

    @retry_on_deadlock
    def lock_both_in_order() -> None:
        calls.append(1)
        db.session.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
        db.session.execute(
            text("UPDATE users SET email = 'a-' || email WHERE id = :i"), {"i": first}
        )
        if len(calls) == 1:
            first_locked.set()
            while not other_pid:
                time.sleep(0.01)
            _wait_until_waiting_on_a_lock(other_pid[0])
        db.session.execute(
            text("UPDATE users SET email = 'b-' || email WHERE id = :i"), {"i": second}
        )
        db.session.commit()

    before = DB_DEADLOCK_RETRIES.labels(function=lock_both_in_order.__qualname__)._value.get()
    thread = threading.Thread(target=other_transaction)
    thread.start()
    with flask_app.app_context():
        lock_both_in_order()
        thread.join(15)
        assert not other_error, other_error
        rows = dict(db.session.execute(text("SELECT id, email FROM users")).all())
        roles = dict(db.session.execute(text("SELECT id, role FROM users")).all())
        db.session.remove()
    assert len(calls) == 2
    assert rows == {first: "a-first@example.com", second: "b-second@example.com"}
    assert roles == {first: "operator", second: "operator"}
    after = DB_DEADLOCK_RETRIES.labels(function=lock_both_in_order.__qualname__)._value.get()
    assert after == before + 1


def test_errors_other_than_deadlocks_are_not_retried(make_app: Any) -> None:
    flask_app = make_app()
    calls: list[int] = []

    @retry_on_deadlock
    def insert_twice() -> None:
        calls.append(1)
        for _ in range(2):
            db.session.add(User(email="dup@example.com", password_hash="x", role="user"))
            db.session.commit()

    with flask_app.app_context():
        with pytest.raises(IntegrityError):
            insert_twice()
        db.session.rollback()
        db.session.remove()
    assert calls == [1]

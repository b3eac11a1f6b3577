"""Audit finding 5: who has an account must not show, by answer or by time.

Timings are compared as ratios of medians measured in the same test, from
interleaved requests (the machine is shared: absolute times mean nothing). Each
request comes from its own client address so that the login throttle stays out
of the measurement.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from flask.testing import FlaskClient

from tests.integration.conftest import assert_error

PASSWORD = "correct horse battery"
ROUNDS = 7


def timed(client: FlaskClient, path: str, body: dict[str, str], n: int) -> tuple[Any, float]:
    started = time.perf_counter()
    response = post(client, path, body, n)
    return response, time.perf_counter() - started


def post(client: FlaskClient, path: str, body: dict[str, str], n: int) -> Any:
    return client.post(path, json=body, environ_base={"REMOTE_ADDR": f"10.9.{n // 250}.{n % 250}"})


def test_register_answers_a_taken_email_exactly_like_a_new_one(
    client: FlaskClient, make_user: Any
) -> None:
    make_user("taken@example.com")

    new = post(
        client, "/api/v1/auth/register", {"email": "new@example.com", "password": PASSWORD}, 1
    )
    taken = post(
        client, "/api/v1/auth/register", {"email": "Taken@Example.com", "password": PASSWORD}, 2
    )

    assert new.status_code == taken.status_code == 202
    assert new.get_data() == taken.get_data()
    assert set(new.get_json()) == {"message"}
    assert new.headers.get("Content-Type") == taken.headers.get("Content-Type")


def test_register_takes_as_long_for_a_taken_email_as_for_a_new_one(
    client: FlaskClient, make_user: Any
) -> None:
    make_user("taken@example.com")
    new_times, taken_times = [], []
    for n in range(ROUNDS):
        body = {"email": f"fresh{n}@example.com", "password": PASSWORD}
        response, elapsed = timed(client, "/api/v1/auth/register", body, 2 * n)
        assert response.status_code == 202
        new_times.append(elapsed)
        body = {"email": "taken@example.com", "password": PASSWORD}
        response, elapsed = timed(client, "/api/v1/auth/register", body, 2 * n + 1)
        assert response.status_code == 202
        taken_times.append(elapsed)

    ratio = statistics.median(taken_times) / statistics.median(new_times)
    assert 0.5 <= ratio <= 2.0, (new_times, taken_times)


def test_login_takes_as_long_for_an_unknown_email_as_for_a_known_one(
    client: FlaskClient, make_user: Any
) -> None:
    for n in range(ROUNDS):  # one account per round: the per-email throttle counts misses
        make_user(f"known{n}@example.com")
    known_times, unknown_times = [], []
    for n in range(ROUNDS):
        body = {"email": f"known{n}@example.com", "password": f"wrong password {n}"}
        response, elapsed = timed(client, "/api/v1/auth/login", body, 2 * n)
        assert_error(response, 401, "UNAUTHORIZED")
        known_times.append(elapsed)
        body = {"email": f"unknown{n}@example.com", "password": f"wrong password {n}"}
        response, elapsed = timed(client, "/api/v1/auth/login", body, 2 * n + 1)
        assert_error(response, 401, "UNAUTHORIZED")
        unknown_times.append(elapsed)

    ratio = statistics.median(unknown_times) / statistics.median(known_times)
    assert 0.5 <= ratio <= 2.0, (known_times, unknown_times)


def test_login_refusals_for_unknown_email_and_wrong_password_are_identical(
    client: FlaskClient, make_user: Any
) -> None:
    make_user("known@example.com")

    wrong = post(
        client, "/api/v1/auth/login", {"email": "known@example.com", "password": "nope nope"}, 1
    )
    unknown = post(
        client, "/api/v1/auth/login", {"email": "ghost@example.com", "password": "nope nope"}, 2
    )

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_data() == unknown.get_data()

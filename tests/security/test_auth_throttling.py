"""Audit finding 4: login and sign-up without throttling (guessing, CPU exhaustion, free quota).

Defaults: login 10/minute per client address (every attempt), 5/minute per email
(failed attempts), sign-up 10/hour per client address. The security suite shares
the session app; its limiter is reset after each test (``client`` fixture).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from apiflask import APIFlask
from flask.testing import FlaskClient
from limits.storage import MemoryStorage, RedisStorage

from tests.conftest import dispose, queue_only_app
from tests.integration.conftest import REDIS, assert_error, redis_service_app

PASSWORD = "correct horse battery"
# A Redis DB number of this suite's own (the e2e suite uses 11/12, integration 13-15).
THROTTLE_REDIS_DB = 9


def login(client: FlaskClient, email: str, password: str, address: str = "127.0.0.1") -> Any:
    return client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def register(client: FlaskClient, email: str, address: str = "127.0.0.1") -> Any:
    return client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": address},
    )


def assert_throttled(response: Any, window: int = 60) -> int:
    assert_error(response, 429, "RATE_LIMITED")
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= window + 1  # rounded up: a window of 60 s can say 61
    return wait


def test_wrong_passwords_for_one_email_are_throttled_and_then_even_the_right_one_waits(
    client: FlaskClient, make_user: Any
) -> None:
    make_user("victim@example.com")
    # Each guess from another address: the per-email limit alone must stop them.
    for n in range(5):
        response = login(client, "victim@example.com", f"guess number {n}", f"10.1.0.{n}")
        assert_error(response, 401, "UNAUTHORIZED")

    assert_throttled(login(client, "victim@example.com", "guess number 5", "10.1.0.99"))
    assert_throttled(login(client, "VICTIM@example.com ", PASSWORD, "10.1.0.100"))


def test_successful_logins_do_not_use_up_the_per_email_allowance(
    client: FlaskClient, make_user: Any
) -> None:
    make_user("busy@example.com")
    for n in range(8):  # more than 5, each from its own address
        assert login(client, "busy@example.com", PASSWORD, f"10.2.0.{n}").status_code == 200


def test_logins_from_one_address_are_throttled_across_emails(client: FlaskClient) -> None:
    for n in range(10):
        assert login(client, f"nobody{n}@example.com", "whatever pw").status_code == 401

    assert_throttled(login(client, "someone-else@example.com", "whatever pw"))
    # Another address is counted apart.
    assert login(client, "someone-else@example.com", "whatever pw", "10.3.0.1").status_code == 401


def test_a_throttled_login_costs_no_password_hash(client: FlaskClient) -> None:
    """The CPU-exhaustion lever: past the limit, an attempt is refused before scrypt."""
    hashed, refused = [], []
    for n in range(14):
        started = time.perf_counter()
        response = login(client, f"cpu{n}@example.com", "whatever pw")
        (hashed if response.status_code == 401 else refused).append(time.perf_counter() - started)
    assert len(hashed) == 10
    assert len(refused) == 4

    assert statistics.median(refused) < 0.25 * statistics.median(hashed)


def test_sign_ups_from_one_address_are_throttled(client: FlaskClient) -> None:
    for n in range(10):
        assert register(client, f"farm{n}@example.com").status_code == 202

    assert_throttled(register(client, "farm10@example.com"), window=3600)
    assert register(client, "farm11@example.com", "10.4.0.1").status_code == 202


@pytest.fixture
def proxied_app(database_url: str, tmp_path: Path) -> Iterator[APIFlask]:
    flask_app = queue_only_app(database_url, tmp_path, trusted_proxy_hops=1)
    yield flask_app
    flask_app.extensions["quire_limiter"].reset()
    dispose(flask_app)


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(
    proxied_app: APIFlask, client: FlaskClient
) -> None:
    proxied = proxied_app.test_client()

    def attempt(forwarded: str, email: str = "x@example.com") -> int:
        return proxied.post(
            "/api/v1/auth/login",
            json={"email": email, "password": "whatever pw"},
            headers={"X-Forwarded-For": forwarded},
        ).status_code

    # The client forges the left part; the proxy appends the address it saw (the right).
    codes = [attempt(f"198.51.100.{n}, 203.0.113.7", f"x{n}@example.com") for n in range(11)]
    assert codes == [401] * 10 + [429]  # one client, whatever it wrote: its limit holds
    assert attempt("203.0.113.8", "y@example.com") == 401  # another client, same proxy


def test_without_trusted_proxies_a_forged_forwarded_header_changes_nothing(
    client: FlaskClient,
) -> None:
    for n in range(10):
        response = client.post(
            "/api/v1/auth/login",
            json={"email": f"f{n}@example.com", "password": "whatever pw"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        )
        assert response.status_code == 401

    assert_throttled(login(client, "f10@example.com", "whatever pw"))


def test_login_counters_live_in_redis_in_service_mode_and_in_memory_embedded(
    database_url: str, tmp_path: Path, app: APIFlask
) -> None:
    assert isinstance(app.extensions["quire_limiter"].storage, MemoryStorage)
    with redis_service_app(database_url, tmp_path, THROTTLE_REDIS_DB, "throttle") as service:
        limiter = service.extensions["quire_limiter"]
        assert isinstance(limiter.storage, RedisStorage)
        client = service.test_client()
        for _ in range(5):
            login(client, "nobody@example.com", "whatever pw")

        assert_throttled(login(client, "nobody@example.com", "whatever pw", "10.5.0.1"))
        keys = redis.Redis.from_url(f"{REDIS}/{THROTTLE_REDIS_DB}").keys("*")
        assert any(b"auth.login" in key for key in keys), keys
        assert not any(b"nobody@example.com" in key for key in keys)  # emails are hashed
        limiter.reset()

"""Audit findings 6 and 9: sessions that can end, refresh tokens that cannot be replayed,
and tokens whose ``sub`` names no user (401, never a 500).
"""

from __future__ import annotations

import threading
from typing import Any

import jwt as pyjwt
import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import delete, func, select

from backend.extensions import db
from backend.models import RefreshToken, TokenRevocation, User
from tests.integration.conftest import assert_error

PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: FlaskClient, email: str) -> dict[str, Any]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def refresh(client: FlaskClient, refresh_token: str) -> Any:
    return client.post("/api/v1/auth/refresh", headers=bearer(refresh_token))


def jobs(client: FlaskClient, access_token: str) -> Any:
    return client.get("/api/v1/jobs", headers=bearer(access_token))


@pytest.fixture
def carol(client: FlaskClient, make_user: Any) -> str:
    make_user("carol@example.com")
    return "carol@example.com"


def test_logout_revokes_the_access_token_and_the_refresh_token_of_its_session(
    client: FlaskClient, carol: str
) -> None:
    tokens = login(client, carol)
    assert jobs(client, tokens["access_token"]).status_code == 200

    response = client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_error(jobs(client, tokens["access_token"]), 401, "TOKEN_REVOKED")
    assert_error(refresh(client, tokens["refresh_token"]), 401, "TOKEN_REVOKED")
    # Logging out again with the same (now revoked) token is refused the same way.
    again = client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert_error(again, 401, "TOKEN_REVOKED")


def test_logout_leaves_the_users_other_sessions_alone(client: FlaskClient, carol: str) -> None:
    laptop, phone = login(client, carol), login(client, carol)

    client.post("/api/v1/auth/logout", headers=bearer(laptop["access_token"]))

    assert jobs(client, phone["access_token"]).status_code == 200
    assert refresh(client, phone["refresh_token"]).status_code == 200


def test_logout_with_a_refresh_token_revokes_that_tokens_session_too(
    client: FlaskClient, carol: str
) -> None:
    laptop, phone = login(client, carol), login(client, carol)

    response = client.post(
        "/api/v1/auth/logout",
        headers=bearer(laptop["access_token"]),
        json={"refresh_token": phone["refresh_token"]},
    )

    assert response.status_code == 204
    assert_error(refresh(client, phone["refresh_token"]), 401, "TOKEN_REVOKED")
    assert_error(jobs(client, phone["access_token"]), 401, "TOKEN_REVOKED")


@pytest.mark.parametrize("which", ["someone-elses", "an-access-token", "garbage"])
def test_logout_refuses_a_body_token_that_is_not_a_refresh_token_of_the_caller(
    client: FlaskClient, carol: str, make_user: Any, which: str
) -> None:
    make_user("dave@example.com")
    mine, dave = login(client, carol), login(client, "dave@example.com")
    body_token = {
        "someone-elses": dave["refresh_token"],
        "an-access-token": mine["access_token"],
        "garbage": "not.a.token",
    }[which]

    response = client.post(
        "/api/v1/auth/logout",
        headers=bearer(mine["access_token"]),
        json={"refresh_token": body_token},
    )

    assert_error(response, 400, "INVALID_PARAMS")
    assert jobs(client, mine["access_token"]).status_code == 200  # nothing was revoked
    assert refresh(client, dave["refresh_token"]).status_code == 200


def test_refresh_rotates_and_a_spent_refresh_token_replayed_revokes_the_whole_family(
    client: FlaskClient, carol: str
) -> None:
    first = login(client, carol)
    second = refresh(client, first["refresh_token"]).get_json()
    assert second["refresh_token"] != first["refresh_token"]

    replay = refresh(client, first["refresh_token"])

    details = assert_error(replay, 401, "TOKEN_REUSED")
    assert details == {}
    # Every token of the family is dead: the rotated refresh token and both access tokens.
    assert_error(refresh(client, second["refresh_token"]), 401, "TOKEN_REVOKED")
    assert_error(jobs(client, second["access_token"]), 401, "TOKEN_REVOKED")
    assert_error(jobs(client, first["access_token"]), 401, "TOKEN_REVOKED")
    # A fresh login still works: the user is not locked out, only that session.
    assert jobs(client, login(client, carol)["access_token"]).status_code == 200


def test_a_stolen_refresh_token_used_first_by_the_thief_is_caught_when_the_client_refreshes(
    client: FlaskClient, carol: str
) -> None:
    victim = login(client, carol)
    thief = refresh(client, victim["refresh_token"]).get_json()  # the copy, used first
    assert jobs(client, thief["access_token"]).status_code == 200

    assert_error(refresh(client, victim["refresh_token"]), 401, "TOKEN_REUSED")

    assert_error(jobs(client, thief["access_token"]), 401, "TOKEN_REVOKED")
    assert_error(refresh(client, thief["refresh_token"]), 401, "TOKEN_REVOKED")


def test_concurrent_refreshes_with_one_token_give_exactly_one_success(
    client: FlaskClient, app: APIFlask, carol: str
) -> None:
    token = login(client, carol)["refresh_token"]
    racers = 6
    barrier = threading.Barrier(racers)
    answers: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def race() -> None:
        own = app.test_client()
        barrier.wait()
        response = refresh(own, token)
        body = response.get_json()
        with lock:
            answers.append((response.status_code, body.get("error", {}).get("code")))

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == racers
    assert sum(status == 200 for status, _ in answers) == 1, answers
    losers = [code for status, code in answers if status != 200]
    assert set(losers) <= {"TOKEN_REUSED", "TOKEN_REVOKED"}, answers
    assert "TOKEN_REUSED" in losers
    with app.app_context():
        spent = db.session.scalar(
            select(func.count()).select_from(RefreshToken).where(RefreshToken.used_at.is_not(None))
        )
    assert spent == 1  # the compare-and-set let one refresh spend the token


def test_a_refresh_token_the_server_never_recorded_is_refused(
    client: FlaskClient, app: APIFlask, carol: str
) -> None:
    """A validly signed refresh token with no row (one issued before rotation existed,
    30 days long) cannot be used: every old session must log in again once."""
    user_id = login(client, carol)["user"]["id"]
    with app.app_context():
        legacy = create_refresh_token(str(user_id))

    assert_error(refresh(client, legacy), 401, "TOKEN_REVOKED")


def test_refresh_tokens_live_seven_days_by_default(client: FlaskClient, carol: str) -> None:
    tokens = login(client, carol)
    claims = pyjwt.decode(tokens["refresh_token"], options={"verify_signature": False})

    assert claims["exp"] - claims["iat"] == pytest.approx(7 * 86_400, abs=5)


def test_revocations_expire_with_the_tokens_they_name(
    client: FlaskClient, app: APIFlask, carol: str
) -> None:
    tokens = login(client, carol)
    access = pyjwt.decode(tokens["access_token"], options={"verify_signature": False})

    client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))

    with app.app_context():
        rows = {row.kind: row for row in db.session.scalars(select(TokenRevocation))}
    assert set(rows) == {"access", "family"}
    assert rows["access"].token_id == access["jti"]
    assert int(rows["access"].expires_at.timestamp()) == access["exp"]
    assert rows["family"].token_id == access["fam"]


def _signed(app: APIFlask, claims: dict[str, Any]) -> str:
    return pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")


BAD_SUBJECTS = ["abc", "", "0", "-1", "1.5", " 1", "1e3", "9" * 30, str(2**31), "١"]


@pytest.mark.parametrize("subject", BAD_SUBJECTS)
@pytest.mark.parametrize("route", ["list", "upload", "refresh"])
def test_a_token_whose_sub_names_no_user_is_401_never_500(
    client: FlaskClient, app: APIFlask, subject: str, route: str
) -> None:
    with app.app_context():
        if route == "refresh":
            token = create_refresh_token(subject)
        else:
            token = create_access_token(subject)

    if route == "list":
        response = jobs(client, token)
    elif route == "upload":
        response = client.post("/api/v1/jobs", headers=bearer(token), data={})
    else:
        response = refresh(client, token)

    assert_error(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "claims",
    [
        {"type": "access", "fresh": False, "jti": "j1"},  # no sub
        {"type": "access", "fresh": False, "jti": "j2", "sub": 1},  # not a string
        {"type": "access", "fresh": False, "jti": "j3", "sub": None},
        {"type": "access", "fresh": False, "jti": "j4", "sub": ["1"]},
    ],
    ids=["missing", "integer", "null", "list"],
)
def test_a_token_with_a_missing_or_non_string_sub_is_401(
    client: FlaskClient, app: APIFlask, carol: str, claims: dict[str, Any]
) -> None:
    assert_error(jobs(client, _signed(app, claims)), 401, "UNAUTHORIZED")


def test_tokens_of_a_deleted_user_are_401_on_every_route(
    client: FlaskClient, app: APIFlask, carol: str
) -> None:
    tokens = login(client, carol)
    with app.app_context():
        db.session.execute(delete(User).where(User.email == carol))
        db.session.commit()

    assert_error(jobs(client, tokens["access_token"]), 401, "UNAUTHORIZED")
    assert_error(refresh(client, tokens["refresh_token"]), 401, "UNAUTHORIZED")
    logout = client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert_error(logout, 401, "UNAUTHORIZED")

"""Register, login and refresh; every auth failure is a 401 with the error contract.

Register answers 202 without tokens (the client logs in next); refresh rotates
the refresh token. Attacks on these (throttling, enumeration, replay) are in
tests/security/.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import delete

from backend.extensions import db
from backend.models import User
from tests.integration.conftest import assert_error

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def register(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/register", json={"email": email, "password": password})


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed_up(client: FlaskClient, email: str) -> dict[str, Any]:
    """Register then log in, as a client does; the login's body."""
    assert register(client, email).status_code == 202
    response = login(client, email)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_register_returns_202_without_tokens_then_login_gives_tokens_and_user(
    client: FlaskClient,
) -> None:
    response = register(client, "carol@example.com")

    assert response.status_code == 202
    assert set(response.get_json()) == {"message"}
    assert "token" not in response.get_data(as_text=True)
    body = login(client, "carol@example.com").get_json()
    assert body["token_type"] == "Bearer"
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert body["expires_in"] == 3600
    assert body["user"]["email"] == "carol@example.com"
    assert body["user"]["role"] == "user"
    assert "password" not in body["user"]
    assert client.get("/api/v1/jobs", headers=bearer(body["access_token"])).status_code == 200


def test_register_rejects_a_role_field_so_nobody_self_grants_operator(
    client: FlaskClient,
) -> None:
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "mallory@example.com", "password": PASSWORD, "role": "operator"},
    )

    details = assert_error(response, 400, "INVALID_PARAMS")
    assert "role" in details["json"]
    assert_error(login(client, "mallory@example.com"), 401, "UNAUTHORIZED")


def test_a_taken_email_keeps_its_account_and_password_case_insensitively(
    client: FlaskClient,
) -> None:
    assert register(client, "dave@example.com").status_code == 202

    assert register(client, "dave@example.com", "another password 1").status_code == 202
    assert register(client, "Dave@Example.COM", "another password 2").status_code == 202

    assert login(client, "dave@example.com").status_code == 200
    assert_error(login(client, "dave@example.com", "another password 1"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "erin@example.com", "password": "short"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
        ({"email": "erin@example.com"}, "password"),
    ],
)
def test_invalid_registration_is_400_invalid_params_naming_the_field(
    client: FlaskClient, payload: dict[str, str], field: str
) -> None:
    details = assert_error(
        client.post("/api/v1/auth/register", json=payload), 400, "INVALID_PARAMS"
    )

    assert field in details["json"]


def test_login_returns_tokens_that_work_on_the_jobs_list(client: FlaskClient) -> None:
    assert register(client, "frank@example.com").status_code == 202

    response = login(client, "FRANK@example.com")

    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["email"] == "frank@example.com"
    jobs = client.get("/api/v1/jobs", headers=bearer(body["access_token"]))
    assert jobs.status_code == 200
    assert jobs.get_json()["items"] == []


@pytest.mark.parametrize(
    ("email", "password"),
    [("grace@example.com", "wrong password!"), ("nobody@example.com", PASSWORD)],
    ids=["wrong-password", "unknown-email"],
)
def test_bad_credentials_are_401_unauthorized_without_saying_which(
    client: FlaskClient, email: str, password: str
) -> None:
    register(client, "grace@example.com")

    response = login(client, email, password)

    assert_error(response, 401, "UNAUTHORIZED")
    assert "access_token" not in response.get_data(as_text=True)
    assert response.get_json()["error"]["message"] == "wrong email or password"


def test_refresh_token_yields_a_working_access_token_and_the_next_refresh_token(
    client: FlaskClient,
) -> None:
    tokens = signed_up(client, "heidi@example.com")

    response = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"] != tokens["refresh_token"]
    assert client.get("/api/v1/jobs", headers=bearer(body["access_token"])).status_code == 200
    again = client.post("/api/v1/auth/refresh", headers=bearer(body["refresh_token"]))
    assert again.status_code == 200


def test_refresh_with_an_access_token_is_401(client: FlaskClient) -> None:
    tokens = signed_up(client, "ivan@example.com")

    response = client.post("/api/v1/auth/refresh", headers=bearer(tokens["access_token"]))

    assert_error(response, 401, "UNAUTHORIZED")


def test_refresh_token_is_not_accepted_as_an_access_token(client: FlaskClient) -> None:
    tokens = signed_up(client, "judy@example.com")

    response = client.get("/api/v1/jobs", headers=bearer(tokens["refresh_token"]))

    assert_error(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer a.b.c"},
    ],
    ids=["no-header", "garbage", "empty", "basic", "three-garbage-segments"],
)
def test_missing_or_garbage_token_is_401_with_error_contract(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    assert_error(client.get("/api/v1/jobs", headers=headers), 401, "UNAUTHORIZED")


def test_token_signed_with_another_key_is_401(
    client: FlaskClient, app: APIFlask, make_user: Any
) -> None:
    user_id, _ = make_user("kim@example.com")
    import jwt as pyjwt

    forged = pyjwt.encode(
        {"sub": str(user_id), "type": "access", "fresh": False, "jti": "x"},
        "not-the-server-secret-not-the-server-secret",
        algorithm="HS256",
    )

    assert_error(client.get("/api/v1/jobs", headers=bearer(forged)), 401, "UNAUTHORIZED")


def test_expired_access_token_is_401_asking_for_refresh(
    client: FlaskClient, app: APIFlask, make_user: Any
) -> None:
    user_id, _ = make_user("leo@example.com")
    with app.app_context():
        token = create_access_token(str(user_id), expires_delta=timedelta(seconds=-60))

    response = client.get("/api/v1/jobs", headers=bearer(token))

    assert_error(response, 401, "UNAUTHORIZED")
    assert "expired" in response.get_json()["error"]["message"]


def test_tokens_of_a_deleted_user_are_401(
    client: FlaskClient, app: APIFlask, make_user: Any
) -> None:
    user_id, headers = make_user("mia@example.com")
    with app.app_context():
        refresh = create_refresh_token(str(user_id))
        db.session.execute(delete(User).where(User.id == user_id))
        db.session.commit()

    assert_error(client.get("/api/v1/jobs", headers=headers), 401, "UNAUTHORIZED")
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(refresh)), 401, "UNAUTHORIZED")

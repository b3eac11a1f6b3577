"""Audit finding 9 (part): passwords nobody should have, or that cannot be typed back.

A NUL was accepted at register and then refused at login (an account nobody can
enter); common passwords fell to the first guesses of any dictionary attack.
"""

from __future__ import annotations

from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import User
from backend.services.passwords import common_passwords
from tests.integration.conftest import assert_error


def register(client: FlaskClient, email: str, password: str) -> Any:
    return client.post("/api/v1/auth/register", json={"email": email, "password": password})


def accounts(app: APIFlask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(User)) or 0)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("password", "most common"),
        ("Password1", "most common"),
        ("12345678", "most common"),
        ("qwertyuiop", "most common"),
        ("ILOVEYOU", "most common"),
        ("          ", "whitespace"),
        ("\t \n \u3000  \u00a0 ", "whitespace"),
        ("abcd\x00efghij", "control character"),
        ("abcd\tefghij", "control character"),
        ("abcdefghij\n", "control character"),
        ("abcd\x7fefghij", "control character"),
        ("abcd\x85efghij", "control character"),
        ("abcd\ud800efghij", "control character"),  # a lone surrogate: cannot be encoded
        ("mallory.smith@example.com", "email"),
        ("MALLORY.SMITH", "email"),
    ],
    ids=[
        "password",
        "Password1",
        "digits",
        "keyboard-row",
        "iloveyou-upper",
        "spaces",
        "unicode-spaces",
        "nul",
        "tab",
        "newline",
        "del",
        "c1-control",
        "lone-surrogate",
        "the-email",
        "the-local-part",
    ],
)
def test_a_weak_or_untypable_password_is_422_weak_password_saying_why(
    client: FlaskClient, app: APIFlask, password: str, reason: str
) -> None:
    response = register(client, "mallory.smith@example.com", password)

    assert_error(response, 422, "WEAK_PASSWORD")
    assert reason in response.get_json()["error"]["message"]
    assert accounts(app) == 0


def test_the_weak_password_answer_does_not_depend_on_the_email_being_taken(
    client: FlaskClient, make_user: Any
) -> None:
    make_user("taken@example.com")

    taken = register(client, "taken@example.com", "password1")
    free = register(client, "free@example.com", "password1")

    assert taken.status_code == free.status_code == 422
    assert taken.get_data() == free.get_data()


def test_the_minimum_length_still_holds(client: FlaskClient) -> None:
    details = assert_error(register(client, "erin@example.com", "Zq7!x"), 400, "INVALID_PARAMS")

    assert "password" in details["json"]


def test_an_uncommon_password_with_inner_spaces_and_accents_is_accepted(
    client: FlaskClient,
) -> None:
    assert register(client, "frank@example.com", "été à  Paris, 1998").status_code == 202

    login = client.post(
        "/api/v1/auth/login", json={"email": "frank@example.com", "password": "été à  Paris, 1998"}
    )
    assert login.status_code == 200


def test_the_bundled_list_ships_with_the_package_and_is_sizeable() -> None:
    words = common_passwords()

    assert len(words) > 3000
    assert {"password", "123456789", "qwerty", "iloveyou"} <= words
    assert all(word == word.lower() for word in words)


def test_the_operator_cli_refuses_a_weak_password_too(app: APIFlask) -> None:
    runner = app.test_cli_runner()

    result = runner.invoke(
        args=["quire", "create-user", "ops@example.com", "--role", "operator"],
        input="password1\npassword1\n",
    )

    assert result.exit_code != 0
    assert "most common" in result.output
    assert accounts(app) == 0

"""What Flask-JWT-Extended checks on every token, past its signature and expiry.

* revoked? (``token_in_blocklist_loader``): its ``jti`` or its family was revoked
  by a logout or a detected replay → 401 ``TOKEN_REVOKED``;
* whose? (``user_lookup_loader``): ``sub`` must be the decimal id of an existing
  user. Anything else — not a string of digits, out of the id range, a user
  since deleted — is 401 ``UNAUTHORIZED``, never a 500.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response

from backend.api.errors import error_response
from backend.errors import QuireError
from backend.extensions import db, jwt
from backend.models import User
from backend.services import tokens

# User ids are positive 32-bit integers (the ``users.id`` column of Postgres).
_USER_ID = re.compile(r"[1-9][0-9]{0,9}")
MAX_USER_ID = 2**31 - 1


def user_id_of(subject: Any) -> int | None:
    """The user id named by a token's ``sub``, or None if it names none."""
    if not isinstance(subject, str) or not _USER_ID.fullmatch(subject):
        return None
    value = int(subject)
    return value if value <= MAX_USER_ID else None


@jwt.token_in_blocklist_loader
def _revoked(header: dict[str, Any], payload: dict[str, Any]) -> bool:
    return tokens.is_revoked(payload)


@jwt.revoked_token_loader
def _revoked_response(header: dict[str, Any], payload: dict[str, Any]) -> Response:
    return error_response(
        "TOKEN_REVOKED", "this token was revoked (logged out or replayed); log in again", 401
    )


@jwt.user_lookup_loader
def _user(header: dict[str, Any], payload: dict[str, Any]) -> User | None:
    user_id = user_id_of(payload.get("sub"))
    if user_id is None:
        raise QuireError("UNAUTHORIZED", "the token does not name a user")
    user: User | None = db.session.get(User, user_id)
    return user  # None → user_lookup_error_loader: 401 "the token's user no longer exists"

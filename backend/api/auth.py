"""POST /auth/register, /auth/login, /auth/refresh, /auth/logout.

Register answers 202 with the same body whether the email is new or taken (no
tokens: the client logs in next). Login starts a session; refresh rotates its
refresh token (a replayed one revokes the session); logout revokes it. Limits
on login and register are set in backend/api/ratelimit.py.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, EmptySchema
from flask_jwt_extended import decode_token, get_jwt, jwt_required
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError

from backend.api.access import current_user
from backend.api.schemas import (
    LoginIn,
    LogoutIn,
    RegisterAcceptedOut,
    RegisterIn,
    TokenPairOut,
    TokensOut,
)
from backend.errors import QuireError
from backend.services import tokens, users

bp = APIBlueprint("auth", __name__, tag="auth")

REGISTERED = (
    "registration received: if this email was free, the account now exists; "
    "log in with this email and password"
)


@bp.post("/register")
@bp.input(RegisterIn, arg_name="body")
@bp.output(RegisterAcceptedOut, status_code=202)
@bp.doc(
    summary="Create an account (role user); then log in",
    description="The same 202 answer for a new and an already registered email.",
    responses={422: "WEAK_PASSWORD", 429: "RATE_LIMITED"},
)
def register(body: dict[str, Any]) -> dict[str, Any]:
    users.register(body["email"], body["password"])
    return {"message": REGISTERED}


@bp.post("/login")
@bp.input(LoginIn, arg_name="body")
@bp.output(TokensOut)
@bp.doc(
    summary="Exchange email and password for tokens (a new session)",
    responses={401: "wrong credentials", 429: "RATE_LIMITED"},
)
def login(body: dict[str, Any]) -> dict[str, Any]:
    user = users.authenticate(body["email"], body["password"])
    return {
        **tokens.start_session(user).as_dict(),
        "user": {"id": user.id, "email": user.email, "role": user.role},
    }


@bp.post("/refresh")
@jwt_required(refresh=True)
@bp.output(TokenPairOut)
@bp.doc(
    summary="The next token pair from a refresh token (which is then spent)",
    security="BearerAuth",
    responses={401: "UNAUTHORIZED, TOKEN_REVOKED or TOKEN_REUSED (the session is revoked)"},
)
def refresh() -> dict[str, Any]:
    current_user()  # 401 if the token's user is gone
    return tokens.rotate(get_jwt()).as_dict()


@bp.post("/logout")
@jwt_required()
@bp.input(LogoutIn, arg_name="body")
@bp.output(EmptySchema, status_code=204)
@bp.doc(
    summary="Revoke this access token, its session and the given refresh token's session",
    security="BearerAuth",
)
def logout(body: dict[str, Any]) -> str:
    user = current_user()
    refresh_claims = _refresh_claims(body.get("refresh_token"), user.id)
    tokens.logout(get_jwt(), refresh_claims)
    return ""


def _refresh_claims(token: str | None, user_id: int) -> dict[str, Any] | None:
    """The claims of the caller's own refresh token (expired is fine: nothing to fear)."""
    if token is None:
        return None
    try:
        claims = decode_token(token, allow_expired=True)
    except (PyJWTError, JWTExtendedException):
        claims = {}
    if claims.get("type") != "refresh" or claims.get("sub") != str(user_id):
        raise QuireError(
            "INVALID_PARAMS",
            "refresh_token is not a refresh token of this user",
            {"json": {"refresh_token": ["not a refresh token of this user"]}},
        )
    return claims

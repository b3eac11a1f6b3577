"""POST /auth/register, /auth/login, /auth/refresh."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, jwt_required

from backend.api.access import current_user
from backend.api.schemas import AccessTokenOut, LoginIn, RegisterIn, TokensOut
from backend.models import User
from backend.services import users

bp = APIBlueprint("auth", __name__, tag="auth")


def _expires_in() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())


def _tokens(user: User) -> dict[str, Any]:
    identity = str(user.id)
    return {
        "access_token": create_access_token(identity=identity),
        "refresh_token": create_refresh_token(identity=identity),
        "token_type": "Bearer",
        "expires_in": _expires_in(),
        "user": {"id": user.id, "email": user.email, "role": user.role},
    }


@bp.post("/register")
@bp.input(RegisterIn, arg_name="body")
@bp.output(TokensOut, status_code=201)
@bp.doc(summary="Create an account (role user) and get tokens")
def register(body: dict[str, Any]) -> dict[str, Any]:
    return _tokens(users.register_user(body["email"], body["password"]))


@bp.post("/login")
@bp.input(LoginIn, arg_name="body")
@bp.output(TokensOut)
@bp.doc(summary="Exchange email and password for tokens", responses={401: "wrong credentials"})
def login(body: dict[str, Any]) -> dict[str, Any]:
    return _tokens(users.authenticate(body["email"], body["password"]))


@bp.post("/refresh")
@jwt_required(refresh=True)
@bp.output(AccessTokenOut)
@bp.doc(summary="A new access token from a refresh token", security="BearerAuth")
def refresh() -> dict[str, Any]:
    user = current_user()
    return {
        "access_token": create_access_token(identity=str(user.id)),
        "token_type": "Bearer",
        "expires_in": _expires_in(),
    }

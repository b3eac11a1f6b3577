"""Sessions: issue, rotate and revoke token pairs (docs/security.md, decisions §33).

A login starts a family; its access and refresh tokens carry the family id in
``fam``. ``rotate`` spends a refresh token with one compare-and-set and issues
the next pair of the same family; a token presented after it was spent is a
replay (someone kept a copy), so the whole family is revoked and both the thief
and the real client must log in again. Revocations are rows, checked on every
authenticated request by one primary-key lookup (``is_revoked``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from backend.errors import QuireError
from backend.extensions import db
from backend.models import RefreshToken, TokenRevocation, User
from backend.models.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenPair:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int  # seconds of life of the access token

    def as_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


def _lifetimes() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return config["JWT_ACCESS_TOKEN_EXPIRES"], config["JWT_REFRESH_TOKEN_EXPIRES"]


def _pair(user_id: int, family_id: str) -> TokenPair:
    """Sign a new pair of ``family_id`` and record its refresh token (the caller commits)."""
    access_life, refresh_life = _lifetimes()
    # Whole seconds, so the row's expiry is exactly the token's ``exp``.
    expires_at = (utcnow() + refresh_life).replace(microsecond=0)
    jti = str(uuid.uuid4())
    identity = str(user_id)
    refresh = create_refresh_token(
        identity,
        additional_claims={"jti": jti, "fam": family_id, "exp": int(expires_at.timestamp())},
    )
    access = create_access_token(identity, additional_claims={"fam": family_id})
    db.session.add(
        RefreshToken(jti=jti, family_id=family_id, user_id=user_id, expires_at=expires_at)
    )
    return TokenPair(access, refresh, int(access_life.total_seconds()))


def start_session(user: User) -> TokenPair:
    """A new family for ``user`` (one per login); drops the user's expired refresh rows."""
    db.session.execute(
        delete(RefreshToken).where(
            RefreshToken.user_id == user.id, RefreshToken.expires_at < utcnow()
        )
    )
    pair = _pair(user.id, str(uuid.uuid4()))
    db.session.commit()
    return pair


def rotate(claims: dict[str, Any]) -> TokenPair:
    """Spend the refresh token of ``claims`` and issue the next pair of its family.

    ``TOKEN_REUSED`` (and the family revoked) if it was already spent;
    ``TOKEN_REVOKED`` if its family was revoked, or it is unknown (issued before
    rotation existed) or expired. Of two concurrent calls with one token,
    exactly one wins the compare-and-set.
    """
    jti = str(claims.get("jti", ""))
    now = utcnow()
    spent = db.session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.jti == jti,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(RefreshToken.family_id, RefreshToken.user_id)
    ).one_or_none()
    if spent is None:
        db.session.rollback()
        _refuse(jti)
    family_id, user_id = spent
    pair = _pair(user_id, family_id)
    db.session.commit()
    return pair


def _refuse(jti: str) -> NoReturn:
    """Raise the error for a refresh token that could not be spent (reuse revokes its family)."""
    row = db.session.get(RefreshToken, jti)
    if row is not None and row.used_at is not None and row.revoked_at is None:
        log.warning(
            "refresh token reused: revoking family %s of user %s", row.family_id, row.user_id
        )
        revoke_family(row.family_id, row.user_id, "reuse")
        db.session.commit()
        raise QuireError(
            "TOKEN_REUSED",
            "this refresh token was already used; the session is revoked, log in again",
        )
    raise QuireError("TOKEN_REVOKED", "this refresh token is revoked or unknown; log in again")


def revoke_family(family_id: str, user_id: int, reason: str) -> None:
    """Revoke every token of the family, access tokens included (the caller commits)."""
    now = utcnow()
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    latest = db.session.scalar(
        select(func.max(RefreshToken.expires_at)).where(RefreshToken.family_id == family_id)
    )
    _revoke(family_id, "family", user_id, reason, latest or now + _lifetimes()[1])


def logout(access_claims: dict[str, Any], refresh_claims: dict[str, Any] | None) -> None:
    """Revoke the access token and its family, and the given refresh token's family."""
    user_id = int(access_claims["sub"])
    expires_at = datetime.fromtimestamp(int(access_claims["exp"]), tz=UTC)
    _revoke(str(access_claims["jti"]), "access", user_id, "logout", expires_at)
    families = {access_claims.get("fam"), (refresh_claims or {}).get("fam")} - {None}
    for family_id in families:
        revoke_family(str(family_id), user_id, "logout")
    db.session.commit()
    _purge_expired()


def _revoke(token_id: str, kind: str, user_id: int, reason: str, expires_at: datetime) -> None:
    """Insert the revocation; one already there (a concurrent logout or replay) is kept."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(TokenRevocation)
        .values(
            token_id=token_id,
            kind=kind,
            user_id=user_id,
            reason=reason,
            revoked_at=utcnow(),
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(index_elements=["token_id"])
    )


def _purge_expired() -> None:
    """Revocations outlive their tokens by nothing: drop the expired ones."""
    db.session.execute(delete(TokenRevocation).where(TokenRevocation.expires_at < utcnow()))
    db.session.commit()


def is_revoked(claims: dict[str, Any]) -> bool:
    """True if the token's ``jti`` or its family was revoked (one primary-key lookup)."""
    ids = [str(claims.get("jti", ""))]
    if claims.get("fam"):
        ids.append(str(claims["fam"]))
    found = db.session.scalar(
        select(TokenRevocation.token_id).where(TokenRevocation.token_id.in_(ids)).limit(1)
    )
    return found is not None

"""Sessions: every refresh token ever issued, and the revoked tokens and sessions.

A login starts a *family* (one session, one device): each refresh spends the
family's current refresh token and issues the next one. The rows are the truth
of a session; the JWTs only name them (``jti``, and ``fam`` for the family).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.types import UtcDateTime, utcnow


class RefreshToken(db.Model):  # type: ignore[name-defined,misc]
    """One issued refresh token; ``used_at`` is set exactly once, when it is spent."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index("ix_refresh_tokens_family_id", "family_id"),
        Index("ix_refresh_tokens_user_id_expires_at", "user_id", "expires_at"),
    )

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(36), nullable=False)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class TokenRevocation(db.Model):  # type: ignore[name-defined,misc]
    """A revoked access-token ``jti`` or a revoked family id (both are UUIDs).

    Kept until ``expires_at`` (the latest moment a token it names could still be
    valid), then purged: an expired token is refused by its signature check anyway.
    """

    __tablename__ = "token_revocations"
    __table_args__ = (Index("ix_token_revocations_expires_at", "expires_at"),)

    token_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # "access" | "family"
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    reason: Mapped[str] = mapped_column(String(32), nullable=False)  # "logout" | "reuse"
    revoked_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

"""Registering and authenticating users."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from backend.errors import QuireError
from backend.extensions import db
from backend.models import User
from backend.models.user import Role


def register_user(email: str, password: str, role: str = Role.USER.value) -> User:
    """Create a user; a taken email is ``DUPLICATE_ENTRY``."""
    email = email.strip().lower()
    if db.session.scalar(select(func.count()).where(User.email == email)):
        raise QuireError("DUPLICATE_ENTRY", "an account with this email already exists")
    user = User(email=email, password_hash=generate_password_hash(password), role=role)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise QuireError("DUPLICATE_ENTRY", "an account with this email already exists") from None
    return user


def authenticate(email: str, password: str) -> User:
    user: User | None = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not check_password_hash(user.password_hash, password):
        raise QuireError("UNAUTHORIZED", "wrong email or password")
    return user


def get_or_create_local_user() -> User:
    """The embedded CLI's own operator account (no password can log in as it)."""
    email = "local@quire.invalid"
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        # "!" is no valid hash: no password can ever log in as this account.
        user = User(email=email, password_hash="!", role=Role.OPERATOR.value)  # noqa: S106
        db.session.add(user)
        db.session.commit()
    return user

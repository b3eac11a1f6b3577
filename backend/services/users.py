"""Registering and authenticating users, without telling who has an account.

``register`` (the public sign-up) answers the same way, after the same work,
whether or not the email is taken; ``authenticate`` spends one password hash
check whether or not the account exists. ``register_user`` is the operator's
and the tests' direct form: it returns the user and says when the email is taken.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.errors import QuireError
from backend.extensions import db
from backend.models import User
from backend.models.user import Role
from backend.services import passwords

log = logging.getLogger(__name__)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def register_user(email: str, password: str, role: str = Role.USER.value) -> User:
    """Create a user; a weak password is ``WEAK_PASSWORD``, a taken email ``DUPLICATE_ENTRY``."""
    email = normalise_email(email)
    passwords.check_policy(password, email)
    if _email_taken(email):
        raise QuireError("DUPLICATE_ENTRY", "an account with this email already exists")
    user = User(email=email, password_hash=passwords.hash_password(password), role=role)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise QuireError("DUPLICATE_ENTRY", "an account with this email already exists") from None
    return user


def register(email: str, password: str) -> None:
    """The public sign-up: create a ``user`` account unless the email is taken, silently.

    The password is hashed in both cases, so a taken email costs what a new one
    does; only the policy (which does not depend on the email being taken) is
    reported. A concurrent sign-up for the same email loses on the unique index,
    which is the same silent answer.
    """
    email = normalise_email(email)
    passwords.check_policy(password, email)
    password_hash = passwords.hash_password(password)
    if _email_taken(email):
        log.info("sign-up for an email that already has an account (nothing created)")
        return
    db.session.add(User(email=email, password_hash=password_hash, role=Role.USER.value))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def authenticate(email: str, password: str) -> User:
    """The user whose email and password these are; anything else is ``UNAUTHORIZED``."""
    user: User | None = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if not passwords.verify(user.password_hash if user else None, password) or user is None:
        raise QuireError("UNAUTHORIZED", "wrong email or password")
    return user


def _email_taken(email: str) -> bool:
    return bool(db.session.scalar(select(func.count()).where(User.email == email)))


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

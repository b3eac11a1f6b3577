"""Password policy and hashing, with the same cost whether or not the account exists.

The policy (on top of the schema's 8–128 characters) refuses what an attacker
tries first or what cannot be typed back: the bundled list of common passwords
(backend/data/common-passwords.txt, compared case-insensitively), the account's
own email or its local part, whitespace only, and control characters (NUL, tabs,
newlines, DEL, C1) or lone surrogates, which some clients cannot send again.

``verify`` checks a password against a dummy hash when the account does not
exist, so a login for an unknown email costs one scrypt like any other.
"""

from __future__ import annotations

import secrets
import threading
import unicodedata
from functools import lru_cache
from importlib.resources import files

from werkzeug.security import check_password_hash, generate_password_hash

from backend.errors import QuireError

MIN_LENGTH = 8
_dummy_lock = threading.Lock()
_dummy_hash: str | None = None


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list, lower-cased (read once per process)."""
    text = files("backend").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def weakness(password: str, email: str) -> str | None:
    """Why ``password`` is refused for the account ``email``, or None if it is acceptable."""
    if len(password) < MIN_LENGTH:  # the API's schema says so first; the CLI's create-user too
        return f"the password is shorter than {MIN_LENGTH} characters"
    if not password.strip():
        return "the password is only whitespace"
    for char in password:
        if unicodedata.category(char) in ("Cc", "Cs"):
            return "the password contains a control character (such as NUL, a tab or a newline)"
    lowered = password.lower()
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        return "the password is one of the most common passwords; choose a less guessable one"
    email = email.strip().lower()
    if lowered in (email, email.partition("@")[0]):
        return "the password is the email address; choose another one"
    return None


def check_policy(password: str, email: str) -> None:
    """Raise ``WEAK_PASSWORD`` (422) saying why, if the policy refuses ``password``."""
    reason = weakness(password, email)
    if reason is not None:
        raise QuireError("WEAK_PASSWORD", reason)


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def dummy_hash() -> str:
    """A hash of a random password nobody knows, made once per process (same cost as real ones)."""
    global _dummy_hash
    if _dummy_hash is None:
        with _dummy_lock:
            if _dummy_hash is None:
                _dummy_hash = generate_password_hash(secrets.token_urlsafe(32))
    return _dummy_hash


def verify(stored_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; with no account (``None``) it checks the dummy hash."""
    try:
        if stored_hash is None:
            check_password_hash(dummy_hash(), password)
            return False
        return check_password_hash(stored_hash, password)
    except UnicodeEncodeError:  # a lone surrogate cannot be hashed: it matches nothing
        return False

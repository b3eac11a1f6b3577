"""Secrets in the settings: refused when guessable, never shown in a repr.

Service mode signs every token with ``JWT_SECRET_KEY`` (and sessions with
``SECRET_KEY``): a short or published value lets anyone forge an operator's
token. So boot refuses one shorter than 32 bytes or equal to a default that was
ever written in this repository (compose file, docs, examples).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

MIN_SECRET_BYTES = 32
GENERATE_HINT = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
# Every placeholder the repository has shipped or documented, and the obvious ones.
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "dev-secret-key-change-me",
        "dev-jwt-secret-key-change-me",
        "change-me",
        "change-me-too",
        "changeme",
        "secret",
        "secret-key",
        "jwt-secret",
        "jwt-secret-key",
        "your-secret-key",
        "super-secret",
    }
)
REDACTED = "***"


def secret_problem(name: str, value: str) -> str | None:
    """Why ``value`` cannot be the service-mode secret ``name``, or None."""
    if not value:
        return f"{name} must be set in service mode (a broker URL is configured); {GENERATE_HINT}"
    if value.strip().lower() in KNOWN_DEFAULT_SECRETS:
        return f"{name} is a published default value; {GENERATE_HINT}"
    size = len(value.encode("utf-8"))
    if size < MIN_SECRET_BYTES:
        return (
            f"{name} is {size} bytes long; service mode needs at least {MIN_SECRET_BYTES} "
            f"random bytes; {GENERATE_HINT}"
        )
    return None


def redact_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: for reprs and logs."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not parseable as a URL: show nothing of it
        return REDACTED if url else url
    if not password:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:{REDACTED}@{host}"))

"""Rate limits (Flask-Limiter): per user on uploads and retries, per client on auth.

Counters live in Redis in service mode, so every web process shares them, and
in memory in embedded mode. A breach answers 429 ``RATE_LIMITED`` with
``Retry-After`` in seconds, computed from the window by the handler below. The
limiter's own copy of that header goes under ``X-RateLimit-Retry-After``: its
after-request hook would otherwise put one on every response of a limited
endpoint, overriding the app's own (a 503's ``Retry-After: 5``).

The upload and retry key is the JWT user when the request carries a valid token,
else the client address (the view then answers 401 anyway).

Login is limited per client address (every attempt: each costs a password hash)
and per email (failed attempts only, so a user who types the right password is
never slowed by their own logins; a guesser is stopped after a few misses, and
the check runs before the hash, so throttled guesses cost no CPU). Sign-up is
limited per client address: each new account is a fresh upload quota.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, request
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from flask_limiter import HeaderNames, Limiter, RateLimitExceeded

from backend.api.errors import error_response
from backend.config import Settings

# endpoint → the Settings field holding its limit.
LIMITED_ENDPOINTS = {
    "jobs.create_job": "rate_limit_uploads",
    "chunks.retry_chunks": "rate_limit_retries",
}


def client_address() -> str:
    """The caller's address: the socket peer, or the one the trusted proxies saw.

    With ``QUIRE_TRUSTED_PROXY_HOPS`` = n, the n-th address from the right of
    ``X-Forwarded-For`` (each proxy appends the peer it saw; the left part is the
    client's to forge, so it is never read).
    """
    hops: int = current_app.extensions["quire_settings"].trusted_proxy_hops
    if hops:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote_addr or "unknown"


def user_key() -> str:
    try:
        verify_jwt_in_request(optional=True)
        identity = get_jwt_identity()
    except Exception:  # a bad token is the view's business (401); count it by address
        identity = None
    return f"user:{identity}" if identity else f"addr:{client_address()}"


def address_key() -> str:
    return f"addr:{client_address()}"


def email_key() -> str:
    """The login's email, normalised as accounts are and hashed (no emails in Redis)."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str) or not email.strip():
        return address_key()  # no email: the view answers 400, counted by address
    digest = hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()
    return f"email:{digest[:32]}"


def _failed(response: Response) -> bool:
    return response.status_code == 401


# endpoint → (the Settings field holding its limit, key, count only when) for each limit.
AUTH_LIMITS: dict[str, list[tuple[str, Callable[[], str], Callable[[Response], bool] | None]]] = {
    "auth.login": [
        ("rate_limit_login_ip", address_key, None),
        ("rate_limit_login_email", email_key, _failed),
    ],
    "auth.register": [("rate_limit_register_ip", address_key, None)],
}


def init_rate_limits(app: Flask, settings: Settings) -> Limiter:
    """Attach the limiter and put the configured limit on each endpoint of ``LIMITED_ENDPOINTS``."""
    limiter = Limiter(
        key_func=user_key,
        app=app,
        storage_uri=settings.rate_limit_storage,
        strategy="moving-window",
        headers_enabled=True,
        header_name_mapping={HeaderNames.RETRY_AFTER: "X-RateLimit-Retry-After"},
        key_prefix="quire-ratelimit",
        # A broken Redis must not turn uploads into 500s: limits are a guard, not a gate.
        swallow_errors=True,
    )
    for endpoint, setting in LIMITED_ENDPOINTS.items():
        view = app.view_functions.get(endpoint)
        if view is not None:
            limit = str(getattr(settings, setting))
            wrapped: Any = limiter.limit(limit)(view)
            app.view_functions[endpoint] = wrapped
    for endpoint, limits in AUTH_LIMITS.items():
        for setting, key, deduct_when in limits:
            view = app.view_functions.get(endpoint)
            if view is not None:
                limit = str(getattr(settings, setting))
                wrapped = limiter.limit(limit, key_func=key, deduct_when=deduct_when)(view)
                app.view_functions[endpoint] = wrapped

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded) -> Response:
        from backend.metrics import RATE_LIMITED

        RATE_LIMITED.labels(source="api").inc()
        current = limiter.current_limit
        wait = max(1, math.ceil(current.reset_at - time.time())) if current else 60
        return error_response(
            "RATE_LIMITED",
            f"rate limit exceeded ({exc.limit.limit}); retry in {wait} s",
            429,
            {"limit": str(exc.limit.limit)},
            {"Retry-After": str(wait)},
        )

    app.extensions["quire_limiter"] = limiter
    return limiter

"""Per-user rate limits on uploads and retries (Flask-Limiter).

Counters live in Redis in service mode, so every web process shares them, and
in memory in embedded mode. A breach answers 429 ``RATE_LIMITED`` with
``Retry-After`` in seconds (the limiter's after-request hook has the last word on
its value: it recomputes it from the window). The key is the JWT user when the request carries a
valid token, else the client address (the view then answers 401 anyway).
"""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Flask, Response, request
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from flask_limiter import Limiter, RateLimitExceeded

from backend.api.errors import error_response
from backend.config import Settings

# endpoint → the Settings field holding its limit.
LIMITED_ENDPOINTS = {
    "jobs.create_job": "rate_limit_uploads",
    "chunks.retry_chunks": "rate_limit_retries",
}


def user_key() -> str:
    try:
        verify_jwt_in_request(optional=True)
        identity = get_jwt_identity()
    except Exception:  # a bad token is the view's business (401); count it by address
        identity = None
    return f"user:{identity}" if identity else f"addr:{request.remote_addr}"


def init_rate_limits(app: Flask, settings: Settings) -> Limiter:
    """Attach the limiter and put the configured limit on each endpoint of ``LIMITED_ENDPOINTS``."""
    limiter = Limiter(
        key_func=user_key,
        app=app,
        storage_uri=settings.rate_limit_storage,
        strategy="moving-window",
        headers_enabled=True,
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

"""HTTP API under /api/v1: one blueprint per resource."""

from __future__ import annotations

from apiflask import APIFlask

from backend import web
from backend.api import auth, chunks, events, health, jobs, token_checks
from backend.api.errors import register_error_handlers


def register_blueprints(app: APIFlask) -> None:
    assert token_checks  # its import registered the JWT callbacks (revocation, user lookup)
    app.register_blueprint(auth.bp, url_prefix="/api/v1/auth")
    app.register_blueprint(jobs.bp, url_prefix="/api/v1/jobs")
    app.register_blueprint(chunks.bp, url_prefix="/api/v1/jobs")
    app.register_blueprint(events.bp, url_prefix="/api/v1/jobs")
    app.register_blueprint(health.bp)
    # The dashboard at / (plain Flask pages over this API; not in the OpenAPI spec).
    app.register_blueprint(web.bp)
    register_error_handlers(app)

"""HTTP API under /api/v1: one blueprint per resource."""

from __future__ import annotations

from apiflask import APIFlask

from backend.api import auth, chunks, health, jobs
from backend.api.errors import register_error_handlers


def register_blueprints(app: APIFlask) -> None:
    app.register_blueprint(auth.bp, url_prefix="/api/v1/auth")
    app.register_blueprint(jobs.bp, url_prefix="/api/v1/jobs")
    app.register_blueprint(chunks.bp, url_prefix="/api/v1/jobs")
    app.register_blueprint(health.bp)
    register_error_handlers(app)

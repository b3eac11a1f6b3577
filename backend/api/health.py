"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from sqlalchemy import text

from backend.extensions import db

bp = APIBlueprint("health", __name__, tag="health")


@bp.get("/health")
@bp.doc(summary="Liveness: the process answers (no I/O)")
def health() -> dict[str, Any]:
    return {"status": "healthy"}


@bp.get("/health/database")
@bp.doc(summary="Database round trip")
def health_database() -> tuple[dict[str, Any], int]:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means not ready; say which
        db.session.rollback()
        return {"status": "unhealthy", "error": type(exc).__name__}, 503
    return {"status": "healthy"}, 200

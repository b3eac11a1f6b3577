"""Liveness and readiness: statuses and thresholds in docs/operations.md."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import current_app

from backend.services import health_checks
from backend.services.health_checks import DEGRADED, UNHEALTHY

bp = APIBlueprint("health", __name__, tag="health")


@bp.get("/health")
@bp.doc(summary="Liveness: the process answers (no I/O)")
def health() -> dict[str, Any]:
    return {"status": "healthy"}


@bp.get("/health/database")
@bp.doc(summary="Database round trip and pool utilisation (degraded ≥75 %, unhealthy >90 %)")
def health_database() -> tuple[dict[str, Any], int]:
    return _answer(*health_checks.check_database())


@bp.get("/health/broker")
@bp.doc(summary="Broker ping, queue depths, Redis durability settings")
def health_broker() -> tuple[dict[str, Any], int]:
    return _answer(*health_checks.check_broker())


@bp.get("/health/workers")
@bp.doc(summary="Celery workers answering a ping within a second")
def health_workers() -> tuple[dict[str, Any], int]:
    return _answer(*health_checks.check_workers())


@bp.get("/health/persistence")
@bp.doc(summary="File backups waiting for `flask quire recover` (degraded), backup dir writable")
def health_persistence() -> tuple[dict[str, Any], int]:
    return _answer(*health_checks.check_persistence())


@bp.get("/health/full")
@bp.doc(summary="Every /health/* check; 503 when any is unhealthy")
def health_full() -> tuple[dict[str, Any], int]:
    checks = {name: _run_check(endpoint) for name, endpoint in _check_endpoints().items()}
    statuses = {check["status"] for check in checks.values()}
    overall = next(
        (level for level in (UNHEALTHY, DEGRADED) if level in statuses), health_checks.HEALTHY
    )
    return {"status": overall, "checks": checks}, 503 if overall == UNHEALTHY else 200


def _answer(status: str, details: dict[str, Any]) -> tuple[dict[str, Any], int]:
    return {"status": status, **details}, 503 if status == UNHEALTHY else 200


def _check_endpoints() -> dict[str, str]:
    """Every ``GET /health/<name>`` but this one: checks added later join /health/full."""
    return {
        rule.rule.removeprefix("/health/"): rule.endpoint
        for rule in current_app.url_map.iter_rules()
        if rule.rule.startswith("/health/") and rule.endpoint != "health.health_full"
    }


def _run_check(endpoint: str) -> dict[str, Any]:
    try:
        answer: Any = current_app.view_functions[endpoint]()
        response = current_app.make_response(answer)
        body = response.get_json(silent=True) or {}
    except Exception as exc:  # a crashing check is an unhealthy one, not a 500
        return {"status": UNHEALTHY, "error": type(exc).__name__}
    if "status" not in body:
        body = {"status": UNHEALTHY if response.status_code >= 500 else health_checks.HEALTHY}
    result: dict[str, Any] = body
    return result

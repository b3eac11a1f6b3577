"""``GET /metrics``: Prometheus text exposition (see backend/metrics.py for what is in it)."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response

from backend.metrics import exposition

bp = APIBlueprint("metrics", __name__, tag="health")


@bp.get("/metrics")
@bp.doc(
    summary="Prometheus metrics",
    responses={200: "Prometheus text format (text/plain; version=0.0.4)"},
)
def metrics() -> Response:
    body, content_type = exposition()
    return Response(body, content_type=content_type)

"""GET /api/v1/jobs/{id}/events: live progress as Server-Sent Events.

The stream sends a ``progress`` event whenever the job's snapshot changes (status,
step, counts by chunk status, round, ETA), a ``: keep-alive`` comment when
nothing changed for ``sse_keepalive_seconds`` (proxies drop silent connections),
and, once the job is terminal (or deleted), one ``end`` event; then it closes.
Snapshots come from the process's shared poller (``services/progress``), never
from a query per stream.

Each open stream holds one server thread: run gunicorn with
``--worker-class gthread --threads N`` and keep ``QUIRE_SSE_MAX_STREAMS`` below N.
One user may hold ``QUIRE_SSE_MAX_STREAMS_PER_USER`` of them in each process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from apiflask import APIBlueprint
from flask import Response, current_app
from flask_jwt_extended import jwt_required

from backend.api.access import current_user, job_for
from backend.services.progress import Subscription, hub_for, is_final

bp = APIBlueprint("events", __name__, tag="jobs")

EVENT_STREAM = "text/event-stream"


def sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    """One SSE message; ``data`` is one line of JSON."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def stream(subscription: Subscription, keepalive: float) -> Iterator[str]:
    """Yield events until the job is final; the caller's close() frees the slot."""
    yield "retry: 2000\n\n"  # a dropped browser EventSource reconnects after 2 s
    seen = 0
    try:
        while True:
            seen, snapshot = subscription.wait(seen, keepalive)
            if snapshot is None:
                yield ": keep-alive\n\n"
                continue
            yield sse("progress", snapshot, seen)
            if is_final(snapshot):
                yield sse("end", {"job_id": snapshot["job_id"], "status": snapshot["status"]})
                return
    finally:
        subscription.close()


@bp.get("/<job_id>/events")
@jwt_required()
@bp.doc(
    summary="Live progress as Server-Sent Events; the stream ends when the job does",
    security="BearerAuth",
    responses={
        200: "text/event-stream of progress events, keep-alive comments and a final end event",
        429: "TOO_MANY_USER_STREAMS: the caller holds their share of this process's streams",
        503: "TOO_MANY_STREAMS (with Retry-After)",
    },
)
def job_events(job_id: str) -> Response:
    user = current_user()
    job = job_for(user, job_id)
    # The hub's thread outlives this request: give it the app, not the context-bound proxy.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    subscription = hub_for(app).subscribe(job.id, user.id)
    settings = current_app.extensions["quire_settings"]
    response = Response(stream(subscription, settings.sse_keepalive_seconds), mimetype=EVENT_STREAM)
    # A client that leaves before the first event never starts the generator, so its
    # finally never runs: the response's close() frees the slot in every case.
    response.call_on_close(subscription.close)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: don't buffer the stream
    return response

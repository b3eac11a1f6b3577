"""A job's chunks: list them, retry them."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask_jwt_extended import jwt_required
from sqlalchemy import select

from backend.api.access import current_user, job_for
from backend.api.schemas import ChunkListOut, ChunkListQuery, RetryIn, RetryOut
from backend.api.views import chunk_view
from backend.extensions import db
from backend.models import JobChunk
from backend.services import retry
from backend.services.fallback import fallback_chunk_ids
from backend.services.queries import chunk_counts

bp = APIBlueprint("chunks", __name__, tag="chunks")


@bp.get("/<job_id>/chunks")
@jwt_required()
@bp.input(ChunkListQuery, location="query", arg_name="query")
@bp.output(ChunkListOut)
@bp.doc(summary="A job's chunks, paginated, with counts by status", security="BearerAuth")
def list_chunks(job_id: str, query: dict[str, Any]) -> dict[str, Any]:
    job = job_for(current_user(), job_id)
    counts = chunk_counts(job.id)
    stmt = select(JobChunk).where(JobChunk.job_id == job.id)
    total = job.total_chunks
    if query["status"]:
        stmt = stmt.where(JobChunk.status == query["status"])
        total = counts[query["status"]]
    page, per_page = query["page"], query["per_page"]
    fallen_back = fallback_chunk_ids(job.options)
    rows = db.session.scalars(
        stmt.order_by(JobChunk.chunk_id).limit(per_page).offset((page - 1) * per_page)
    )
    return {
        "job_id": job.id,
        "items": [chunk_view(c, fallen_back) for c in rows],
        "summary": counts,
        "pagination": {
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": (total + per_page - 1) // per_page,
        },
    }


@bp.post("/<job_id>/chunks/retry")
@jwt_required()
@bp.input(RetryIn, arg_name="body")
@bp.output(RetryOut, status_code=202)
@bp.doc(
    summary="Retry failed chunks (all, or the given ids; force re-runs successful ones too)",
    security="BearerAuth",
    responses={400: "INVALID_PARAMS (unknown chunk ids)", 409: "NOTHING_TO_RETRY"},
)
def retry_chunks(job_id: str, body: dict[str, Any]) -> dict[str, Any]:
    user = current_user()
    job = job_for(user, job_id)
    outcome = retry.retry_chunks(job, user.id, body.get("chunk_ids"), bool(body.get("force")))
    return {
        "job_id": job.id,
        "retried_count": outcome.retried_count,
        "chunk_ids": outcome.chunk_ids,
        "round": outcome.round,
    }

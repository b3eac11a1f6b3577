"""Jobs: submit, list, inspect, cancel, delete, and fetch the result."""

from __future__ import annotations

import json
import unicodedata
from typing import Any
from urllib.parse import quote

from apiflask import APIBlueprint
from flask import Response, url_for
from flask_jwt_extended import jwt_required
from sqlalchemy import func, select

from backend.api import exports
from backend.api.access import current_user, job_for
from backend.api.schemas import (
    CancelOut,
    JobAcceptedOut,
    JobCreateIn,
    JobListOut,
    JobListQuery,
    JobOut,
    ResultQuery,
)
from backend.api.views import job_links, job_view
from backend.blobstore import BlobMissingError
from backend.errors import QuireError
from backend.extensions import db
from backend.models import Job, JobStatus
from backend.models.job import PersistenceStatus
from backend.services import cancel, jobs, runtime
from backend.services.queries import chunk_summaries

bp = APIBlueprint("jobs", __name__, tag="jobs")

RESULT_STATUSES = (JobStatus.COMPLETED.value, JobStatus.PARTIAL.value)


@bp.post("")
@jwt_required()
@bp.input(JobCreateIn, location="form_and_files", arg_name="form")
@bp.output(JobAcceptedOut, status_code=202)
@bp.doc(
    summary="Upload a PDF and start a job",
    security="BearerAuth",
    responses={413: "PDF_TOO_LARGE", 422: "INVALID_PDF (not a PDF)"},
)
def create_job(form: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    upload = form["file"]
    options = jobs.default_options(
        processor=form.get("processor"),
        words_per_sentence=form.get("words_per_sentence"),
        pages_per_chunk=form.get("pages_per_chunk"),
        overlap_pages=form.get("overlap_pages"),
        max_retries=form.get("max_retries"),
        fallback=form.get("fallback"),
        ocr=form.get("ocr"),
        ocr_lang=form.get("ocr_lang"),
    )
    try:
        job = jobs.submit_job(
            current_user(), upload.filename or "upload.pdf", upload.stream, options
        )
    finally:
        upload.close()  # large uploads are spooled to a temporary file; free it now
    location = url_for("jobs.get_job", job_id=job.id)
    body: dict[str, Any] = {
        "job_id": job.id,
        "status": job.status,
        "persistence_status": job.persistence_status,
        "links": job_links(job.id),
    }
    if job.persistence_status == PersistenceStatus.BACKED_UP.value:
        body["message"] = (
            "the upload is stored but the database is unavailable; the job will be "
            "created and processed once its backup is recovered"
        )
    return body, 202, {"Location": location}


@bp.get("")
@jwt_required()
@bp.input(JobListQuery, location="query", arg_name="query")
@bp.output(JobListOut)
@bp.doc(summary="The caller's jobs, newest first (operators: everyone's)", security="BearerAuth")
def list_jobs(query: dict[str, Any]) -> dict[str, Any]:
    user = current_user()
    stmt = select(Job)
    if not user.is_operator:
        stmt = stmt.where(Job.owner_id == user.id)
    if query["status"]:
        stmt = stmt.where(Job.status == query["status"])
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page, per_page = query["page"], query["per_page"]
    rows = list(
        db.session.scalars(
            stmt.order_by(Job.created_at.desc(), Job.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    # Counts and usage of the whole page in one grouped query, not two per job.
    summaries = chunk_summaries([job.id for job in rows])
    return {
        "items": [job_view(job, summaries[job.id].counts, summaries[job.id].usage) for job in rows],
        "pagination": {
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": (total + per_page - 1) // per_page,
        },
    }


@bp.get("/<job_id>")
@jwt_required()
@bp.output(JobOut)
@bp.doc(summary="Status, step, progress counters, rounds, error, timings", security="BearerAuth")
def get_job(job_id: str) -> dict[str, Any]:
    return job_view(job_for(current_user(), job_id))


@bp.post("/<job_id>/cancel")
@jwt_required()
@bp.output(CancelOut, status_code=202)
@bp.doc(summary="Cancel a job: no processor call starts after this returns", security="BearerAuth")
def cancel_job(job_id: str) -> dict[str, Any]:
    user = current_user()
    status = cancel.cancel_job(job_for(user, job_id), user.id)
    return {"job_id": job_id, "status": status}


@bp.delete("/<job_id>")
@jwt_required()
@bp.output({}, status_code=204)
@bp.doc(summary="Delete a job, its chunks and its files", security="BearerAuth")
def delete_job(job_id: str) -> Response:
    user = current_user()
    cancel.delete_job(job_for(user, job_id), user.id)
    return Response(status=204)


@bp.get("/<job_id>/result")
@jwt_required()
@bp.input(ResultQuery, location="query", arg_name="query")
@bp.doc(
    summary="The merged sentences (json, txt, csv or xlsx); 409 until the job has a result",
    security="BearerAuth",
    responses={200: "the result", 409: "JOB_NOT_READY"},
)
def get_result(job_id: str, query: dict[str, Any]) -> Response:
    job = job_for(current_user(), job_id)
    if job.status not in RESULT_STATUSES or not job.result_key:
        raise QuireError(
            "JOB_NOT_READY",
            f"the job is {job.status}; a result exists once it is completed or partial",
            {"status": job.status},
        )
    try:
        document = json.loads(runtime.blobs().get_bytes(job.result_key))
    except BlobMissingError:
        raise QuireError("BLOB_MISSING", "the result file is missing") from None
    fmt = query["format"]
    stem = job.filename.rsplit(".", 1)[0] or "result"
    export = exports.render(document, fmt)
    # Flask adds "; charset=utf-8" to text types
    response = Response(export.body, mimetype=export.mimetype)
    response.headers.set("Content-Disposition", "attachment", **download_names(f"{stem}.{fmt}"))
    if document.get("missing_pages"):
        response.headers["X-Quire-Missing-Pages"] = document["missing_page_ranges"]
    return response


def download_names(name: str) -> dict[str, str]:
    """``filename`` (ASCII) and, for other names, RFC 5987 ``filename*`` (as send_file does).

    Header values must be latin-1 on the wire; a French title rarely is ASCII.
    """
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        return {"filename": simple, "filename*": "UTF-8''" + quote(name, safe="!#$&+-.^_`|~")}
    return {"filename": name}

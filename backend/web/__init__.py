"""The dashboard: server-rendered pages whose data comes from the JSON API.

No build step and nothing from a CDN: two templates, one stylesheet and one
vanilla JavaScript file. The pages themselves hold no data and need no login;
the script logs in through ``/api/v1/auth/login``, keeps the access token in
``sessionStorage`` (gone when the tab closes, never in a cookie, so no CSRF
surface) and calls the API with it, exactly like any other client.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from backend import __version__

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)


@bp.get("/")
def index() -> str:
    """Log in, upload, and the job list."""
    return render_template("index.html", version=__version__)


@bp.get("/jobs/<job_id>")
def job_page(job_id: str) -> str:
    """One job: progress, the chunk grid, retry/cancel/delete and downloads."""
    return render_template("job.html", job_id=job_id, version=__version__)


# Its routes join this blueprint (imported last: it needs ``bp``).
from backend.web import api_docs  # noqa: E402, F401

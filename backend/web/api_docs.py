"""``/api/docs``: Swagger UI from a pinned package, on our origin, under the page CSP.

apiflask's own page loads Swagger UI from a CDN without integrity checks, runs
an inline script and a favicon from another host, all on the origin that holds
the dashboard's tokens. This page serves the same Swagger UI from the
``flask-swagger-ui`` wheel (its ``dist/`` folder only: its blueprint is not
used), pinned in requirements.txt, and starts it from a file of ours.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from flask import Response, abort, render_template, send_from_directory, url_for

from backend import __version__
from backend.web import bp

SWAGGER_DIST = Path(str(files("flask_swagger_ui") / "dist"))
# The files the page uses; nothing else of the package is served.
ASSETS = frozenset(
    {
        "swagger-ui.css",
        "index.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
    }
)


@bp.get("/api/docs")
def api_docs() -> str:
    """Swagger UI over ``/api/openapi.json``."""
    return render_template("api_docs.html", spec_url=url_for("openapi.spec"), version=__version__)


@bp.get("/api/docs/assets/<name>")
def api_docs_asset(name: str) -> Response:
    if name not in ASSETS:
        abort(404)
    return send_from_directory(SWAGGER_DIST, name, max_age=3600)

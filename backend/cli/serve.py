"""``quire serve``: the dashboard and the API in embedded mode, with an in-process worker.

Zero set-up, like ``quire process``: an SQLite file, the memory transport and a
worker thread pool in this process; a threaded HTTP server in front (each live
progress stream holds one thread). For production use gunicorn (docs/operations.md).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask_migrate import upgrade
from rich.console import Console
from werkzeug.serving import make_server

from backend import create_app
from backend.celery_app import ensure_embedded_worker, stop_embedded_worker
from backend.config import SERVICE_VARIABLES

log = logging.getLogger(__name__)


def serve_embedded(host: str, port: int, data_dir: Path | None, console: Console) -> None:
    """Migrate, start the worker, serve until Ctrl-C; prints the dashboard's URL."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir.resolve()
    app = create_app(overrides, env=env)
    with app.app_context():
        upgrade(directory=str(app.extensions["migrate"].directory))
    ensure_embedded_worker(app)
    server = make_server(host, port, app, threaded=True)
    url = f"http://{host}:{server.port}/"
    settings = app.extensions["quire_settings"]
    console.print(f"[bold green]Quire is running[/] at [link={url}]{url}[/link]")
    console.print(f"  data: {settings.data_dir}   (Ctrl-C to stop)")
    console.print("  first visit: enter an email and a password, then [bold]Create account[/]")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        server.server_close()
        stop_embedded_worker(app)

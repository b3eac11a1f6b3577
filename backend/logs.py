"""Structured logs: JSON lines in service mode, readable text embedded.

Every record carries ``request_id``, ``job_id`` and ``chunk_id``: taken from the
record's ``extra`` when the caller passed them, else from context variables set
per HTTP request (``X-Request-ID``, the ``job_id`` of the URL) and per Celery
task (its id arguments). Context variables follow a request's or a task's
thread, so the worker threads of the embedded mode do not mix them up.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from backend.config import Settings

request_id_var: ContextVar[str | None] = ContextVar("quire_request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("quire_job_id", default=None)
chunk_id_var: ContextVar[str | None] = ContextVar("quire_chunk_id", default=None)

CONTEXT_FIELDS = ("request_id", "job_id", "chunk_id")
_VARS = {"request_id": request_id_var, "job_id": job_id_var, "chunk_id": chunk_id_var}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
# The attributes every LogRecord has; anything else came in through ``extra``.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    *CONTEXT_FIELDS,
}


class ContextFilter(logging.Filter):
    """Give every record ``request_id``, ``job_id`` and ``chunk_id`` (``-`` when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _VARS.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get() or "-")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, "-")
            if value not in (None, "-"):
                entry[name] = value
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Install (once) Quire's handler on the root logger; later calls update its format."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "quire_handler", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler.quire_handler = True  # type: ignore[attr-defined]
        handler.addFilter(ContextFilter())
        root.addHandler(handler)
    if settings.effective_log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.setLevel(settings.log_level)
    # pypdf logs every recoverable defect of a damaged file; we classify those ourselves.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    _connect_task_context()


def _connect_task_context() -> None:
    """Celery tasks get their job/chunk ids as log context (ids are their first argument)."""
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_started, weak=False, dispatch_uid="quire-log-context-start")
    task_postrun.connect(_task_finished, weak=False, dispatch_uid="quire-log-context-end")


def _task_started(sender: Any = None, args: Any = None, **_: Any) -> None:
    name = getattr(sender, "name", "")
    first = args[0] if args else None
    if name == "quire.process_chunk":
        chunk_id_var.set(str(first))
    elif name in ("quire.split_job", "quire.finalize_job") and first is not None:
        job_id_var.set(str(first))


def _task_finished(**_: Any) -> None:
    job_id_var.set(None)
    chunk_id_var.set(None)

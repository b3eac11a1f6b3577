"""``X-Request-ID``: accepted from the caller (or made up), returned, and put in every log line.

A proxy or a client that already has a request id passes it in; a missing or
malformed one (anything but 1–128 letters, digits, ``.``, ``_``, ``-``) is
replaced by a fresh one, so a log line can never be forged through the header.
"""

from __future__ import annotations

import re
import uuid
from contextvars import Token

from flask import Flask, Response, g, request

from backend.logs import job_id_var, request_id_var

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def _begin() -> None:
    incoming = request.headers.get(HEADER, "")
    request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
    g.request_id = request_id
    g.log_tokens = [request_id_var.set(request_id)]
    job_id = (request.view_args or {}).get("job_id")
    if job_id is not None:
        g.log_tokens.append(job_id_var.set(str(job_id)))


def _return_id(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[HEADER] = request_id
    return response


def _end(exc: BaseException | None) -> None:
    tokens: list[Token[str | None]] = g.pop("log_tokens", [])
    for token in reversed(tokens):
        try:
            token.var.reset(token)
        except ValueError:  # a streamed response ends in another context
            token.var.set(None)


def register_request_ids(app: Flask) -> None:
    # First in line: every other hook, and the error handlers, log with the id.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_return_id)
    app.teardown_request(_end)

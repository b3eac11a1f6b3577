"""Request hygiene: request bodies other than the upload are small and shallow.

``MAX_CONTENT_LENGTH`` is the upload's cap (200 MB by default); nothing but
``POST /api/v1/jobs`` needs that much. Every other body is capped at
``QUIRE_JSON_MAX_KB`` (413 ``PAYLOAD_TOO_LARGE``), and a JSON body nested
deeper than ``QUIRE_JSON_MAX_DEPTH`` is refused (400 ``INVALID_JSON``) before
anything parses it: the parsers recurse, and a 100,000-deep body ended in a
``RecursionError`` (500).

A body with no more opening brackets than the depth cap cannot be deeper (one
C-level count: the usual case). Any other is parsed once here with the C
decoder, whose recursion guard turns a very deep body into ``RecursionError``
(caught), and its containers are walked without recursion, stopping past the
cap. A body that is not JSON at all is left to the parser's own 400.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from backend.errors import QuireError

# The one endpoint whose body is a PDF (its own, bigger cap: QUIRE_MAX_UPLOAD_MB).
UPLOAD_ENDPOINTS = frozenset({"jobs.create_job"})


def nested_deeper_than(data: bytes, cap: int) -> bool:
    """Whether a JSON text nests arrays and objects more than ``cap`` levels deep.

    False for a text that is not JSON (the parser refuses it later).
    """
    if data.count(b"[") + data.count(b"{") <= cap:
        return False  # no deeper than its opening brackets
    try:
        value = json.loads(data)
    except RecursionError:
        return True
    except ValueError:
        return False
    # Breadth first, one level at a time: ``level`` holds the containers at ``depth``.
    level: list[Any] = [value] if isinstance(value, dict | list) else []
    depth = 1
    while level and depth <= cap:
        inner: list[Any] = []
        for item in level:
            inner.extend(item.values() if isinstance(item, dict) else item)
        level = [item for item in inner if isinstance(item, dict | list)]
        depth += 1
    return bool(level)


def check_request_body() -> None:
    """``before_request``: the size cap, then the depth cap of a JSON body."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        return
    from backend.services import runtime

    settings = runtime.settings()
    limit = settings.json_max_kb * 1024
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    # A body without a Content-Length (chunked) is read one byte past the cap at
    # most: Werkzeug stops there silently, so more than the cap means too large.
    request.max_content_length = limit + 1
    if not request.is_json:
        return
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _too_large(limit) from None
    if len(data) > limit:
        raise _too_large(limit)
    cap = settings.json_max_depth
    if nested_deeper_than(data, cap):
        raise QuireError(
            "INVALID_JSON",
            f"the JSON body is nested more than {cap} levels deep",
            {"max_depth": cap},
        )


def _too_large(limit: int) -> QuireError:
    return QuireError(
        "PAYLOAD_TOO_LARGE",
        f"the request body is larger than {limit // 1024} KB",
        {"max_bytes": limit},
    )


def register_request_limits(app: Flask) -> None:
    app.before_request(check_request_body)

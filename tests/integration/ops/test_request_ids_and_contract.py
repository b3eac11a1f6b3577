"""Request ids in headers and logs, JSON logs, and Flask's own errors in the contract."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from flask import request

from backend.logs import ContextFilter, JsonFormatter
from tests.integration.conftest import assert_error
from tests.integration.ops.conftest import user_headers

pytestmark = pytest.mark.integration


def test_request_id_is_accepted_returned_and_generated(make_app: Any) -> None:
    client = make_app().test_client()
    given = client.get("/health", headers={"X-Request-ID": "edge-42.a_b"})
    assert given.headers["X-Request-ID"] == "edge-42.a_b"
    made = client.get("/health").headers["X-Request-ID"]
    assert len(made) == 32
    forged = client.get("/health", headers={"X-Request-ID": "x INFO fake line"})
    assert forged.headers["X-Request-ID"] != "x INFO fake line"
    assert len(forged.headers["X-Request-ID"]) == 32
    missing = client.get("/nowhere", headers={"X-Request-ID": "err-1"})
    assert missing.headers["X-Request-ID"] == "err-1"  # error responses carry it too


def test_every_log_line_of_a_request_carries_its_id_and_job_id(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    flask_app = make_app()
    client = flask_app.test_client()
    headers = user_headers(flask_app, "logs@example.com")
    caplog.handler.addFilter(ContextFilter())
    with caplog.at_level(logging.INFO):
        response = client.post(
            "/api/v1/jobs",
            data={"file": (io.BytesIO(b"%PDF-1.4 not really"), "x.pdf")},
            headers={**headers, "X-Request-ID": "req-upload-1"},
            content_type="multipart/form-data",
        )
        job_id = response.get_json().get("job_id")
        client.get(f"/api/v1/jobs/{job_id}", headers={**headers, "X-Request-ID": "req-get-2"})
    upload_lines = [r for r in caplog.records if getattr(r, "request_id", "") == "req-upload-1"]
    assert upload_lines, [r.getMessage() for r in caplog.records]
    assert all(
        r.request_id in ("req-upload-1", "req-get-2")
        for r in caplog.records
        if r.name.startswith("backend")
    )


def test_json_formatter_writes_one_object_with_ids_and_extras() -> None:
    record = logging.LogRecord(
        "backend.x", logging.WARNING, __file__, 1, "job %s failed", ("j1",), None
    )
    record.chunk_id = "7"
    record.attempt = 2
    ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "job j1 failed"
    assert line["level"] == "WARNING"
    assert line["chunk_id"] == "7"
    assert line["attempt"] == 2
    assert "request_id" not in line  # "-" (outside a request) is left out


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("get", "/api/v1/nothing-here", {}, 404, "NOT_FOUND"),
        ("put", "/health", {}, 405, "METHOD_NOT_ALLOWED"),
        (
            "post",
            "/_test/json",
            {"data": "x", "content_type": "text/plain"},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        ("post", "/api/v1/auth/login", {"json": {"email": 3}}, 400, "INVALID_PARAMS"),
    ],
)
def test_flask_errors_use_the_contract(
    make_app: Any, method: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    flask_app = make_app()

    @flask_app.post("/_test/json")
    def json_only() -> Any:
        return request.get_json()  # Flask's own 415 for another content type

    response = getattr(flask_app.test_client(), method)(path, **kwargs)
    assert_error(response, status, code)


def test_oversized_upload_and_non_pdf_use_the_contract(make_app: Any) -> None:
    flask_app = make_app(max_upload_mb=1)
    client = flask_app.test_client()
    headers = user_headers(flask_app, "big@example.com")
    # A hand-made multipart body: the test client's own encoder spools bodies this
    # large to a temporary file that it never closes (a ResourceWarning).
    body = (
        b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-"
        + b"0" * (2 * 1024 * 1024)
        + b"\r\n--b0undary--\r\n"
    )
    too_big = client.post(
        "/api/v1/jobs",
        data=body,
        headers=headers,
        content_type="multipart/form-data; boundary=b0undary",
    )
    assert_error(too_big, 413, "PDF_TOO_LARGE")
    not_pdf = client.post(
        "/api/v1/jobs",
        data={"file": (io.BytesIO(b"hello, not a pdf"), "x.pdf")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert_error(not_pdf, 422, "INVALID_PDF")

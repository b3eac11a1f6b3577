"""Every error leaves the API as ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from apiflask import APIFlask, HTTPError
from flask import Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from backend.database import classify_db_error
from backend.errors import ERRORS, STATUS_CODES, QuireError
from backend.extensions import db, jwt

log = logging.getLogger(__name__)

DB_MESSAGES = {
    "DUPLICATE_ENTRY": "this record already exists",
    "DB_TIMEOUT_ERROR": "the database query took too long and was cancelled",
    "DB_CONNECTION_ERROR": "the database is unreachable; retry shortly",
    "DB_QUERY_ERROR": "a database query failed; the incident was logged",
}


def error_response(
    code: str, message: str, status: int, details: Any = None, headers: Any = None
) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: APIFlask) -> None:
    @app.errorhandler(QuireError)
    def _quire_error(exc: QuireError) -> Response:
        return error_response(exc.code, exc.message, exc.status, exc.details, exc.headers)

    @app.error_processor
    def _http_error(exc: HTTPError) -> Response:
        if exc.status_code == 500:
            code = "INTERNAL_ERROR"
            message = "internal error; the incident was logged"
        else:
            code = STATUS_CODES.get(exc.status_code, "INVALID_PARAMS")
            message = exc.message or ERRORS[code].title
        if code == "PDF_TOO_LARGE":
            message = "the upload is larger than the size limit"
        details = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
        return error_response(code, message, exc.status_code, details, exc.headers)

    @app.errorhandler(SQLAlchemyError)
    def _database_error(exc: SQLAlchemyError) -> Response:
        # The body never carries SQL or a trace: those go to the log only.
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        code = classify_db_error(exc)
        kind = ERRORS[code]
        log.error("database error %s: %s", code, exc, exc_info=code == "DB_QUERY_ERROR")
        headers = {"Retry-After": "5"} if code == "DB_CONNECTION_ERROR" else None
        return error_response(code, DB_MESSAGES.get(code, kind.title), kind.status, None, headers)

    @jwt.unauthorized_loader
    def _no_token(reason: str) -> Response:
        return error_response("UNAUTHORIZED", f"missing bearer token ({reason})", 401)

    @jwt.invalid_token_loader
    def _bad_token(reason: str) -> Response:
        return error_response("UNAUTHORIZED", f"invalid token ({reason})", 401)

    @jwt.expired_token_loader
    def _expired(header: dict[str, Any], payload: dict[str, Any]) -> Response:
        return error_response("UNAUTHORIZED", "the token has expired; refresh it", 401)

    @jwt.user_lookup_error_loader
    def _user_gone(header: dict[str, Any], payload: dict[str, Any]) -> Response:
        return error_response("UNAUTHORIZED", "the token's user no longer exists", 401)

"""Classify what google-genai raises into the pipeline's error classes.

The codes are rows of ``backend.errors``; the retry policy reads them:

* 429 with a per-minute quota → ``RATE_LIMITED``, transient, ``retry_after`` from
  ``RetryInfo.retryDelay`` (capped);
* 429 on a per-day quota or with ``limit: 0`` → ``QUOTA_EXHAUSTED``: retrying
  within minutes is pointless, the job pauses instead;
* 500/502/503 and connection errors → ``LLM_UNAVAILABLE``, transient;
* 408/504 and client time-outs → ``LLM_TIMEOUT``, transient;
* 401/403 and an invalid key → ``LLM_AUTH_FAILED``, permanent;
* any other 4xx (unknown model, bad request) → ``LLM_REQUEST_REJECTED``, permanent.
"""

from __future__ import annotations

import re
from typing import Any

from backend.pipeline.errors import PermanentError, PipelineError, TransientError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"


def _error_body(details: Any) -> dict[str, Any]:
    if isinstance(details, dict):
        inner = details.get("error", details)
        return inner if isinstance(inner, dict) else {}
    return {}


def _detail_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("details")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def retry_delay(body: dict[str, Any]) -> float | None:
    """``RetryInfo.retryDelay`` (a protobuf duration such as ``"7s"``) in seconds."""
    for item in _detail_items(body):
        if item.get("@type") == _RETRY_INFO:
            match = _DURATION.match(str(item.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def is_quota_exhausted(body: dict[str, Any]) -> bool:
    """A per-day quota, or a quota whose limit is 0 (no access at this tier)."""
    if "limit: 0" in str(body.get("message", "")):
        return True
    for item in _detail_items(body):
        if item.get("@type") == _QUOTA_FAILURE:
            for violation in item.get("violations", []):
                if "PerDay" in str(violation.get("quotaId", "")):
                    return True
    return False


def _mentions_invalid_key(body: dict[str, Any]) -> bool:
    reasons = {str(item.get("reason", "")) for item in _detail_items(body)}
    return "API_KEY_INVALID" in reasons or "API key not valid" in str(body.get("message", ""))


def classify_api_error(
    code: int, details: Any, *, model: str, max_retry_after: float
) -> PipelineError:
    """The pipeline error for an HTTP error answer of the Gemini API."""
    body = _error_body(details)
    message = str(body.get("message") or details)[:500]
    if code == 429:
        delay = retry_delay(body)
        if is_quota_exhausted(body):
            return TransientError(
                f"Gemini quota exhausted for {model}: {message}",
                code="QUOTA_EXHAUSTED",
                retry_after=delay,
            )
        capped = min(delay, max_retry_after) if delay is not None else None
        return TransientError(
            f"Gemini rate limit for {model} (retry in {delay or '?'}s): {message}",
            code="RATE_LIMITED",
            retry_after=capped,
        )
    if code in (408, 504):
        return TransientError(f"Gemini timed out ({code}): {message}", code="LLM_TIMEOUT")
    if code >= 500:
        return TransientError(f"Gemini unavailable ({code}): {message}", code="LLM_UNAVAILABLE")
    if code in (401, 403) or _mentions_invalid_key(body):
        return PermanentError(
            f"Gemini refused the credentials ({code}): {message} — check GEMINI_API_KEY",
            code="LLM_AUTH_FAILED",
        )
    return PermanentError(
        f"Gemini rejected the request for model {model} ({code}): {message}",
        code="LLM_REQUEST_REJECTED",
    )


def classify_transport_error(exc: Exception, *, timeout: float) -> PipelineError | None:
    """Time-outs and connection failures of the SDK's HTTP client, else None.

    Matched by class name because the SDK may run on httpx or on its fork httpx2.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "TimeoutException" in names:
        return TransientError(
            f"Gemini did not answer within {timeout:g}s ({type(exc).__name__})",
            code="LLM_TIMEOUT",
        )
    if "TransportError" in names or isinstance(exc, ConnectionError):
        return TransientError(
            f"cannot reach Gemini: {type(exc).__name__}: {exc}", code="LLM_UNAVAILABLE"
        )
    return None

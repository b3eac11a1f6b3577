"""The fake Gemini server's answers: request bodies in, REST JSON bodies out.

The shapes follow the Gemini ``generateContent`` REST API as google-genai reads
it: ``candidates[].content.parts[].text``, ``finishReason``, ``usageMetadata``,
and ``{"error": {code, message, status, details}}`` with ``google.rpc``
details (``QuotaFailure``, ``RetryInfo``, ``ErrorInfo``).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from backend.pipeline.segment import split_long


def input_of(body: dict[str, Any]) -> dict[str, Any]:
    for content in body.get("contents", []):
        for part in content.get("parts", []):
            try:
                data = json.loads(part.get("text", ""))
            except ValueError:
                continue
            if isinstance(data, dict) and "sentences" in data:
                return data
    return {"words_per_sentence": 8, "sentences": []}


def rewrite(data: dict[str, Any]) -> list[list[str]]:
    """One list of pieces of at most N words per input sentence, as the prompt asks."""
    limit = int(data.get("words_per_sentence", 8))
    return [split_long(str(s), limit) for s in data.get("sentences", [])]


def _answer(text: str, finish: str = "STOP") -> dict[str, Any]:
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": finish,
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 100,
            "candidatesTokenCount": max(1, len(text) // 4),
            "totalTokenCount": 100 + max(1, len(text) // 4),
        },
        "modelVersion": "fake-flash",
    }


def error(code: int, status: str, message: str, details: list[Any]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, "details": details}}


def _rate_limit(delay: str) -> dict[str, Any]:
    return error(
        429,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
        [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel",
                        "quotaValue": "10",
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
        ],
    )


QUOTA_EXHAUSTED = error(
    429,
    "RESOURCE_EXHAUSTED",
    "You exceeded your current quota, please check your plan and billing details. Quota "
    "exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests"
    ", limit: 0, model: fake-flash",
    [
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {
                    "quotaMetric": "generativelanguage.googleapis.com/"
                    "generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                }
            ],
        },
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "31s"},
    ],
)


def respond(stop: threading.Event, behaviour: str, data: dict[str, Any]) -> tuple[int, Any]:
    """The HTTP status and JSON body for ``behaviour`` (``hang``/``slow`` sleep first)."""
    name, _, arg = behaviour.partition(":")
    if name == "hang":
        stop.wait(600)
        return 503, error(503, "UNAVAILABLE", "fake server stopping", [])
    if name == "slow":
        time.sleep(float(arg or 1))
    if name == "429":
        return 429, _rate_limit(f"{arg or 1}s")
    if name == "quota":
        return 429, QUOTA_EXHAUSTED
    if name in ("500", "503"):
        status = "INTERNAL" if name == "500" else "UNAVAILABLE"
        return int(name), error(int(name), status, "The model is overloaded.", [])
    if name == "bad_key":
        return 400, error(
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
        )
    sentences = rewrite(data)
    full = json.dumps({"sentences": sentences}, ensure_ascii=False)
    if name == "max_tokens":
        return 200, _answer(full[: len(full) // 2], "MAX_TOKENS")
    if name == "safety":
        return 200, {
            "candidates": [
                {
                    "finishReason": "SAFETY",
                    "index": 0,
                    "safetyRatings": [
                        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
                    ],
                }
            ]
        }
    if name == "bad_json":
        return 200, _answer("Here are your sentences: " + full[:40])
    if name == "lossy":  # every group keeps its first piece only
        lossy = [group[:1] for group in sentences]
        return 200, _answer(json.dumps({"sentences": lossy}, ensure_ascii=False))
    if name == "long":  # every group joined back into one over-long sentence
        joined = [[" ".join(group)] for group in sentences]
        return 200, _answer(json.dumps({"sentences": joined}, ensure_ascii=False))
    if name == "wrong_count":
        return 200, _answer(json.dumps({"sentences": sentences[1:]}, ensure_ascii=False))
    return 200, _answer(full)

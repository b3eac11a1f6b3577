"""Size limits of stored chunk results: big ones go to the blob store, never fail.

A chunk's ``result_json`` lives in its row. Past ``QUIRE_RESULT_WARN_KB`` (256 KB)
a warning is logged; past ``QUIRE_RESULT_MAX_KB`` (512 KB) the result is written
to the blob store and the row keeps a small pointer ``{"blob_key", "size",
"sentence_count"}``, so rows stay small and a large chunk still succeeds.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from backend.services import runtime

log = logging.getLogger(__name__)

POINTER_KEY = "blob_key"


def store_result(job_id: str, chunk_index: int, result: dict[str, Any]) -> dict[str, Any]:
    """What to write to ``result_json``: the result itself, or a pointer to its blob."""
    settings = runtime.settings()
    data = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode()
    size = len(data)
    if size <= settings.result_warn_kb * 1024:
        return result
    if size <= settings.result_max_kb * 1024:
        log.warning(
            "job %s chunk %d: result is %d KB (warning above %d KB)",
            job_id,
            chunk_index,
            size // 1024,
            settings.result_warn_kb,
        )
        return result
    key = f"jobs/{job_id}/results/chunk-{chunk_index:05d}.json"
    runtime.blobs().put_bytes(key, data)
    log.warning(
        "job %s chunk %d: result is %d KB (limit %d KB); stored as blob %s",
        job_id,
        chunk_index,
        size // 1024,
        settings.result_max_kb,
        key,
    )
    from backend.metrics import OVERSIZE_RESULTS

    OVERSIZE_RESULTS.inc()
    return {POINTER_KEY: key, "size": size, "sentence_count": len(result.get("sentences", []))}


def load_result(stored: dict[str, Any]) -> dict[str, Any]:
    """The full result behind a ``result_json`` value (reading the blob for a pointer)."""
    if POINTER_KEY not in stored:
        return stored
    loaded: dict[str, Any] = json.loads(runtime.blobs().get_bytes(stored[POINTER_KEY]))
    return loaded

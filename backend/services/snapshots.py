"""Bounded snapshots: JSON we store beside a row never grows with the document.

A job's ``result_summary`` and an audit entry's ``details`` are snapshots: small
JSON written once and read on every status poll. Some of their arrays scale with
the PDF (``missing_pages`` of a 5,000-page scan, ``chunk_ids`` of a retry of
2,000 chunks). ``bounded`` keeps the first ``QUIRE_SNAPSHOT_MAX_ITEMS`` items of
every array and records the full length under ``truncated``, so a reader knows
the list is cut and by how much; the complete data stays where it belongs (the
result file, the chunk rows).
"""

from __future__ import annotations

from typing import Any

from backend.services import runtime

TRUNCATED_KEY = "truncated"


def bounded(snapshot: dict[str, Any], max_items: int | None = None) -> dict[str, Any]:
    """A copy of ``snapshot`` with every array cut to ``max_items`` (default: the setting)."""
    limit = runtime.settings().snapshot_max_items if max_items is None else max_items
    return _bound_dict(snapshot, limit)


def _bound_dict(value: dict[str, Any], limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cut: dict[str, int] = {}
    for key, item in value.items():
        if isinstance(item, list) and len(item) > limit:
            cut[key] = len(item)
        out[key] = _bound(item, limit)
    if cut:
        out[TRUNCATED_KEY] = {**out.get(TRUNCATED_KEY, {}), **cut}
    return out


def _bound(value: Any, limit: int) -> Any:
    if isinstance(value, dict):
        return _bound_dict(value, limit)
    if isinstance(value, list):
        return [_bound(item, limit) for item in value[:limit]]
    return value

"""services/snapshots.bounded: arrays cut to a maximum, the cut recorded beside them."""

from __future__ import annotations

from backend.services.snapshots import bounded


def test_short_arrays_and_scalars_are_kept_as_they_are() -> None:
    snapshot = {"count": 3, "pages": [1, 2, 3], "name": "x", "nested": {"ids": [1]}}
    assert bounded(snapshot, max_items=3) == snapshot


def test_long_arrays_keep_their_first_items_and_say_how_long_they_were() -> None:
    snapshot = {"missing_pages": list(range(1, 251)), "failed_chunks": 4}
    assert bounded(snapshot, max_items=100) == {
        "missing_pages": list(range(1, 101)),
        "failed_chunks": 4,
        "truncated": {"missing_pages": 250},
    }


def test_nested_dicts_and_arrays_of_dicts_are_bounded_too() -> None:
    snapshot = {"rounds": [{"chunk_ids": list(range(5))} for _ in range(4)]}
    assert bounded(snapshot, max_items=2) == {
        "rounds": [
            {"chunk_ids": [0, 1], "truncated": {"chunk_ids": 5}},
            {"chunk_ids": [0, 1], "truncated": {"chunk_ids": 5}},
        ],
        "truncated": {"rounds": 4},
    }


def test_the_input_is_not_modified() -> None:
    pages = list(range(10))
    snapshot = {"pages": pages}
    bounded(snapshot, max_items=2)
    assert snapshot == {"pages": list(range(10))}

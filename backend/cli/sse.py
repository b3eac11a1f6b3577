"""A small Server-Sent Events reader (the client side of GET /jobs/{id}/events).

Used by ``quire watch`` and by the tests; it follows the parsing rules of the
HTML standard for the fields Quire sends (``id``, ``event``, ``data``, ``retry``,
and ``:`` comments).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    event: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


COMMENT = Event("comment", "")


def parse_events(lines: Iterable[str], comments: bool = False) -> Iterator[Event]:
    """Events from the stream's lines (without their line endings).

    With ``comments`` a ``:`` line yields ``COMMENT`` (tests count keep-alives).
    """
    name, event_id = "message", None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield Event(name, "\n".join(data), event_id)
            name, data = "message", []
            continue
        if line.startswith(":"):
            if comments:
                yield COMMENT
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value


def lines_of(chunks: Iterable[bytes]) -> Iterator[str]:
    """Split a byte stream (any chunking) into decoded lines."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.rstrip(b"\r").decode("utf-8")
    if buffer:
        yield buffer.decode("utf-8")

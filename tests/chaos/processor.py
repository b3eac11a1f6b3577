"""The chaos processor: its faults are scripted per chunk in a file, its calls are
recorded in another, so both survive the death of the process that ran them.

A worker subprocess loads it with ``celery … worker -I tests.chaos.processor``
(the import registers ``processor="chaos"``; product code never imports tests).
The test process imports it too, so that uploads naming it are accepted.

``QUIRE_CHAOS_SCRIPT`` names a JSON file read at every call::

    {"delay": 0.2, "default": "ok", "chunks": {"3": ["exit", "exit", "ok"]}}

The n-th call of a chunk (n counted from the calls file, so across processes
and restarts) runs ``chunks[index][n]``, or ``default`` past the end. Actions:
``ok``; ``sleep:<s>`` then ok; ``exit`` (``os._exit``: the pool child dies);
``kill`` (SIGKILL to itself); ``permanent`` (a non-retryable error); ``transient``;
``rate_limited`` (a 429-like transient error with a retry delay); ``hang``
(sleeps far past every time limit); ``hang_hard`` (ignores the soft limit too).

``QUIRE_CHAOS_CALLS`` names the append-only calls file: one JSON line per call,
written with one ``write`` on an ``O_APPEND`` descriptor *before* the action,
so a call that kills its process is still counted.

Pages carry their identity in their size (see ``tagged_pdf``): page ``p`` of the
job tagged ``t`` is ``200 + p`` wide and ``200 + t`` high. The processor reads
them back, so a chunk handed the wrong pages fails loudly, and several jobs of
one scenario are told apart.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter

from backend.pipeline import processors
from backend.pipeline.errors import PermanentError, TransientError
from backend.pipeline.types import ChunkInput, ChunkOutput, Sentence

NAME = "chaos"
SCRIPT_ENV = "QUIRE_CHAOS_SCRIPT"
CALLS_ENV = "QUIRE_CHAOS_CALLS"
BASE = 200


def tagged_pdf(pages: int, tag: int) -> bytes:
    """A blank PDF whose page ``p`` is ``BASE + p`` wide and ``BASE + tag`` high."""
    writer = PdfWriter()
    for page in range(1, pages + 1):
        writer.add_blank_page(width=BASE + page, height=BASE + tag)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sentence(tag: int, page: int) -> str:
    return f"job {tag} page {page}"


def read_calls(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _script() -> dict[str, Any]:
    path = os.environ.get(SCRIPT_ENV)
    if not path or not Path(path).exists():
        return {}
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


def _record(entry: dict[str, Any]) -> int:
    """Append one call; returns how many calls of this chunk came before it."""
    path = Path(os.environ[CALLS_ENV])
    previous = sum(
        1
        for call in read_calls(path)
        if call["tag"] == entry["tag"] and call["chunk"] == entry["chunk"]
    )
    entry["n"] = previous
    line = (json.dumps(entry) + "\n").encode()
    # One write on an O_APPEND descriptor: lines of concurrent processes never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return previous


class ChaosProcessor:
    """One sentence per owned page, ``job T page P``; faults follow the script file."""

    name = NAME

    def process(self, chunk: ChunkInput) -> ChunkOutput:
        reader = PdfReader(io.BytesIO(chunk.pdf_bytes))
        boxes = [page.mediabox for page in reader.pages]
        tag = round(float(boxes[0].height)) - BASE
        spec = chunk.spec
        script = _script()
        entry = {"tag": tag, "chunk": spec.index, "pid": os.getpid(), "t": time.time()}
        n = _record(entry)
        plan = script.get("chunks", {}).get(str(spec.index), [])
        action = plan[n] if n < len(plan) else script.get("default", "ok")
        self._act(action, float(script.get("delay", 0.0)))
        pages = []
        for offset, box in enumerate(boxes):
            page = spec.read_start + offset
            if round(float(box.width)) - BASE != page:
                raise PermanentError(f"chunk {spec.index} holds the wrong page at {page}")
            if spec.page_start <= page <= spec.page_end:
                pages.append(page)
        return ChunkOutput(sentences=tuple(Sentence(sentence(tag, p), p) for p in pages))

    @staticmethod
    def _act(action: str, delay: float) -> None:
        if action == "exit":
            os._exit(70)
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if action == "hang":
            time.sleep(3600)
        if action == "hang_hard":
            # Swallows the soft time limit too: only the hard limit (the pool
            # killing this child) ends it.
            while True:
                with contextlib.suppress(BaseException):
                    time.sleep(3600)
        if action == "permanent":
            raise PermanentError("scripted permanent failure", code="INVALID_PDF")
        if action == "transient":
            raise TransientError("scripted transient failure", retry_after=0.1)
        if action == "rate_limited":
            raise TransientError("scripted 429", code="RATE_LIMITED", retry_after=0.3)
        if action.startswith("sleep:"):
            time.sleep(float(action.split(":", 1)[1]))
        elif action != "ok":
            raise AssertionError(f"unknown chaos action {action!r}")
        time.sleep(delay)


processors.register(NAME, ChaosProcessor)

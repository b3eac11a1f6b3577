"""The parse sandbox: a child process that loops, explodes, raises or crashes ends
as a classified pipeline error, within its limits, and the caller lives on."""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from backend.pipeline.errors import (
    EncryptedPdfError,
    InvalidPdfError,
    PdfTooComplexError,
    PermanentError,
    TransientError,
)
from backend.pipeline.sandbox import ParseLimits, run_limited

FAST = ParseLimits(timeout_seconds=1.5, memory_mb=256)


def _loop_forever() -> None:
    while True:
        pass


def _allocate_4_gb() -> int:
    return len(bytearray(4 * 1024**3))


def _recurse(depth: int = 0) -> int:
    return _recurse(depth + 1) + 1


def _missing_attribute() -> None:
    _ = None.pages  # type: ignore[attr-defined]


def _exit_abruptly() -> None:
    os._exit(1)


def _segfault() -> None:
    ctypes.string_at(0)


def _exceed_cpu_limit() -> None:
    os.kill(os.getpid(), signal.SIGXCPU)


def _raise(error: BaseException) -> None:
    raise error


def _noisy(text: str) -> str:
    print("child stdout noise")
    os.write(1, b"fd 1 noise\n")
    os.write(2, b"fd 2 noise\n")
    return text.upper()


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_returns_the_child_value_even_larger_than_a_pipe_buffer() -> None:
    payload = bytes(range(256)) * 40_000  # 10 MB, far past the 64 KB pipe buffer
    assert run_limited(bytes, payload, limits=FAST) == payload


def test_endless_loop_is_too_complex_within_the_time_limit() -> None:
    started = time.monotonic()
    with pytest.raises(PdfTooComplexError, match="longer than 1.5 s"):
        run_limited(_loop_forever, limits=FAST)
    assert time.monotonic() - started < 4


def test_allocating_4_gb_is_too_complex() -> None:
    with pytest.raises(PdfTooComplexError, match="memory"):
        run_limited(_allocate_4_gb, limits=FAST)


def test_cpu_limit_signal_is_too_complex() -> None:
    with pytest.raises(PdfTooComplexError):
        run_limited(_exceed_cpu_limit, limits=FAST)


@pytest.mark.parametrize(
    ("func", "name"),
    [(_recurse, "RecursionError"), (_missing_attribute, "AttributeError")],
)
def test_unexpected_parser_exceptions_are_invalid_pdf(func: object, name: str) -> None:
    with pytest.raises(InvalidPdfError, match=name) as info:
        run_limited(func, limits=FAST)  # type: ignore[arg-type]
    assert info.value.code == "INVALID_PDF"


@pytest.mark.parametrize(
    ("func", "message"),
    [(_exit_abruptly, "exit status 1"), (_segfault, "SIGSEGV")],
)
def test_a_crashing_child_is_invalid_pdf_and_the_caller_survives(
    func: object, message: str
) -> None:
    with pytest.raises(InvalidPdfError, match=message):
        run_limited(func, limits=FAST)  # type: ignore[arg-type]
    assert run_limited(sum, [1, 2, 3], limits=FAST) == 6


@pytest.mark.parametrize(
    "error",
    [
        EncryptedPdfError("needs a password"),
        PermanentError("custom", code="CONTENT_BLOCKED"),
        TransientError("later", code="RATE_LIMITED"),
    ],
)
def test_pipeline_errors_cross_back_with_their_class_and_code(error: Exception) -> None:
    with pytest.raises(type(error)) as info:
        run_limited(_raise, error, limits=FAST)
    assert info.value.code == error.code  # type: ignore[attr-defined]
    assert str(info.value) == str(error)


def test_child_output_never_reaches_the_parent_streams(capfd: pytest.CaptureFixture[str]) -> None:
    assert run_limited(_noisy, "ok", limits=FAST) == "OK"
    out, err = capfd.readouterr()
    assert "noise" not in out
    assert "noise" not in err


def _children() -> set[int]:
    """This process's children, zombies included (other tests' servers may be among them)."""
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        pids |= {int(pid) for pid in (task / "children").read_text().split()}
    return pids


def test_no_child_is_left_behind() -> None:
    before = _children()
    with pytest.raises(PdfTooComplexError):
        run_limited(_loop_forever, limits=ParseLimits(timeout_seconds=0.3))
    assert _children() <= before  # the killed child was reaped: no zombie, no orphan


def test_parses_from_many_threads_are_bounded_by_max_concurrent() -> None:
    limits = ParseLimits(timeout_seconds=5, memory_mb=256, max_concurrent=2)
    results: list[float] = []
    threads = [
        threading.Thread(target=lambda: results.append(run_limited(_sleep, 0.4, limits=limits)))
        for _ in range(4)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert results == [0.4] * 4
    # Four 0.4 s parses two at a time take two rounds, not one.
    assert 0.8 <= elapsed < 3

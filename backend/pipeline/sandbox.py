"""Run one PDF parse in a forked child under a time limit and a memory limit.

Hostile PDFs make pypdf loop, recurse, allocate gigabytes or crash. None of that
may take the worker down, so every parse of an uploaded file runs here:

* ``os.fork()``, not ``multiprocessing``: Celery's prefork children are daemonic
  billiard processes, and billiard installs itself as ``multiprocessing``'s
  current process, so ``multiprocessing.Process.start()`` refuses to run there.
  A bare fork also needs no pickling of the input (the child already has it)
  and costs about a millisecond (docs/decisions.md has the measurements).
* The child caps its own address space (``RLIMIT_AS``, relative to the size it
  inherited) and CPU time (``RLIMIT_CPU``, the backstop if the parent dies); the
  parent enforces the wall clock and kills the child with SIGKILL.
* The child silences its stdout/stderr/logging (it shares the parent's file
  descriptors), classifies any exception itself and sends back a pickle of
  ``("ok", value)`` or ``("error", code, message)`` through a pipe. The parent
  re-raises the pipeline's own error classes.

A parse that runs out of time or memory is ``PDF_TOO_COMPLEX``; one that raises
or crashes is ``INVALID_PDF``, unless it raised a classified pipeline error.
"""

from __future__ import annotations

import faulthandler
import gc
import logging
import os
import pickle
import resource
import selectors
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from backend.pipeline.errors import (
    EncryptedPdfError,
    InvalidPdfError,
    NoTextError,
    PdfTooComplexError,
    PermanentError,
    PipelineError,
    TransientError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

_READ_SIZE = 1 << 20
# Signals that mean "a resource limit ended the child": CPU time (SIGXCPU at the
# soft limit, SIGKILL at the hard one, or the kernel's OOM killer).
_LIMIT_SIGNALS = {signal.SIGXCPU, signal.SIGKILL}
# A crash after the child's resident size grew by this share of its memory
# allowance counts as hitting the memory cap (see _death_error).
_NEAR_MEMORY_CAP = 0.75
_ERROR_CLASSES: dict[str, type[PipelineError]] = {
    cls.code: cls for cls in (InvalidPdfError, EncryptedPdfError, PdfTooComplexError, NoTextError)
}


@dataclass(frozen=True)
class ParseLimits:
    """Bounds for one parse: wall-clock seconds, extra memory, parses at once per process.

    ``ocr_page_seconds`` bounds Tesseract on each page OCR'd in the parse (a
    page over it fails alone); ``timeout_seconds`` still bounds the whole parse.
    """

    timeout_seconds: float = 120.0
    memory_mb: int = 1024
    max_concurrent: int = 3
    ocr_page_seconds: float = 60.0


_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _slot(size: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        if size not in _slots:
            _slots[size] = threading.BoundedSemaphore(size)
        return _slots[size]


def run_limited(func: Callable[..., T], *args: Any, limits: ParseLimits) -> T:
    """Return ``func(*args)`` computed in a child process bounded by ``limits``.

    The value must be picklable. Raises :class:`PdfTooComplexError` when the
    child runs out of time or memory, the classified :class:`PipelineError` the
    child raised, or :class:`InvalidPdfError` for any other failure or crash.
    At most ``limits.max_concurrent`` parses run at once in this process.
    """
    with _slot(max(1, limits.max_concurrent)):
        outcome = _fork_and_collect(func, args, limits)
    if outcome[0] == "ok":
        return cast("T", outcome[1])
    raise _rebuild(outcome)


def _rebuild(outcome: tuple[Any, ...]) -> PipelineError:
    _, code, message, transient = outcome
    if transient:
        return TransientError(message, code=code)
    cls = _ERROR_CLASSES.get(code)
    return cls(message) if cls is not None else PermanentError(message, code=code)


def _fork_and_collect(
    func: Callable[..., Any], args: tuple[Any, ...], limits: ParseLimits
) -> tuple[Any, ...]:
    read_fd, write_fd = os.pipe()
    baseline = _resident_bytes()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        # First, before anything allocates: objects inherited from the parent must
        # not be finalized here. A finalizer (an unclosed file's ResourceWarning,
        # say) may take a lock another parent thread held at fork time, and the
        # child would hang until its wall clock ran out.
        gc.freeze()
        sys.unraisablehook = _ignore_unraisable
        try:
            os.close(read_fd)
            _child_main(func, args, limits, write_fd)
        finally:
            os._exit(70)
    os.close(write_fd)
    reaped = False
    try:
        payload, timed_out = _read_until(read_fd, time.monotonic() + limits.timeout_seconds)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        status, peak = _reap(pid)
        reaped = True
    finally:
        os.close(read_fd)
        if not reaped:  # interrupted (a soft time limit, KeyboardInterrupt): no orphans
            os.kill(pid, signal.SIGKILL)
            _reap(pid)
    if timed_out:
        return _error(PdfTooComplexError(_too_slow(limits)))
    try:
        outcome: tuple[Any, ...] = pickle.loads(payload)  # noqa: S301 - our own child wrote it
    except Exception:  # an incomplete pickle: the child died while writing or before
        return _error(_death_error(status, limits, peak - baseline))
    return outcome


def _read_until(read_fd: int, deadline: float) -> tuple[bytes, bool]:
    """Read the pipe to EOF; ``(data, True)`` if the deadline passed first."""
    pieces: list[bytes] = []
    with selectors.DefaultSelector() as selector:
        selector.register(read_fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return b"".join(pieces), True
            piece = os.read(read_fd, _READ_SIZE)
            if not piece:
                return b"".join(pieces), False
            pieces.append(piece)


def _reap(pid: int) -> tuple[int | None, int]:
    """The child's exit status (None if someone else reaped it) and its peak resident bytes."""
    try:
        _, status, usage = os.wait4(pid, 0)
    except ChildProcessError:  # someone else's waitpid(-1) took it first
        return None, 0
    return status, usage.ru_maxrss * 1024


def _too_slow(limits: ParseLimits) -> str:
    return f"the PDF took longer than {limits.timeout_seconds:g} s to parse; it is too complex"


def _death_error(status: int | None, limits: ParseLimits, grown: int = 0) -> PipelineError:
    """Why the child died: a limit (``PDF_TOO_COMPLEX``) or a crash (``INVALID_PDF``).

    ``grown`` is how much the child's resident size grew over the parent's.
    PDFium aborts (SIGABRT) when an allocation fails under the address-space cap
    instead of raising, so a crash after the child used most of its allowance
    is the memory limit, not a damaged file.
    """
    if status is not None and os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number in _LIMIT_SIGNALS:
            return PdfTooComplexError(_too_slow(limits))
        if grown >= _NEAR_MEMORY_CAP * limits.memory_mb * 1024 * 1024:
            return PdfTooComplexError(
                f"the PDF needs more than {limits.memory_mb} MB of memory to parse; "
                "it is too complex"
            )
        name = signal.Signals(number).name if number in signal.valid_signals() else str(number)
        return InvalidPdfError(f"the PDF parser crashed on this file ({name})")
    code = os.WEXITSTATUS(status) if status is not None else "unknown"
    return InvalidPdfError(f"the PDF parser stopped unexpectedly on this file (exit status {code})")


def _error(exc: BaseException) -> tuple[Any, ...]:
    """Classify an exception into the picklable ``("error", code, message, transient)``."""
    if isinstance(exc, PipelineError):
        return ("error", exc.code, exc.message, isinstance(exc, TransientError))
    if isinstance(exc, MemoryError):
        return ("error", PdfTooComplexError.code, "the PDF needs too much memory to parse", False)
    text = str(exc).strip()[:160]
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return ("error", InvalidPdfError.code, f"the file is not a readable PDF ({detail})", False)


def _ignore_unraisable(unraisable: Any) -> None:
    """The child has no one to tell: its output goes nowhere."""


def _child_main(
    func: Callable[..., Any], args: tuple[Any, ...], limits: ParseLimits, write_fd: int
) -> None:
    # The worker's handlers (Celery's warm shutdown...) make no sense in here.
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        signal.signal(number, signal.SIG_DFL)
    _silence_output()
    _limit_resources(limits)
    try:
        outcome: tuple[Any, ...] = ("ok", func(*args))
        data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:  # noqa: BLE001 - everything is classified and sent back
        data = pickle.dumps(_error(exc), protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(data)
    while view:
        view = view[os.write(write_fd, view) :]
    os.close(write_fd)
    os._exit(0)


def _silence_output() -> None:
    """Point fds 0-2 at /dev/null and mute logging and warnings: the parent owns them."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives until _exit
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    # faulthandler writes crash tracebacks to its own duplicate of stderr.
    faulthandler.disable()


def _limit_resources(limits: ParseLimits) -> None:
    # The child inherits the parent's whole address space (thread stacks, the
    # app), so the cap is what it already maps plus the allowance.
    allowance = limits.memory_mb * 1024 * 1024
    cap = _mapped_bytes() + allowance
    _, hard_as = resource.getrlimit(resource.RLIMIT_AS)
    if hard_as == resource.RLIM_INFINITY or cap < hard_as:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard_as))
    cpu = max(1, int(limits.timeout_seconds + 0.999))
    _, hard_cpu = resource.getrlimit(resource.RLIMIT_CPU)
    if hard_cpu == resource.RLIM_INFINITY or cpu + 1 <= hard_cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:  # not Linux: the peak resident size (KiB) is an upper bound
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:  # not Linux: fall back on the peak resident size (KiB)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

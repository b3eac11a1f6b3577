"""Processor registry: a name in the job's settings → a processor instance."""

from __future__ import annotations

from collections.abc import Callable

from backend.pipeline.errors import PermanentError
from backend.pipeline.processors.base import Processor

_FACTORIES: dict[str, Callable[[], Processor]] = {}


def register(name: str, factory: Callable[[], Processor]) -> None:
    """Make ``name`` available to jobs (tests register scripted processors here)."""
    _FACTORIES[name] = factory


def unregister(name: str) -> None:
    _FACTORIES.pop(name, None)


def available() -> list[str]:
    _load_builtins()
    return sorted(_FACTORIES)


def get_processor(name: str) -> Processor:
    """Build the processor called ``name`` or raise ``PermanentError(UNKNOWN_PROCESSOR)``."""
    _load_builtins()
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise PermanentError(
            f"unknown processor {name!r}; available: {', '.join(sorted(_FACTORIES))}",
            code="UNKNOWN_PROCESSOR",
        ) from None
    return factory()


def _load_builtins() -> None:
    # Imported lazily so that importing the registry stays cheap and cycle-free.
    if "local" not in _FACTORIES:
        from backend.pipeline.processors.local import LocalProcessor

        register("local", LocalProcessor)


__all__ = ["Processor", "available", "get_processor", "register", "unregister"]

"""Processor registry: a name in the job's settings → a processor instance."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from backend.pipeline.errors import PermanentError
from backend.pipeline.processors.base import Processor

if TYPE_CHECKING:
    from backend.pipeline.processors.gemini import GeminiConfig

_FACTORIES: dict[str, Callable[[], Processor]] = {}
# Built-in processors that exist only once configured, and what to configure.
_NEEDS_CONFIG = {"gemini": "set GEMINI_API_KEY"}


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
        if name in _NEEDS_CONFIG:
            raise PermanentError(
                f"the {name} processor is not configured: {_NEEDS_CONFIG[name]}",
                code="PROCESSOR_NOT_CONFIGURED",
            ) from None
        raise PermanentError(
            f"unknown processor {name!r}; available: {', '.join(sorted(_FACTORIES))}",
            code="UNKNOWN_PROCESSOR",
        ) from None
    return factory()


def not_configured(name: str) -> str | None:
    """What to set to enable the built-in processor ``name``, if it is off."""
    _load_builtins()
    return _NEEDS_CONFIG.get(name) if name not in _FACTORIES else None


def configure_gemini(config: GeminiConfig | None) -> None:
    """Enable ``processor=gemini`` with ``config`` (the app factory calls this); None disables."""
    if config is None:
        unregister("gemini")
        return
    # Imported here: google-genai is heavy and only Gemini jobs need it.
    from backend.pipeline.processors.gemini import GeminiProcessor

    register("gemini", lambda: GeminiProcessor(config))


def _load_builtins() -> None:
    # Imported lazily so that importing the registry stays cheap and cycle-free.
    if "local" not in _FACTORIES:
        from backend.pipeline.processors.local import LocalProcessor

        register("local", LocalProcessor)


__all__ = [
    "Processor",
    "available",
    "configure_gemini",
    "get_processor",
    "not_configured",
    "register",
    "unregister",
]

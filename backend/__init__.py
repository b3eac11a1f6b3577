"""Quire: long PDFs, split into chunks, processed in parallel, merged.

Importing the package is cheap and side-effect free: the web stack is loaded by
``create_app`` only, so ``backend.pipeline`` can be used without Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apiflask import APIFlask

__version__ = "0.1.0"


def create_app(
    overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> APIFlask:
    """Build the Flask app (see ``backend.app.create_app``)."""
    from backend.app import create_app as build

    return build(overrides, env)

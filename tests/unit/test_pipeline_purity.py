"""The pipeline core must run without the web stack: no Flask, Celery or ORM."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import backend.pipeline

FORBIDDEN = ("flask", "flask_sqlalchemy", "celery", "sqlalchemy", "backend.models", "apiflask")


def test_importing_every_pipeline_module_loads_no_web_stack() -> None:
    modules = [
        m.name for m in pkgutil.walk_packages(backend.pipeline.__path__, prefix="backend.pipeline.")
    ]
    assert "backend.pipeline.processors.local" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} "
        f"or m.startswith('backend.models')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

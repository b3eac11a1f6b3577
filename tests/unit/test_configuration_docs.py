"""The configuration tables of docs/operations.md and README.md match the Settings class."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

import pytest

from backend.config import Settings

ROOT = Path(__file__).resolve().parents[2]
ENV_NAME = re.compile(r'"((?:QUIRE|CELERY|GEMINI|DATABASE|REDIS|SECRET|JWT)_[A-Z_]*|[A-Z]+_KEY)"')
ROW = re.compile(r"^\| `([A-Z_]+)`(?: / `([A-Z_]+)`)? \| ([^|]+) \|", re.MULTILINE)
# Values that differ per run (random secrets) or per machine (absolute paths).
UNSTABLE = {"secret_key", "jwt_secret_key", "data_dir"}


def variables_read_by_settings() -> set[str]:
    return set(ENV_NAME.findall((ROOT / "backend" / "config.py").read_text()))


def table(path: Path, heading: str) -> dict[str, str]:
    text = path.read_text()
    section = text[text.index(heading) :]
    following = section.find("\n## ", len(heading))
    section = section if following == -1 else section[:following]
    rows: dict[str, str] = {}
    for first, second, default in ROW.findall(section):
        for name in filter(None, (first, second)):
            rows[name] = default.strip()
    return rows


def stable(settings: Settings) -> dict[str, object]:
    return {k: v for k, v in asdict(settings).items() if k not in UNSTABLE}


def test_operations_table_lists_exactly_the_variables_settings_reads() -> None:
    documented = set(table(ROOT / "docs" / "operations.md", "## Configuration"))
    assert documented == variables_read_by_settings()


def test_readme_table_only_names_real_variables() -> None:
    documented = set(table(ROOT / "README.md", "## Configuration"))
    assert documented
    assert documented <= variables_read_by_settings() | {"QUIRE_DATA_DIR"}


# "—" means unset; the data dir's default resolves against the working directory.
DOCUMENTED_DEFAULTS = sorted(
    (name, default)
    for name, default in table(ROOT / "docs" / "operations.md", "## Configuration").items()
    if default != "—" and name != "QUIRE_DATA_DIR"
)


@pytest.mark.parametrize(("name", "default"), DOCUMENTED_DEFAULTS)
def test_documented_default_is_the_real_default(name: str, default: str) -> None:
    value = default.strip("`")
    assert stable(Settings.from_env({name: value})) == stable(Settings.from_env({})), name

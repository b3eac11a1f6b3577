"""Migrations own the schema: upgrade builds it from nothing and matches the models."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import TEST_DB, pg_url, recreate_database

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
# Follows QUIRE_TEST_DB, so that concurrent runs with different databases do not collide.
MIGRATION_DB = f"{TEST_DB}_migrations"


@pytest.fixture
def fresh_database() -> Iterator[str]:
    url = recreate_database(MIGRATION_DB)
    yield url
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{MIGRATION_DB}" WITH (FORCE)')


def flask_db(command: str, database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "QUIRE_DATA_DIR": str(data_dir),
        "CELERY_BROKER_URL": "",
        "REDIS_URL": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "backend:create_app", "db", *command.split()],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def tables(database_url: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def test_upgrade_on_an_empty_database_creates_the_schema_matching_the_models(
    fresh_database: str, tmp_path: Path
) -> None:
    assert tables(fresh_database) == set()

    upgraded = flask_db("upgrade", fresh_database, tmp_path)

    assert upgraded.returncode == 0, upgraded.stderr
    assert {"users", "jobs", "job_chunks", "audit_logs", "alembic_version"} <= tables(
        fresh_database
    )
    checked = flask_db("check", fresh_database, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr


def test_check_on_an_unmigrated_database_reports_a_difference(
    fresh_database: str, tmp_path: Path
) -> None:
    # The check above is only worth something if it can fail.
    checked = flask_db("check", fresh_database, tmp_path)

    assert checked.returncode != 0


def test_upgrade_twice_is_harmless_and_downgrade_empties_the_schema(
    fresh_database: str, tmp_path: Path
) -> None:
    assert flask_db("upgrade", fresh_database, tmp_path).returncode == 0
    assert flask_db("upgrade", fresh_database, tmp_path).returncode == 0

    # "base": every revision, however many there are.
    downgraded = flask_db("downgrade base", fresh_database, tmp_path)

    assert downgraded.returncode == 0, downgraded.stderr
    assert tables(fresh_database) <= {"alembic_version"}

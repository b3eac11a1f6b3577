"""The Procfile's web line as a platform runs it: gunicorn with gunicorn.conf.py.

Progress streams hold a gthread thread each until their job ends; the stream cap
that gunicorn.conf.py derives from ``GUNICORN_THREADS`` must leave threads free
for the API however many dashboards are open.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
import requests

from tests.conftest import TEST_DB, blank_pdf, recreate_database
from tests.e2e.conftest import REDIS
from tests.servers import free_port, stop_group, wait_for_http

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BROKER_DB = 15
THREADS = 6  # gunicorn.conf.py: 6 threads → QUIRE_SSE_MAX_STREAMS = 2


def procfile_command(process: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise AssertionError(f"no {process} line in the Procfile")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    redis.Redis.from_url(f"{REDIS}/{BROKER_DB}").flushdb()
    data_dir = tmp_path_factory.mktemp("procfile-web")
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",  # every stream lands on the same worker
        "GUNICORN_THREADS": str(THREADS),
        "PROMETHEUS_MULTIPROC_DIR": str(data_dir / "metrics"),
        "DATABASE_URL": recreate_database(f"{TEST_DB}_procfile"),
        "CELERY_BROKER_URL": f"{REDIS}/{BROKER_DB}",
        "CELERY_RESULT_BACKEND": f"{REDIS}/{BROKER_DB}",
        "SECRET_KEY": "procfile-secret-0123456789abcdef0123456789",
        "JWT_SECRET_KEY": "procfile-jwt-secret-0123456789abcdef0123",
        "QUIRE_DATA_DIR": str(data_dir),
        "QUIRE_SSE_POLL_SECONDS": "0.2",
        "QUIRE_SSE_KEEPALIVE_SECONDS": "1",  # closed streams notice it within a second
    }
    env.pop("QUIRE_SSE_MAX_STREAMS", None)
    (data_dir / "metrics").mkdir()
    release = procfile_command("release")
    done = subprocess.run(["bash", "-c", release], cwd=ROOT, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    log = (data_dir / "web.log").open("w")
    proc = subprocess.Popen(
        ["bash", "-c", procfile_command("web")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health", data_dir / "web.log", [proc])
        yield base
    finally:
        stop_group(proc)
        log.close()
        redis.Redis.from_url(f"{REDIS}/{BROKER_DB}").flushdb()


def test_open_progress_streams_never_take_the_api_threads(web: str) -> None:
    account = {"email": "streams@example.com", "password": "correct horse battery"}
    registered = requests.post(f"{web}/api/v1/auth/register", json=account, timeout=10)
    assert registered.status_code == 202, registered.text
    tokens = requests.post(f"{web}/api/v1/auth/login", json=account, timeout=10).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    answer = requests.post(
        f"{web}/api/v1/jobs",
        headers=headers,
        files={"file": ("a.pdf", blank_pdf(2), "application/pdf")},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job_id"]  # no worker runs: the job stays queued

    streams = [
        requests.get(f"{web}/api/v1/jobs/{job_id}/events", headers=headers, stream=True, timeout=10)
        for _ in range(THREADS - 4)
    ]
    try:
        assert [s.status_code for s in streams] == [200] * (THREADS - 4)
        refused = requests.get(f"{web}/api/v1/jobs/{job_id}/events", headers=headers, timeout=10)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "TOO_MANY_STREAMS"
        assert refused.headers["Retry-After"]
        # With every stream open, the API still answers at once.
        for _ in range(10):
            status = requests.get(f"{web}/api/v1/jobs/{job_id}", headers=headers, timeout=5)
            assert status.status_code == 200
            assert status.json()["status"] == "queued"
    finally:
        for s in streams:
            s.close()


def test_metrics_add_up_the_worker_processes(web: str) -> None:
    text = requests.get(f"{web}/metrics", timeout=10).text
    assert re.search(r'^quire_jobs\{status="queued"\} \d', text, re.MULTILINE)


def test_child_exit_removes_a_dead_workers_live_gauges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runpy

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("GUNICORN_THREADS", "10")
    monkeypatch.delenv("QUIRE_SSE_MAX_STREAMS", raising=False)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (config["threads"], config["worker_class"]) == (10, "gthread")
    assert os.environ["QUIRE_SSE_MAX_STREAMS"] == "6"
    assert config["sse_stream_cap"](3) == 1
    dead, alive = tmp_path / "gauge_livesum_4242.db", tmp_path / "gauge_livesum_4343.db"
    dead.write_bytes(b"")
    alive.write_bytes(b"")

    config["child_exit"](None, SimpleNamespace(pid=4242))

    assert (dead.exists(), alive.exists()) == (False, True)

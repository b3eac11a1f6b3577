"""Service mode as the README runs it: `flask db upgrade`, `flask run`, a Celery
worker process (prefork pool), Postgres and Redis; driven over HTTP like a client."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from backend.pipeline.segment import count_words
from tests.conftest import TEST_DB, recreate_database
from tests.e2e.conftest import REDIS, fixture_path
from tests.servers import free_port, wait_for_http

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BROKER_DB, RESULT_DB = 13, 14


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    for number in (BROKER_DB, RESULT_DB):
        redis.Redis.from_url(f"{REDIS}/{number}").flushdb()
    data_dir = tmp_path_factory.mktemp("service")
    env = {
        **os.environ,
        "DATABASE_URL": recreate_database(f"{TEST_DB}_service"),
        "CELERY_BROKER_URL": f"{REDIS}/{BROKER_DB}",
        "CELERY_RESULT_BACKEND": f"{REDIS}/{RESULT_DB}",
        "SECRET_KEY": "service-test-secret-0123456789abcdef0123",
        "JWT_SECRET_KEY": "service-test-jwt-secret-0123456789abcdef",
        "QUIRE_DATA_DIR": str(data_dir),
        "QUIRE_RETRY_BACKOFF_SECONDS": "0.2",
        # The decompression bomb needs ~800 MB to parse: under this allowance
        # it must end PDF_TOO_COMPLEX (with the default 1 GB PDFium copes and
        # finds a page that draws nothing).
        "QUIRE_PARSE_MEMORY_MB": "384",
    }
    flask = [str(BIN / "flask"), "--app", "backend:create_app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    logs = data_dir / "logs"
    logs.mkdir()
    web_log = (logs / "web.log").open("w")
    worker_log = (logs / "worker.log").open("w")
    procs = [
        subprocess.Popen(
            [*flask, "run", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=web_log,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "celery_worker",
                "worker",
                "-Q",
                "split,chunks,finalize,maintenance",
                "--concurrency",
                "2",
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        ),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health", logs / "web.log", procs)
        yield base
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        web_log.close()
        worker_log.close()


def test_client_uploads_watches_and_downloads_over_http(service: str) -> None:
    account = {"email": "client@example.com", "password": "a long password"}
    assert (
        requests.post(f"{service}/api/v1/auth/register", json=account, timeout=10).status_code
        == 202
    )
    login = requests.post(f"{service}/api/v1/auth/login", json=account, timeout=10)
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    pdf = fixture_path("corpus/qpdf__deterministic-id-in.pdf")
    with pdf.open("rb") as handle:
        accepted = requests.post(
            f"{service}/api/v1/jobs",
            files={"file": (pdf.name, handle, "application/pdf")},
            data={"pages_per_chunk": "10", "words_per_sentence": "10"},
            headers=headers,
            timeout=30,
        )
    assert accepted.status_code == 202, accepted.text
    job_url = service + accepted.json()["links"]["self"]
    assert accepted.headers["Location"].endswith(accepted.json()["links"]["self"])

    deadline = time.monotonic() + 120
    while (job := requests.get(job_url, headers=headers, timeout=10).json())["status"] not in (
        "completed",
        "partial",
        "failed",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["status"] == "completed", job
    assert job["page_count"] == 43
    assert job["total_chunks"] == 5

    chunks = requests.get(f"{job_url}/chunks", headers=headers, timeout=10).json()
    assert chunks["summary"]["success"] == 5
    assert [c["pages"] for c in chunks["items"]][:2] == [[1, 10], [11, 20]]

    text = requests.get(f"{job_url}/result?format=txt", headers=headers, timeout=10)
    assert text.status_code == 200
    assert text.headers["Content-Type"].startswith("text/plain")
    lines = text.text.splitlines()
    assert len(lines) > 100
    assert max(count_words(line) for line in lines) <= 10

    forbidden = requests.get(job_url, timeout=10)
    assert forbidden.status_code == 401
    assert forbidden.json()["error"]["code"] == "UNAUTHORIZED"


def test_prefork_worker_fails_a_hostile_pdf_cleanly_and_keeps_working(service: str) -> None:
    """Parses fork from billiard's daemonic pool children: the bomb ends its job
    PDF_TOO_COMPLEX and the same worker then completes a healthy upload."""
    from tests.hostile_pdfs import book, decompression_bomb

    account = {"email": "hostile@example.com", "password": "a long password"}
    requests.post(f"{service}/api/v1/auth/register", json=account, timeout=10)
    login = requests.post(f"{service}/api/v1/auth/login", json=account, timeout=10)
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    def run(pdf: bytes) -> dict[str, object]:
        accepted = requests.post(
            f"{service}/api/v1/jobs",
            files={"file": ("upload.pdf", pdf, "application/pdf")},
            headers=headers,
            timeout=30,
        )
        assert accepted.status_code == 202, accepted.text
        job_url = service + accepted.json()["links"]["self"]
        deadline = time.monotonic() + 120
        while (job := requests.get(job_url, headers=headers, timeout=10).json())["status"] not in (
            "completed",
            "partial",
            "failed",
        ):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        return dict(job)

    bomb = run(decompression_bomb())
    assert (bomb["status"], bomb["error"]["code"]) == ("failed", "PDF_TOO_COMPLEX"), bomb  # type: ignore[index]
    assert run(book())["status"] == "completed"

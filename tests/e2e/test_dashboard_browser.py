"""The dashboard in headless Chromium, against a live server with a real worker.

Log in, upload a PDF with settings, watch the list's progress bar reach 100 %,
open the job, see the failed chunk in the grid, retry it, download the CSV.
Screenshots go to test-artifacts/. Chromium comes from ``make browser-deps``;
without it (it could not be installed) these tests skip and say why.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import blank_pdf, require_tool
from tests.fakes.processors import Script

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ACCOUNT = {"email": "reader@example.com", "password": "a long password"}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    for tool in (CHROMIUM, CHROMEDRIVER):
        require_tool(tool, "run `make browser-deps` (as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.downloads = downloads
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def register_and_log_in(browser: Any, live_server: str, email: str) -> None:
    """A new account, logged in through the dashboard's form."""
    from selenium.webdriver.common.by import By

    account = {"email": email, "password": "a long password"}
    assert requests.post(f"{live_server}/api/v1/auth/register", json=account, timeout=10).ok
    browser.get(live_server + "/")
    browser.find_element(By.CSS_SELECTOR, "#email").send_keys(account["email"])
    browser.find_element(By.CSS_SELECTOR, "#password").send_keys(account["password"])
    browser.find_element(By.CSS_SELECTOR, "#login-button").click()
    wait_until(
        lambda: browser.find_element(By.CSS_SELECTOR, "#app").is_displayed(),
        what="the dashboard after login",
    )


def settle() -> None:
    time.sleep(0.6)  # let the bars' CSS transition finish before a screenshot


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``condition``; the page re-renders as progress arrives, so stale elements retry."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except StaleElementReferenceException:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or condition}")


def test_user_uploads_watches_retries_a_failed_chunk_and_downloads_csv(
    browser: Any, live_server: str, e2e_client: Any, script: Script, tmp_path: Path
) -> None:
    # (e2e_client: its teardown truncates the tables this test fills over HTTP.)
    from selenium.webdriver.common.by import By

    def element(css: str) -> Any:
        return browser.find_element(By.CSS_SELECTOR, css)

    assert requests.post(f"{live_server}/api/v1/auth/register", json=ACCOUNT, timeout=10).ok
    # Chunk 2 fails for good on its first run; every chunk takes a moment, so the
    # bar is seen moving. After a manual retry chunk 2 succeeds.
    script.plan = {i: ["sleep:0.4"] for i in range(6)}
    script.plan[2] = ["permanent"]
    pdf = tmp_path / "Le Grand Meaulnes.pdf"
    pdf.write_bytes(blank_pdf(12))

    browser.get(live_server + "/")
    element("#email").send_keys(ACCOUNT["email"])
    element("#password").send_keys(ACCOUNT["password"])
    element("#login-button").click()
    wait_until(lambda: element("#app").is_displayed(), what="the dashboard after login")
    assert element("#whoami").text == ACCOUNT["email"]

    element("#file").send_keys(str(pdf))
    for field, value in (("#pages", "2"), ("#overlap", "0"), ("#retries", "0")):
        element(field).clear()
        element(field).send_keys(value)
    element("#processor").clear()
    element("#processor").send_keys("scripted")
    element("#upload-button").click()

    row = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "tr[data-job]"), what="row")[0]
    job_id = row.get_attribute("data-job")
    seen: set[str] = set()

    def list_done() -> bool:
        label = element(f'tr[data-job="{job_id}"] .progress .label').text
        seen.add(label)
        return label == "100 %"

    wait_until(list_done, what="the progress bar at 100 %")
    assert len(seen) >= 2, f"the bar never moved: {seen}"
    wait_until(lambda: element(f'tr[data-job="{job_id}"] .badge').text == "partial", what="partial")
    settle()
    browser.save_screenshot(str(ARTIFACTS / "dashboard-jobs.png"))

    element(f'tr[data-job="{job_id}"] a').click()
    wait_until(lambda: element("#job-status").text == "partial", what="the job page")
    failed = wait_until(
        lambda: browser.execute_script(
            "return [...document.querySelectorAll('.cell.failed')]"
            ".map(c => [c.textContent, c.title])"
        ),
        what="the failed chunk in the grid",
    )
    assert len(failed) == 1
    number, tip = failed[0]
    assert number == "2"
    assert "pages 5–6" in tip
    assert "attempts 1" in tip
    # The code, its fixed sentence, then the processor's detail.
    assert "NO_TEXT: The pages contain no extractable text (scripted permanent failure)" in tip
    settle()
    browser.save_screenshot(str(ARTIFACTS / "dashboard-job-partial.png"))

    wait_until(lambda: element(".cell.failed").click() or True, what="a click on the chunk")
    assert element("#selected-count").text == "1"
    element("#retry-selected").click()
    wait_until(lambda: element("#job-status").text == "completed", what="completed after retry")
    wait_until(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".cell.success")) == 6)
    assert element("#job-percent").text == "100 %"
    settle()
    browser.save_screenshot(str(ARTIFACTS / "dashboard-job-completed.png"))

    element('.download[data-format="csv"]').click()
    downloaded = browser.downloads / "Le Grand Meaulnes.csv"
    wait_until(downloaded.exists, what="the CSV download")
    rows = list(csv.DictReader(io.StringIO(downloaded.read_text(encoding="utf-8"))))
    assert [(int(r["page"]), r["sentence"]) for r in rows] == [
        (n, f"page {n}") for n in range(1, 13)
    ]


def test_an_expired_access_token_is_renewed_with_the_refresh_token(
    browser: Any, live_server: str, e2e_client: Any
) -> None:
    from selenium.webdriver.common.by import By

    def element(css: str) -> Any:
        return browser.find_element(By.CSS_SELECTOR, css)

    register_and_log_in(browser, live_server, "renew@example.com")

    # A token the server refuses with 401, exactly as it refuses an expired one.
    browser.execute_script("sessionStorage.setItem('quire.token', 'expired.access.token')")
    browser.refresh()
    renewed = wait_until(
        lambda: browser.execute_script(
            "const t = sessionStorage.getItem('quire.token');"
            "return t && t !== 'expired.access.token' ? t : null"
        ),
        what="a renewed access token",
    )
    assert element("#app").is_displayed()
    assert not element("#login-panel").is_displayed()
    me = requests.get(
        f"{live_server}/api/v1/jobs", headers={"Authorization": f"Bearer {renewed}"}, timeout=10
    )
    assert me.status_code == 200

    # Without a usable refresh token either, the login form comes back.
    browser.execute_script(
        "sessionStorage.setItem('quire.token', 'expired.access.token');"
        "sessionStorage.setItem('quire.refresh', 'revoked.refresh.token')"
    )
    browser.refresh()
    wait_until(lambda: element("#login-panel").is_displayed(), what="the login form")
    assert browser.execute_script("return sessionStorage.getItem('quire.refresh')") is None


def test_job_page_shows_a_quota_pause_its_cost_and_fallen_back_chunks(
    browser: Any, live_server: str, e2e_app: Any, e2e_client: Any, script: Script, tmp_path: Path
) -> None:
    from datetime import timedelta

    from selenium.webdriver.common.by import By
    from sqlalchemy import update

    from backend.extensions import db
    from backend.models import Job, JobChunk
    from backend.models.types import utcnow

    def element(css: str) -> Any:
        return browser.find_element(By.CSS_SELECTOR, css)

    account = {"email": "paused@example.com", "password": "a long password"}
    assert requests.post(f"{live_server}/api/v1/auth/register", json=account, timeout=10).ok
    # Register answers 202 without tokens: log in for them.
    tokens = requests.post(f"{live_server}/api/v1/auth/login", json=account, timeout=10).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    accepted = requests.post(
        f"{live_server}/api/v1/jobs",
        headers=headers,
        files={"file": ("Sylvie.pdf", blank_pdf(4), "application/pdf")},
        data={"processor": "scripted", "pages_per_chunk": "2", "overlap_pages": "0"},
        timeout=10,
    )
    job_id = accepted.json()["job_id"]
    wait_until(
        lambda: (
            requests.get(f"{live_server}/api/v1/jobs/{job_id}", headers=headers, timeout=5).json()[
                "status"
            ]
            == "completed"
        ),
        what="the job completed",
    )
    # As a Gemini job would stand after a quota pause, with chunk 1 redone locally.
    resume_at = utcnow() + timedelta(hours=1)
    with e2e_app.app_context():
        db.session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status="paused_quota",
                step="paused: processor quota exhausted",
                resume_at=resume_at,
                error_code="QUOTA_EXHAUSTED",
                error_message="the daily quota is exhausted",
                options={"fallback": "local", "fallback_chunks": [1]},
            )
        )
        db.session.execute(
            update(JobChunk).where(JobChunk.job_id == job_id).values(tokens_used=1500)
        )
        db.session.commit()
        db.session.remove()

    browser.get(live_server + "/")
    element("#email").send_keys(account["email"])
    element("#password").send_keys(account["password"])
    element("#login-button").click()
    wait_until(lambda: element("#app").is_displayed(), what="the dashboard after login")
    browser.get(f"{live_server}/jobs/{job_id}")
    wait_until(lambda: element("#job-status").text == "paused_quota", what="the paused job page")
    detail = wait_until(
        lambda: "resumes by itself" in element("#job-detail").text and element("#job-detail").text,
        what="the resume time",
    )
    assert "3,000 tokens, 0 cache hits" in detail
    assert "QUOTA_EXHAUSTED" in element("#job-error").text
    # Read the cells inside the wait: the page re-renders as progress arrives.
    fallen = wait_until(
        lambda: [
            (cell.text, cell.get_attribute("title"))
            for cell in browser.find_elements(By.CSS_SELECTOR, ".cell.fallback")
        ],
        what="the fallback cell",
    )
    assert [text for text, _ in fallen] == ["1"]
    assert "processed by the local fallback, not by scripted" in fallen[0][1]
    settle()
    browser.save_screenshot(str(ARTIFACTS / "dashboard-job-paused.png"))


def test_job_page_says_which_pages_had_an_unreadable_text_layer(
    browser: Any, live_server: str, e2e_client: Any, tmp_path: Path
) -> None:
    """TAMReview's pages 2-22 carry glyph indices, not text: the page says so once it ends."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.conftest import FIXTURES

    def element(css: str) -> Any:
        return browser.find_element(By.CSS_SELECTOR, css)

    register_and_log_in(browser, live_server, "reviewer@example.com")

    element("#file").send_keys(str(FIXTURES / "corpus" / "pdfjs__TAMReview.pdf"))
    Select(element("#ocr")).select_by_value("off")  # the garbled pages stay unread
    element("#upload-button").click()
    row = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "tr[data-job]"), what="row")[0]
    row.find_element(By.CSS_SELECTOR, "a").click()
    wait_until(lambda: element("#job-status").text == "completed", what="the job completed")
    note = wait_until(lambda: element("#job-pages").text, what="the pages note")
    assert note == "unreadable text layer: pages 2-22"
    settle()
    browser.save_screenshot(str(ARTIFACTS / "dashboard-job-unreadable.png"))

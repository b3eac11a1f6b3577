"""The audit's stored XSS, replayed in headless Chromium (issue 12, finding 1).

A user uploads the PDF whose parser error quotes an HTML attribute break-out
and lets it fail. Chunk rows also get the payloads a worker could have written
before the fix (``last_error`` and a ``page_errors`` entry), straight into the
database. An operator opens the job page, hovers and focuses every cell: no
script of the payloads runs, they show as text, and the page carries its CSP.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import JobChunk
from backend.services import users
from tests.e2e.test_dashboard_browser import ARTIFACTS, browser, settle, wait_until
from tests.hostile_pdfs import parser_message_injection

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.security]
assert browser  # a fixture: imported for the tests below, which name it

PAYLOADS = [
    '"><img src=x onerror="window.__xss=1">',
    '" autofocus onfocus="window.__xss=1" x="',
]
PASSWORD = "correct horse battery"
# Before any script of the page: count what the CSP blocks, and any script that ran.
WATCH = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation',"
    " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def login_tokens(base: str, email: str) -> dict[str, str]:
    answer = requests.post(
        f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def failed_hostile_job(base: str, headers: dict[str, str]) -> str:
    """Three broken pages and a readable one, one chunk each, no automatic retry."""
    accepted = requests.post(
        f"{base}/api/v1/jobs",
        headers=headers,
        files={"file": ("hostile.pdf", parser_message_injection(3, 1), "application/pdf")},
        data={
            "processor": "local",
            "pages_per_chunk": "1",
            "overlap_pages": "0",
            "max_retries": "0",
        },
        timeout=10,
    )
    assert accepted.status_code == 202, accepted.text
    job_id: str = accepted.json()["job_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = requests.get(f"{base}/api/v1/jobs/{job_id}", headers=headers, timeout=5).json()
        if job["status"] in {"completed", "partial", "failed"}:
            return job_id
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def leave_payloads(e2e_app: Any, job_id: str) -> None:
    """What a worker before the fix could have stored: raw payloads in the rows."""
    with e2e_app.app_context():
        rows = db.session.scalars(
            select(JobChunk).where(JobChunk.job_id == job_id).order_by(JobChunk.chunk_id)
        ).all()
        assert len(rows) == 4
        for row, payload in zip(rows[:2], PAYLOADS, strict=True):
            db.session.execute(
                update(JobChunk)
                .where(JobChunk.id == row.id)
                .values(status="failed", last_error_code="INVALID_PDF", last_error=payload)
            )
        readable = rows[3]
        stored = dict(readable.result_json or {"sentences": [], "pages_without_text": []})
        stored["metadata"] = {"page_errors": {"4": PAYLOADS[0] + " " + PAYLOADS[1]}}
        db.session.execute(
            update(JobChunk)
            .where(JobChunk.id == readable.id)
            .values(status="success", result_json=stored)
        )
        db.session.commit()
        db.session.remove()


def test_an_operator_opens_a_hostile_job_and_no_payload_runs(
    browser: Any, live_server: str, e2e_app: Any, e2e_client: Any
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    with e2e_app.app_context():
        users.register_user("writer@example.com", PASSWORD)
        users.register_user("ops@example.com", PASSWORD, role="operator")
        db.session.remove()
    job_id = failed_hostile_job(live_server, login_tokens(live_server, "writer@example.com"))
    # The worker's own message for the third broken page stays as the fix stored it.
    leave_payloads(e2e_app, job_id)

    page = requests.get(f"{live_server}/jobs/{job_id}", timeout=10)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy

    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    browser.get(live_server + "/")
    browser.find_element(By.CSS_SELECTOR, "#email").send_keys("ops@example.com")
    browser.find_element(By.CSS_SELECTOR, "#password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login-button").click()
    wait_until(lambda: browser.find_element(By.CSS_SELECTOR, "#app").is_displayed(), what="login")
    browser.get(f"{live_server}/jobs/{job_id}")
    cells = wait_until(
        lambda: len(found := browser.find_elements(By.CSS_SELECTOR, ".cell")) == 4 and found,
        what="the four chunk cells",
    )

    def inspect(number: int) -> tuple[str, str] | None:
        """Hover and focus cell ``number``; its title and the detail line, once they agree."""
        cell = browser.find_element(By.CSS_SELECTOR, f'.cell[data-chunk="{number}"]')
        ActionChains(browser).move_to_element(cell).perform()
        browser.execute_script("arguments[0].focus()", cell)
        detail = browser.find_element(By.CSS_SELECTOR, "#chunk-detail")
        # Text, not markup: the detail line holds no element at all.
        assert browser.execute_script("return arguments[0].children.length", detail) == 0
        title = cell.get_attribute("title") or ""
        text = browser.execute_script("return arguments[0].textContent", detail)
        return (title, text) if title and text == title else None

    # (The grid is rebuilt when the stream ends: a stale cell is looked up again.)
    inspected = [wait_until(lambda n=n: inspect(n), what=f"cell {n}") for n in range(len(cells))]
    titles = [title for title, _ in inspected]
    assert browser.execute_script("return typeof window.__xss") == "undefined"
    assert PAYLOADS[0] in titles[0]
    assert PAYLOADS[1] in titles[1]
    assert "page 4: " + PAYLOADS[0] + " " + PAYLOADS[1] in titles[3]
    # The third cell: what the fixed worker stored for the real hostile PDF.
    if "INVALID_PDF: " in titles[2]:  # (pypdf fails on the page; a tolerant parser may not)
        assert not set('<>"') & set(titles[2].split("INVALID_PDF: ", 1)[1])
    grid = browser.find_element(By.CSS_SELECTOR, "#chunk-grid")
    assert (
        browser.execute_script(
            "return arguments[0].querySelectorAll('img, [autofocus], [onfocus], [onerror]').length",
            grid,
        )
        == 0
    )
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    assert browser.execute_script("return window.__csp") == []
    assert browser.execute_script("return typeof window.__xss") == "undefined"
    settle()
    browser.save_screenshot(str(ARTIFACTS / "dashboard-job-hostile.png"))


def test_api_docs_render_in_chromium_under_the_csp(browser: Any, live_server: str) -> None:
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    browser.get(f"{live_server}/api/docs")
    operations = wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, ".opblock"), what="the operations"
    )
    assert len(operations) >= 10
    # Open one: the schema and example views render under the policy too.
    operations[0].find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, ".opblock.is-open .responses-wrapper"),
        what="an opened operation",
    )
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map((r) => r.name)"
    )
    assert resources
    assert all(url.startswith(live_server + "/") for url in resources), resources
    assert browser.execute_script("return window.__csp") == []
    settle()
    browser.save_screenshot(str(ARTIFACTS / "api-docs.png"))

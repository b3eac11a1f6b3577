"""Security headers and a script-free markup (issue 12, finding 2).

The dashboard's origin holds the tokens: its pages may run only our own files
(a CSP without inline script or eval, framed by no one), every answer says
nosniff and same-origin referrers, and /api/docs loads nothing from a CDN.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from backend.web.headers import DATA_POLICY
from tests.conftest import upload

STATIC = Path(__file__).resolve().parents[2] / "backend" / "web" / "static"
PAGES = ["/", "/jobs/5b2c7a0e-0000-4000-8000-000000000000", "/api/docs"]
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize("path", PAGES)
def test_pages_run_only_our_own_scripts_and_cannot_be_framed(
    client: FlaskClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    for values in policy.values():
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"} & set(values)
    for name, value in ALWAYS.items():
        assert response.headers[name] == value


def test_every_other_answer_has_the_headers_and_a_policy_that_runs_nothing(
    client: FlaskClient, alice: dict[str, str]
) -> None:
    job = upload(client, alice, b"%PDF-1.4 not really")
    answers = {
        "health": client.get("/health"),
        "spec": client.get("/api/openapi.json"),
        "unauthenticated": client.get("/api/v1/jobs"),
        "authenticated": client.get("/api/v1/jobs", headers=alice),
        "404": client.get("/api/v1/jobs/nope", headers=alice),
        "405": client.delete("/api/v1/auth/login"),
        "422 upload": job,
        "metrics": client.get("/metrics"),
        "script": client.get("/assets/app.js"),
        "swagger asset": client.get("/api/docs/assets/swagger-ui-bundle.js"),
    }
    for what, response in answers.items():
        for name, value in ALWAYS.items():
            assert response.headers.get(name) == value, (what, name)
        if response.mimetype != "text/html":
            assert response.headers["Content-Security-Policy"] == DATA_POLICY, what
        assert "'none'" in response.headers["Content-Security-Policy"], what
        response.close()


class _Markup(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block, and every URL."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.inline.append(f"<{tag} {name}={value!r}>")
            if name in {"src", "href", "action", "formaction"} and value:
                self.urls.append(value)
            if value and value.strip().lower().startswith("javascript:"):
                self.inline.append(f"<{tag} {name}={value!r}>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self._in_script = True
            if "src" not in names:
                self.inline.append("<script> without src")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"inline script {data.strip()[:40]!r}")


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_style_or_handler_and_load_only_from_us(
    client: FlaskClient, path: str
) -> None:
    markup = _Markup()
    markup.feed(client.get(path).get_data(as_text=True))
    assert markup.inline == []
    assert markup.urls
    for url in markup.urls:
        assert re.match(r"/(?!/)", url), url  # this origin: no host, no scheme
        if not url.startswith("/jobs/"):
            asset = client.get(url)
            assert asset.status_code == 200, url
            asset.close()


def test_api_docs_serve_swagger_ui_from_the_pinned_package_and_nothing_else(
    client: FlaskClient,
) -> None:
    page = client.get("/api/docs").get_data(as_text=True)
    assert "swagger-ui-bundle.js" in page
    assert not re.search(r"https?://", page)
    bundle = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert bundle.mimetype == "text/javascript"
    assert "SwaggerUIBundle" in bundle.get_data(as_text=True)[:2000]
    bundle.close()
    for name in ("LICENSE", "oauth2-redirect.html", "..%2F..%2Fapi_docs.py", "swagger-ui.js"):
        assert client.get(f"/api/docs/assets/{name}").status_code == 404, name


def test_the_dashboard_script_never_parses_markup_from_strings() -> None:
    for script in STATIC.glob("*.js"):
        source = script.read_text(encoding="utf-8")
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.DOTALL)
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in code, (script.name, sink)

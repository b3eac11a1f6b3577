"""``make lint``'s dependency audit verdict (tools/dependency_audit.py, issue 12).

Fails on a known vulnerability; warns and passes when the service cannot be
reached or audits nothing; fails when pip-audit itself fails otherwise.
"""

from __future__ import annotations

from typing import Any

from tools.dependency_audit import verdict


def dep(name: str, vulns: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"name": name, "version": "1.0", "vulns": vulns or []}


def skipped(name: str) -> dict[str, Any]:
    return {"name": name, "skip_reason": f"Dependency not found on PyPI: {name} (1.0)"}


def test_a_known_vulnerability_fails_and_names_the_fix() -> None:
    vuln = {"id": "PYSEC-2099-1", "fix_versions": ["1.1"], "aliases": []}
    result = verdict({"dependencies": [dep("flask"), dep("jinja2", [vuln])]}, 1, "")
    assert result.exit_code == 1
    assert "jinja2 1.0: PYSEC-2099-1 (fixed in 1.1)" in result.message


def test_a_clean_audit_passes() -> None:
    result = verdict({"dependencies": [dep("flask"), dep("jinja2"), skipped("quire")]}, 0, "")
    assert result.exit_code == 0
    assert "2 packages, no known vulnerabilities; 1 could not be audited" in result.message


def test_an_unreachable_service_warns_and_passes() -> None:
    stderr = "Traceback …\nrequests.exceptions.ConnectionError: Max retries exceeded with url"
    result = verdict(None, 1, stderr)
    assert result.exit_code == 0
    assert result.message.startswith("WARNING: dependency audit skipped")


def test_a_service_that_audits_nothing_warns_and_passes() -> None:
    result = verdict({"dependencies": [skipped("flask"), skipped("jinja2")]}, 0, "")
    assert result.exit_code == 0
    assert "answered for none of the 2 installed packages" in result.message


def test_any_other_pip_audit_failure_fails() -> None:
    result = verdict(None, 2, "pip-audit: error: unrecognized arguments: --bogus")
    assert result.exit_code == 1
    assert "unrecognized arguments" in result.message

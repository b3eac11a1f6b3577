"""``make lint``'s dependency audit: pip-audit over the venv, read as a verdict.

* A known vulnerability in an installed distribution fails (exit 1), listing
  each one with the versions that fix it.
* When the vulnerability service cannot be reached (no network, a proxy that
  refuses) or answers for none of the distributions (a registry mirror that
  does not serve per-version JSON), it warns loudly and passes (exit 0):
  an audit that could not run is not a finding, and lint must work offline.
* Anything else pip-audit fails on (a bad option, a crash) fails.

The venv is audited, not requirements.txt alone: it holds what Quire really
runs, transitive dependencies included (and the dev tools). Quire itself,
installed editable, is skipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Signs, in pip-audit's traceback, that the service was never reached.
UNREACHABLE = (
    "ConnectionError",
    "ProxyError",
    "ConnectTimeout",
    "ReadTimeout",
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "SSLError",
)


@dataclass(frozen=True)
class Verdict:
    exit_code: int
    message: str


def verdict(report: dict[str, Any] | None, returncode: int, stderr: str) -> Verdict:
    """What ``make lint`` says of one pip-audit run (its JSON report, exit status, stderr)."""
    if report is None:
        if returncode != 0 and any(sign in stderr for sign in UNREACHABLE):
            return Verdict(
                0,
                "WARNING: dependency audit skipped: the vulnerability service cannot be "
                "reached (" + _last_line(stderr) + "). Run `make lint` again with network.",
            )
        return Verdict(1, f"dependency audit failed (pip-audit exit {returncode}):\n{stderr}")
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    if vulnerable:
        lines = [
            f"  {d['name']} {d['version']}: {v['id']} "
            f"(fixed in {', '.join(v.get('fix_versions') or ['no release yet'])})"
            for d in vulnerable
            for v in d["vulns"]
        ]
        return Verdict(1, "known vulnerabilities in installed packages:\n" + "\n".join(lines))
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    if audited == 0:
        return Verdict(
            0,
            f"WARNING: dependency audit skipped: the vulnerability service answered for none of "
            f"the {len(dependencies)} installed packages (e.g. {_example(skipped)}). "
            "Run `make lint` again where the package index's JSON API is reachable.",
        )
    note = f"; {len(skipped)} could not be audited ({_example(skipped)})" if skipped else ""
    return Verdict(0, f"dependency audit: {audited} packages, no known vulnerabilities{note}")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def _example(skipped: list[dict[str, Any]]) -> str:
    return str(skipped[0].get("skip_reason", "?")) if skipped else "none"


def run() -> Verdict:
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "audit.json"
        done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed command
            [
                sys.executable,
                "-m",
                "pip_audit",
                "--skip-editable",
                "--progress-spinner",
                "off",
                "--format",
                "json",
                "--output",
                str(output),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        report = json.loads(output.read_text()) if output.exists() else None
    return verdict(report, done.returncode, done.stderr)


def main() -> int:
    result = run()
    print(
        result.message,
        file=sys.stderr if result.exit_code or "WARNING" in result.message else sys.stdout,
    )
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())

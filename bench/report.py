"""Collects results and writes docs/benchmarks.md."""

from __future__ import annotations

import math
import platform
import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

PACKAGES = ("celery", "kombu", "redis", "SQLAlchemy", "psycopg", "Flask", "pypdf", "pikepdf")


@dataclass(frozen=True)
class Row:
    """One measurement: Quire's value against a baseline measured in the same run."""

    case: str
    quire: str
    baseline: str
    ratio: float
    target: float | None = None  # the ratio must stay at or below this

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "—"
        return "met" if self.ratio <= self.target else "**missed**"


@dataclass
class Section:
    title: str
    method: str
    baseline: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class KeptSection:
    """A section of the existing file that this run did not measure, kept verbatim."""

    title: str
    rows: list[str]  # its lines of the summary table
    body: list[str]  # from its "## title" line to the next section


@dataclass
class Report:
    command: str
    quick: bool
    sections: list[Section] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    # A run of some scenarios only (--only) keeps the others' numbers from the file.
    kept: list[KeptSection] = field(default_factory=list)
    kept_from: str | None = None

    def write(self, path: Path, elapsed: float) -> None:
        path.write_text(self.render(elapsed), encoding="utf-8")

    def render(self, elapsed: float) -> str:
        measured = {section.title for section in self.sections}
        kept = [k for k in self.kept if k.title not in measured]
        lines = [
            "# Benchmarks",
            "",
            "Written by `make bench` (`bench/`); do not edit by hand. Every result is a",
            "ratio against a baseline measured in the same run on the same machine;",
            "absolute times are given for context only and are not targets.",
            "",
            "## Run",
            "",
            f"* date: {self.started:%Y-%m-%d %H:%M} UTC; suite time {elapsed / 60:.1f} min",
            f"* command: `{self.command}`" + (" (**quick**: reduced sizes)" if self.quick else ""),
            *machine_lines(),
            f"* versions: {versions()}",
        ]
        if kept:
            titles = ", ".join(k.title.split(" ", 1)[0].rstrip(".") for k in kept)
            lines.append(
                f"* sections {titles} were not run this time: kept from the file's "
                f"previous run ({self.kept_from or 'date unknown'})"
            )
        lines += [
            "",
            "## Summary",
            "",
            "| scenario | case | Quire | baseline | ratio | target | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        ordered = sorted([*self.sections, *kept], key=lambda s: _order(s.title))
        for section in ordered:
            if isinstance(section, KeptSection):
                lines += section.rows
                continue
            for row in section.rows:
                target = f"≤ {row.target:.2f}×" if row.target is not None else ""
                ratio = f"{row.ratio:.2f}×" if abs(row.ratio) >= 0.01 else f"{row.ratio:.4f}×"
                ratio = "—" if math.isnan(row.ratio) else ratio
                lines.append(
                    f"| {section.title} | {row.case} | {row.quire} | {row.baseline} "
                    f"| {ratio} | {target} | {row.verdict} |"
                )
        for section in ordered:
            if isinstance(section, KeptSection):
                lines += ["", *section.body]
                continue
            lines += ["", f"## {section.title}", "", section.method, "", section.baseline, ""]
            lines += [f"* {note}" for note in section.notes]
        return "\n".join(lines).rstrip() + "\n"


def _order(title: str) -> tuple[int, str]:
    number = re.match(r"(\d+)\.", title)
    return (int(number.group(1)) if number else 999, title)


def read_kept(path: Path) -> tuple[list[KeptSection], str | None]:
    """The sections of an existing benchmarks file, and the date of the run that wrote it."""
    if not path.exists():
        return [], None
    text = path.read_text(encoding="utf-8")
    date = re.search(r"^\* date: ([^;\n]+)", text, re.MULTILINE)
    rows: dict[str, list[str]] = {}
    bodies: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.rstrip().splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            if current not in ("Run", "Summary"):
                bodies[current] = [line]
            continue
        if current == "Summary" and line.startswith("| ") and not line.startswith("| scenario"):
            rows.setdefault(line.split("|")[1].strip(), []).append(line)
        elif current in bodies:
            bodies[current].append(line)
    kept = [KeptSection(title, rows.get(title, []), _trim(body)) for title, body in bodies.items()]
    return kept, date.group(1).strip() if date else None


def _trim(body: list[str]) -> list[str]:
    while body and not body[-1].strip():
        body = body[:-1]
    return body


def machine_lines() -> list[str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    cores = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    return [
        f"* machine: {cores} CPUs (`nproc`), {mem_kib / 1024 / 1024:.1f} GiB RAM, CPU {cpu}",
        f"* system: {platform.platform()}; Python {platform.python_version()}",
        f"* services: {postgres_version()}; {redis_version()}",
    ]


def postgres_version() -> str:
    import psycopg

    from bench.infra import pg_url

    with psycopg.connect(pg_url("postgres")) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def redis_version() -> str:
    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    parts = [p for p in out.split() if p.startswith("v=")]
    return f"Redis {parts[0][2:] if parts else '?'}"


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)

"""Collects results and writes docs/benchmarks.md."""

from __future__ import annotations

import math
import platform
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


@dataclass
class Report:
    command: str
    quick: bool
    sections: list[Section] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def write(self, path: Path, elapsed: float) -> None:
        path.write_text(self.render(elapsed), encoding="utf-8")

    def render(self, elapsed: float) -> str:
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
            "",
            "## Summary",
            "",
            "| scenario | case | Quire | baseline | ratio | target | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for section in self.sections:
            for row in section.rows:
                target = f"≤ {row.target:.2f}×" if row.target is not None else ""
                ratio = f"{row.ratio:.2f}×" if abs(row.ratio) >= 0.01 else f"{row.ratio:.4f}×"
                ratio = "—" if math.isnan(row.ratio) else ratio
                lines.append(
                    f"| {section.title} | {row.case} | {row.quire} | {row.baseline} "
                    f"| {ratio} | {target} | {row.verdict} |"
                )
        for section in self.sections:
            lines += ["", f"## {section.title}", "", section.method, "", section.baseline, ""]
            lines += [f"* {note}" for note in section.notes]
        return "\n".join(lines).rstrip() + "\n"


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

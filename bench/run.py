"""The suite: start private services, run each scenario, write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import shlex
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.context import Context
from bench.infra import BENCH_DB, ROOT, Services, drop_database, recreate_database, redis_server
from bench.report import Report, Section, read_kept

SCENARIOS = {
    "orchestration": "bench.scenarios.orchestration",
    "split": "bench.scenarios.split_persist",
    "queries": "bench.scenarios.status_queries",
    "upload": "bench.scenarios.upload_memory",
    "scaling": "bench.scenarios.scaling",
    "local": "bench.scenarios.local_throughput",
    "segmentation": "bench.scenarios.segmentation_gold",
    "books": "bench.scenarios.books_end_to_end",
    "ocr": "bench.scenarios.ocr",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    parser.add_argument(
        "--only", action="append", choices=sorted(SCENARIOS), help="run these scenarios only"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per timed case (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--cache", type=Path, default=ROOT / "build" / "bench")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    command = "python -m bench " + shlex.join(sys.argv[1:] if argv is None else argv)
    report = Report(command=command.strip(), quick=args.quick)
    if args.only:
        # A partial run rewrites only its own sections; the others keep their numbers.
        report.kept, report.kept_from = read_kept(args.out)
    args.cache.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    failed = False
    with tempfile.TemporaryDirectory(prefix="quire-bench-") as tmp, redis_server(Path(tmp)) as url:
        services = Services(recreate_database(BENCH_DB), url, Path(tmp) / "data")
        # The driver's own app, chord_app and worker subprocesses read the same variables.
        os.environ.update(services.env())
        from bench.driver import build_driver_app

        app = build_driver_app(services)
        ctx = Context(services, app, args.quick, args.cache, repeat=args.repeat)
        try:
            for name in args.only or list(SCENARIOS):
                started = time.monotonic()
                ctx.progress(f"scenario {name}: start")
                try:
                    module = importlib.import_module(SCENARIOS[name])
                    with app.app_context():
                        section: Section = module.run(ctx)
                except Exception:
                    failed = True
                    traceback.print_exc()
                    section = Section(name, "failed; see the console output", "")
                report.sections.append(section)
                # Written after every scenario: an interrupted run keeps what it measured.
                report.write(args.out, time.monotonic() - began)
                elapsed = time.monotonic() - started
                ctx.progress(f"scenario {name}: done in {elapsed:.0f}s")
        finally:
            from bench.infra import dispose

            dispose(app)
            drop_database(BENCH_DB)
    report.write(args.out, time.monotonic() - began)
    print(f"[bench] wrote {args.out} in {(time.monotonic() - began) / 60:.1f} min")
    return 1 if failed else 0

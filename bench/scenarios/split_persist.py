"""Scenario 2: split and persist, against raw pypdf (and pikepdf) on the same ranges.

Quire's ``split_job`` service: open the upload, write each chunk PDF to the
blob store (fsync'd, atomic), insert the chunk rows and move the job to
``processing`` in one transaction, then publish the chord (to the bench's Redis;
no worker consumes it). The baseline splits the same file into the same page
ranges (``plan_chunks``, 20 pages a chunk, 1 page of overlap) in memory.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from backend.pipeline.split import plan_chunks
from backend.pipeline.types import ChunkSpec
from backend.services import split
from bench import driver
from bench.context import Context
from bench.report import Row, Section
from bench.stats import median, secs

PAGES_PER_CHUNK = 20
OVERLAP = 1
TARGET = 1.3


def raw_pypdf(path: Path, specs: list[ChunkSpec]) -> int:
    reader = PdfReader(path)
    written = 0
    for spec in specs:
        writer = PdfWriter()
        for number in range(spec.read_start, spec.read_end + 1):
            writer.add_page(reader.pages[number - 1])
        out = io.BytesIO()
        writer.write(out)
        written += out.tell()
    return written


def raw_pikepdf(path: Path, specs: list[ChunkSpec]) -> int:
    import pikepdf

    written = 0
    with pikepdf.open(path) as source:
        for spec in specs:
            target = pikepdf.new()
            target.pages.extend(source.pages[spec.read_start - 1 : spec.read_end])
            out = io.BytesIO()
            target.save(out)
            written += out.tell()
    return written


def _timed(func: object, *args: object) -> float:
    start = time.perf_counter()
    func(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def _sandboxed_split(path: Path) -> float:
    """Quire's parse alone: the bounded child process, chunk PDFs built and dropped."""
    from backend.pipeline.split import split_pdf_limited
    from backend.services import runtime

    start = time.perf_counter()
    split_pdf_limited(
        path, PAGES_PER_CHUNK, OVERLAP, lambda spec, data: None, runtime.settings().parse_limits
    )
    return time.perf_counter() - start


def _quire(ctx: Context, path: Path) -> float:
    job_id = driver.submit(path, pages_per_chunk=PAGES_PER_CHUNK, overlap_pages=OVERLAP)
    start = time.perf_counter()
    status = split.split_job(job_id)
    elapsed = time.perf_counter() - start
    if status != "processing":
        raise RuntimeError(f"split of {path} ended {status}")
    ctx.services.flush_redis()
    return elapsed


def run(ctx: Context) -> Section:
    sizes = [100, 1000] if ctx.quick else [100, 1000, 5000]
    try:
        import pikepdf  # noqa: F401

        have_pikepdf = True
    except ImportError:
        have_pikepdf = False
    section = Section(
        title="2. Split and persist",
        method=(
            "Generated French novels (`build_sample_book`), 20 pages a chunk, 1 page of "
            "overlap. Quire: `services.split.split_job` (blob writes with fsync, row "
            f"inserts, one transaction, chord publish). Median of {max(ctx.repeat, 3)} runs "
            "(1 for 5,000 pages)."
        ),
        baseline=(
            "Baseline: raw pypdf (`PdfReader` once, one `PdfWriter` a chunk, written to "
            "memory) over the same ranges; pikepdf the same way, as a reference."
        ),
    )
    speedups: list[float] = []
    for pages in sizes:
        path = ctx.book(pages)
        specs = plan_chunks(pages, PAGES_PER_CHUNK, OVERLAP)
        runs = 1 if pages >= 5000 else max(ctx.repeat, 3)
        quire = median([_quire(ctx, path) for _ in range(runs)])
        pypdf = median([_timed(raw_pypdf, path, specs) for _ in range(runs)])
        case = f"{pages} pages, {len(specs)} chunks"
        section.rows.append(
            Row(f"{case}: Quire vs pypdf", secs(quire), secs(pypdf), quire / pypdf, TARGET)
        )
        sandboxed = median([_sandboxed_split(path) for _ in range(runs)])
        section.rows.append(
            Row(
                f"{case}: parse in the sandbox only vs pypdf",
                secs(sandboxed),
                secs(pypdf),
                sandboxed / pypdf,
            )
        )
        line = (
            f"split {pages:>5} pages: quire {quire:.2f}s (sandboxed parse {sandboxed:.2f}s) "
            f"pypdf {pypdf:.2f}s"
        )
        if have_pikepdf:
            pike = median([_timed(raw_pikepdf, path, specs) for _ in range(runs)])
            section.rows.append(
                Row(f"{case}: pikepdf vs pypdf", secs(pike), secs(pypdf), pike / pypdf)
            )
            line += f" pikepdf {pike:.2f}s"
            speedups.append(pypdf / pike)
        ctx.progress(line)
    section.notes.append(
        "Quire minus the sandboxed parse is persistence: one fsync'd, atomically renamed "
        "file per chunk, the row inserts and the job's move to `processing` in one "
        "transaction, and the chord publish. It is a fixed cost of a few tens of "
        "milliseconds plus a few per chunk, which dominates a 100-page file (pypdf needs "
        "~30 ms there) and fades behind the parse from 1,000 pages on."
    )
    if not have_pikepdf:
        section.notes.append("pikepdf is not installed: no reference numbers.")
    elif speedups and min(speedups) >= 2:
        section.notes.append(
            f"pikepdf splits {min(speedups):.1f}–{max(speedups):.1f}× faster than pypdf "
            "here (qpdf copies page objects without re-serialising them in Python). "
            "Proposal (docs/decisions.md §29): keep pypdf, the stack "
            "the mission names and the one text extraction uses, and offer pikepdf as an "
            "optional splitter for 1,000+-page uploads once a deployment shows the split "
            "on its critical path; the split runs once per job while chunk processing "
            "dominates a job's wall time."
        )
    return section

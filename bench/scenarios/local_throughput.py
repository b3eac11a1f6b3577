"""Scenario 6: the local processor's pages per second against PDFium's bare text extraction.

The generated French novel is split into Quire's chunks first (not timed), and
its book-wide furniture plan made as the split makes it. Then each chunk goes
through ``LocalProcessor.process`` (PDFium in the sandbox child, layout,
furniture, readability, cleaning, segmentation, cutting long sentences), or
through the stages alone, or through PDFium's ``get_text_range`` on every page
it reads: the extraction limit the issue measures Quire against. All in this
process, on one core.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from pypdf import PdfReader

from backend.pipeline import split as splitter
from backend.pipeline.extract import extract_pages, extract_pages_limited, read_layouts_of
from backend.pipeline.furniture import plan_furniture
from backend.pipeline.processors.local import LocalProcessor
from backend.pipeline.types import ChunkInput, ParseLimits, ProcessSettings
from bench.context import Context
from bench.pdfium_text import plain_texts
from bench.report import Row, Section
from bench.stats import median

TARGET_PAGES_PER_SECOND = 1500


def run(ctx: Context) -> Section:
    pages = 200 if ctx.quick else 1000
    path = ctx.book(pages)
    reader = splitter.open_pdf(path)
    specs = splitter.plan_chunks(pages, 20, 1)
    chunks = [(spec, data) for spec, data in splitter.iter_chunk_pdfs(reader, specs)]
    plan = plan_furniture(read_layouts_of(path))
    settings = ProcessSettings(words_per_sentence=8)
    processor = LocalProcessor()
    limits = ParseLimits()  # what ChunkInput carries by default

    def local() -> None:
        for spec, data in chunks:
            processor.process(ChunkInput(data, spec, settings, furniture=plan))

    def sandboxed() -> None:
        for spec, data in chunks:
            extract_pages_limited(data, limits, plan, spec.read_start)

    def in_process() -> None:
        for spec, data in chunks:
            extract_pages(data, plan, spec.read_start)

    def pdfium_only() -> None:
        for _, data in chunks:
            plain_texts(data)

    def pypdf_only() -> None:
        for _, data in chunks:
            for page in PdfReader(io.BytesIO(data)).pages:
                page.extract_text()

    def planning() -> None:
        plan_furniture(read_layouts_of(path))

    def timed(func: Callable[[], None]) -> float:
        start = time.perf_counter()
        func()
        return time.perf_counter() - start

    runs = max(ctx.repeat, 3)
    quire, limit, extraction, layout, old, plan_time = (
        median([timed(func) for _ in range(runs)])
        for func in (local, pdfium_only, sandboxed, in_process, pypdf_only, planning)
    )
    ctx.progress(f"local: {pages / quire:.0f} pages/s, PDFium alone {pages / limit:.0f} pages/s")
    section = Section(
        title="6. Local processor throughput",
        method=(
            f"A {pages}-page generated French novel in {len(specs)} chunks (20 pages, 1 page of "
            f"overlap), in this process (one core), median of {runs} runs. Pages per second "
            "count owned pages (each page once); the chunks also read their overlap pages. "
            f"Target: {TARGET_PAGES_PER_SECOND} pages/s for the local processor."
        ),
        baseline=(
            "Baseline: PDFium (pypdfium2) `get_text_range` on every page each chunk reads, "
            "nothing else: the extraction limit."
        ),
    )
    rows = (
        ("LocalProcessor, whole", quire),
        ("extraction in the sandbox child (layout, furniture, readability)", extraction),
        ("the same extraction in this process (no fork)", layout),
        ("pypdf `extract_text` (the extractor before PDFium)", old),
    )
    for label, seconds in rows:
        section.rows.append(
            Row(f"time, {label}", f"{pages / seconds:.0f} pages/s", f"{pages / limit:.0f} pages/s",
                seconds / limit)
        )  # fmt: skip
    section.rows.append(
        Row(
            "split-time furniture plan (layout of every page) vs PDFium",
            f"{pages / plan_time:.0f} pages/s",
            f"{pages / limit:.0f} pages/s",
            plan_time / limit,
        )
    )
    fork_ms = max(0.0, extraction - layout) / len(chunks) * 1000
    section.notes.append(
        f"Where the time goes, per owned page: PDFium itself {limit / pages * 1000:.2f} ms; "
        f"Quire's layout, furniture and readability {(layout - limit) / pages * 1000:.2f} ms; "
        f"the sandbox fork {fork_ms:.0f} ms a chunk; the text work (cleaning, segmentation, "
        f"cutting) {(quire - extraction) / pages * 1000:.2f} ms. "
        f"Target {TARGET_PAGES_PER_SECOND} pages/s: "
        + ("met." if pages / quire >= TARGET_PAGES_PER_SECOND else "not met.")
    )
    return section

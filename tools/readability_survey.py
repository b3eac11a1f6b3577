"""Survey the readability check on real PDFs: flagged pages per file, and its speed.

    .venv/bin/python -m tools.readability_survey tests/fixtures/books/*.pdf

Every page is extracted with PDFium (as the new pipeline does) and assessed;
each file's line gives its pages, how many had enough text to be judged, how
many were flagged and the lowest known-word share seen. The speed is CPU time
of :func:`assess_page` alone, best of several passes, over pages of 1,500 to
2,500 characters (a typical book page) and over all pages.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import pypdfium2 as pdfium

from backend.pipeline.readability import MIN_JUDGED_CHARS, assess_page
from bench.pdfium_text import plain_texts


def pdfium_pages(path: Path) -> list[str]:
    return plain_texts(path)


def pages_per_second(pages: Sequence[str], passes: int = 7) -> float:
    best = float("inf")
    for _ in range(passes):
        started = time.process_time()
        for text in pages:
            assess_page(text)
        best = min(best, time.process_time() - started)
    return len(pages) / best if best > 0 else float("inf")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdfs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    every_page: list[str] = []
    for path in args.pdfs:
        try:
            pages = pdfium_pages(path)
        except pdfium.PdfiumError as error:
            print(f"{path.name}: PDFium cannot open it ({error})")
            continue
        every_page += pages
        verdicts = [assess_page(text) for text in pages]
        judged = [v for v in verdicts if v.letters + v.suspect_chars >= MIN_JUDGED_CHARS]
        flagged = [number for number, v in enumerate(verdicts, start=1) if not v.readable]
        shares = [v.known_share for v in judged if v.words]
        lowest = f"{min(shares):.3f}" if shares else "-"
        print(
            f"{path.name}: {len(pages)} pages, {len(judged)} judged, {len(flagged)} flagged"
            f" {flagged or ''} lowest known-word share {lowest}"
        )
    typical = [text for text in every_page if 1500 <= len(text) <= 2500]
    for label, sample in (("pages of 1,500-2,500 chars", typical), ("all pages", every_page)):
        if sample:
            mean = sum(map(len, sample)) // len(sample)
            print(
                f"{label}: {len(sample)}, mean {mean} chars, "
                f"{pages_per_second(sample):,.0f} pages/s (CPU time, best of 7)"
            )


if __name__ == "__main__":
    main()

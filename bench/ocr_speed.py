"""OCR pages per second per core, and word accuracy, against the ``tesseract`` CLI.

``python -m bench.ocr_speed [--pages N] [--lang fra+eng]`` builds the generated
French novel (backend.demo.sample_book), "scans" its body pages
(backend.demo.scanned_book) at 300 dpi clean and at 200 dpi with noise and a
2° skew, and reads them back:

* **quire**: ``extract_pages`` on the image-only PDF, in this process: PDFium
  renders each page at its scan's resolution, Tesseract (tesserocr, one
  instance for the run) reads it, the text is normalised and stripped of its
  furniture exactly as in a job. Its time includes the models' loading.
* **cli**: the ``tesseract`` CLI (Debian's) on the same page images written as
  PNG, one process per page as ``pytesseract`` runs it, with
  ``OMP_THREAD_LIMIT=1`` so that both use one core; its lines get the same
  artefact normalisation (``normalise_ocr_line``) so that accuracy compares
  the engines.
* **dpi sweep**: the clean 300 dpi scan rendered at 200, 300 and 400 dpi and
  read by the same Tesseract instance: what the render resolution costs and buys.

Word accuracy is 1 - word-level edit distance / reference words, against the
text layer of the same pages of the text PDF, over all pages together.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium

from backend.demo.sample_book import build_sample_book
from backend.demo.scanned_book import scan_pdf
from backend.pipeline.extract import extract_pages
from backend.pipeline.furniture import page_text
from backend.pipeline.ocr import PageReader, normalise_ocr_line, render_page, tessdata_dir

TESSERACT = Path("/usr/bin/tesseract")


@dataclass(frozen=True)
class Scan:
    name: str
    dpi: int
    noise: int
    skew: float


SCANS = (Scan("300 dpi, clean", 300, 0, 0.0), Scan("200 dpi, noise 40, skew 2°", 200, 40, 2.0))


def word_accuracy(reference: str, hypothesis: str) -> float:
    """1 - word-level edit distance / reference words (words split on whitespace)."""
    ref, hyp = reference.split(), hypothesis.split()
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, other in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
        previous = current
    return 1 - previous[-1] / len(ref)


def quire_run(scanned: bytes, first_page: int, lang: str) -> tuple[float, list[str]]:
    started = time.perf_counter()
    pages = extract_pages(scanned, first_page=first_page, ocr_lang=lang)
    return time.perf_counter() - started, [page.text for page in pages]


def cli_run(scanned: bytes, dpi: int, lang: str, workdir: Path) -> tuple[float, list[str]]:
    """The CLI on each page image (rendered once, outside the timing), one process a page."""
    document = pdfium.PdfDocument(scanned)
    images = []
    for index in range(len(document)):
        path = workdir / f"page-{dpi}-{index}.png"
        render_page(document[index], dpi).save(path)
        images.append(path)
    document.close()
    env = {**os.environ, "OMP_THREAD_LIMIT": "1", "TESSDATA_PREFIX": str(tessdata_dir())}
    texts = []
    started = time.perf_counter()
    for path in images:
        done = subprocess.run(  # noqa: S603 - our own files, a fixed binary
            [str(TESSERACT), str(path), "stdout", "-l", lang, "--dpi", str(dpi)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        texts.append(done.stdout)
    elapsed = time.perf_counter() - started
    lines = [[normalise_ocr_line(line, lang) for line in text.splitlines()] for text in texts]
    return elapsed, ["\n".join(line for line in page if line) for page in lines]


def dpi_sweep(scanned: bytes, lang: str, reference: str) -> list[tuple[int, float, float]]:
    """(dpi, seconds per page, accuracy) for each render resolution, one Tesseract."""
    document = pdfium.PdfDocument(scanned)
    rows = []
    with PageReader(lang) as reader:
        for dpi in (200, 300, 400):
            texts = []
            started = time.perf_counter()
            for index in range(len(document)):
                page = document[index]
                image = render_page(page, dpi)
                read = reader.read_image(image, *page.get_size(), dpi)
                texts.append(page_text(read.layout))
            elapsed = (time.perf_counter() - started) / len(document)
            rows.append((dpi, elapsed, word_accuracy(reference, " ".join(texts))))
    document.close()
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=8, help="body pages to scan")
    parser.add_argument("--lang", default="fra+eng")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        book = build_sample_book(workdir / "novel.pdf", args.pages + 4).read_bytes()
        body = list(range(2, 2 + args.pages))  # past the title and first chapter pages
        text_layer = extract_pages(book)
        reference = " ".join(text_layer[index].text for index in body)
        print(f"{len(body)} body pages of the generated novel, lang {args.lang}, one core")
        print(f"{'scan':<28} {'reader':<6} {'pages/s':>8} {'s/page':>7} {'words right':>12}")
        for scan in SCANS:
            scanned = scan_pdf(book, dpi=scan.dpi, noise=scan.noise, skew=scan.skew, pages=body)
            runs = {"quire": quire_run(scanned, body[0] + 1, args.lang)}
            if TESSERACT.exists():
                runs["cli"] = cli_run(scanned, scan.dpi, args.lang, workdir)
            for reader, (elapsed, texts) in runs.items():
                accuracy = word_accuracy(reference, " ".join(texts))
                print(
                    f"{scan.name:<28} {reader:<6} {len(body) / elapsed:8.2f} "
                    f"{elapsed / len(body):7.2f} {accuracy:11.2%}"
                )
        clean = scan_pdf(book, dpi=300, pages=body)
        print("\nrender resolution of the clean 300 dpi scan (one Tesseract instance):")
        for dpi, seconds, accuracy in dpi_sweep(clean, args.lang, reference):
            print(f"  {dpi} dpi: {seconds:5.2f} s/page, {accuracy:.2%} words right")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

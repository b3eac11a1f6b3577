"""Pages per second of Quire's own text work, without PDF extraction.

``python -m bench.text_speed [PDF ...] [--pages N] [--per-chunk P] [--overlap O]``
extracts the page texts once (the generated novel of N pages, plus any PDF
given), then times what the local processor does with them after extraction:
:func:`~backend.pipeline.textflow.owned_sentences` for every chunk (cleaning,
segmentation, ownership), then ``split_long`` and ``count_words`` on what each
chunk owns. Pages per second count owned pages (each page once); the best of
``--repeat`` runs is reported, in this process.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from backend.demo.sample_book import build_sample_book
from backend.pipeline.extract import extract_pages
from backend.pipeline.segment import count_words, split_long
from backend.pipeline.split import plan_chunks
from backend.pipeline.textflow import owned_sentences
from backend.pipeline.types import ChunkSpec, ProcessSettings, Sentence

Owned = Callable[[Sequence[str], ChunkSpec, ProcessSettings], tuple[list[Sentence], list[int]]]


@dataclass(frozen=True)
class TextWork:
    """The functions timed: swap them to compare two implementations in one process."""

    owned: Owned = owned_sentences
    split: Callable[[str, int], list[str]] = split_long
    count: Callable[[str], int] = count_words


def run_text_work(
    pages: Sequence[str], per_chunk: int, overlap: int, words: int, work: TextWork
) -> int:
    """Process ``pages`` chunk by chunk as the local processor does; the word count."""
    settings = ProcessSettings(words_per_sentence=words)
    total = 0
    for spec in plan_chunks(len(pages), per_chunk, overlap):
        owned, _ = work.owned(pages[spec.read_start - 1 : spec.read_end], spec, settings)
        for sentence in owned:
            for piece in work.split(sentence.text, words):
                total += work.count(piece)
    return total


def pages_per_second(
    pages: Sequence[str],
    *,
    per_chunk: int = 20,
    overlap: int = 1,
    words: int = 8,
    repeat: int = 3,
    work: TextWork | None = None,
) -> float:
    """Best-of-``repeat`` owned pages per second of :func:`run_text_work`."""
    work = work or TextWork()
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run_text_work(pages, per_chunk, overlap, words, work)
        best = min(best, time.perf_counter() - started)
    return len(pages) / best


def novel_pages(page_count: int) -> list[str]:
    """The page texts of the generated novel, as the current extractor reads them."""
    with tempfile.TemporaryDirectory() as tmp:
        path = build_sample_book(Path(tmp) / "novel.pdf", page_count)
        return [page.text for page in extract_pages(path.read_bytes())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pdfs", nargs="*", type=Path)
    parser.add_argument("--pages", type=int, default=400, help="pages of the generated novel")
    parser.add_argument("--per-chunk", type=int, default=20)
    parser.add_argument("--overlap", type=int, default=1)
    parser.add_argument("--words", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    inputs = {f"generated novel ({args.pages} pages)": novel_pages(args.pages)}
    for pdf in args.pdfs:
        inputs[pdf.name] = [page.text for page in extract_pages(pdf.read_bytes())]
    for name, pages in inputs.items():
        rate = pages_per_second(
            pages,
            per_chunk=args.per_chunk,
            overlap=args.overlap,
            words=args.words,
            repeat=args.repeat,
        )
        print(f"{rate:8.0f} pages/s  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

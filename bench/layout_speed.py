"""``python -m bench.layout_speed [PDF...]``: pages/s of layout.py against PDFium's plain text.

For each book (the fixtures of tests/fixtures/books by default), in the same run:
``PdfTextPage.get_text_range()`` on every page (the baseline: what geometry
costs on top of it is the question), ``read_layouts``, then the book-wide
``plan_furniture`` and ``strip_furniture`` of every page. Best of five runs;
numbers are for context, never asserted.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from backend.pipeline.furniture import plan_furniture, strip_furniture
from backend.pipeline.layout import PageLayout, read_layouts
from bench.pdfium_text import plain_texts

BOOKS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "books"
RUNS = 5


def _plain_text(data: bytes) -> int:
    return len(plain_texts(data))


def _best(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def _furniture(layouts: list[PageLayout]) -> None:
    plan = plan_furniture(layouts)
    for number, page in enumerate(layouts, 1):
        strip_furniture(page, number, plan)


def _measure(path: Path) -> str:
    data = path.read_bytes()
    pages = _plain_text(data)
    plain = _best(lambda: _plain_text(data))
    layout = _best(lambda: read_layouts(data))
    layouts = read_layouts(data)
    strip = _best(lambda: _furniture(layouts))
    return (
        f"{path.name[:52]:52} {pages:5} {pages / plain:9.0f} {pages / layout:10.0f} "
        f"{layout / plain:5.2f} {pages / strip:14.0f}"
    )


def main(argv: list[str]) -> int:
    paths = [Path(arg) for arg in argv] or sorted(BOOKS.glob("*.pdf"))
    heads = ("book", "pages", "text p/s", "layout p/s", "ratio", "plan+strip p/s")
    print(f"{heads[0]:52} {heads[1]:>5} {heads[2]:>9} {heads[3]:>10} {heads[4]:>5} {heads[5]:>14}")
    for path in paths:
        print(_measure(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

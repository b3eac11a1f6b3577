"""Turn a text PDF into a "scanned" one: every page an image, degraded like a scan.

``python -m backend.demo.scanned_book IN.pdf OUT.pdf [--dpi 200] [--noise 40]
[--skew 2] [--pages 3-5]`` writes one.

Each page is rasterised by PDFium in grayscale at ``dpi``, turned by ``skew``
degrees (a page laid crooked on the glass), given uniform noise of
``noise`` grey levels either way plus dark specks (dust), and the images are
wrapped in a PDF of the same page size by Pillow (JPEG inside, as scanners
write). The source's text layer is what OCR of the result should give back: the
tests and ``bench/ocr_speed.py`` measure word accuracy against it. The noise is
seeded, so a given input always makes the same file.
"""

from __future__ import annotations

import argparse
import io
import random
from collections.abc import Sequence
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageChops

_SPECK_SHARE = 0.002  # of the pixels: dust and toner dots


def degrade(image: Image.Image, *, noise: int, skew: float, seed: int) -> Image.Image:
    """``image`` (grayscale) turned ``skew`` degrees, with noise and specks."""
    if skew:
        image = image.rotate(skew, resample=Image.Resampling.BICUBIC, fillcolor=255)
    if noise:
        rng = random.Random(seed)
        size = image.width * image.height
        spread = Image.frombytes("L", image.size, rng.randbytes(size))
        spread = spread.point(lambda value: value * 2 * noise // 255)
        image = ImageChops.add(image, spread, offset=-noise)
        cutoff = int(_SPECK_SHARE * 256)
        specks = Image.frombytes("L", image.size, rng.randbytes(size))
        image = ImageChops.darker(image, specks.point(lambda v: 40 if v < cutoff else 255))
    return image


def scan_pdf(
    pdf_bytes: bytes,
    *,
    dpi: int = 300,
    noise: int = 0,
    skew: float = 0.0,
    pages: Sequence[int] | None = None,
    seed: int = 1871,
) -> bytes:
    """An image-only PDF of ``pages`` (0-based; all by default) of ``pdf_bytes``."""
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        images = []
        for index in pages if pages is not None else range(len(document)):
            page = document[index]
            try:
                image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            finally:
                page.close()
            images.append(degrade(image, noise=noise, skew=skew, seed=seed + index))
    finally:
        document.close()
    out = io.BytesIO()
    images[0].save(
        out, format="PDF", resolution=float(dpi), save_all=True, append_images=images[1:]
    )
    return out.getvalue()


def _page_range(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first) - 1, int(last or first)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--noise", type=int, default=0, help="grey levels either way")
    parser.add_argument("--skew", type=float, default=0.0, help="degrees")
    parser.add_argument("--pages", type=_page_range, help="1-based range, e.g. 3-5")
    args = parser.parse_args(argv)
    data = scan_pdf(
        args.source.read_bytes(), dpi=args.dpi, noise=args.noise, skew=args.skew, pages=args.pages
    )
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data) // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

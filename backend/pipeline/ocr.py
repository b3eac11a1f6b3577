"""OCR of one PDF page: PDFium renders it, Tesseract reads it (through tesserocr).

A page whose text layer is missing or garbage (a scan) is rendered to a
grayscale bitmap at :data:`DEFAULT_DPI` and handed to Tesseract's C API via
``tesserocr``: one API object per parse loads the language models once (about
0.2 s for ``fra+eng``) and then reads page after page in this process, where
``pytesseract`` starts a ``tesseract`` process per page that reloads them and
re-reads a PNG of the page (docs/decisions.md, "OCR" has the measurements).

The result is a :class:`~backend.pipeline.layout.PageLayout` in PDF points,
one :class:`~backend.pipeline.layout.Line` per Tesseract text line in its
reading order (blocks, then paragraphs), so the page goes through the same
furniture stripping, readability check, de-hyphenation and segmentation as a
text page. OCR's own character artefacts are repaired in one place,
:func:`normalise_ocr_line`.

Bounds: the bitmap is at most :data:`MAX_PIXELS` (a bigger page is refused as
too complex, before any allocation), Tesseract stops a page after its time
budget (``Recognize(timeout)``), and the whole parse runs in the sandbox child
(backend.pipeline.sandbox), whose memory cap turns a page image too big to
decode into ``PDF_TOO_COMPLEX``.

The Tesseract library comes inside the tesserocr wheel; the language models
come from Debian (``tesseract-ocr-fra``, ``tesseract-ocr-eng``: ``make
ocr-deps``), found in ``$TESSDATA_PREFIX`` or Debian's tessdata directory.
"""

from __future__ import annotations

import os
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import tesserocr
from PIL import Image

from backend.pipeline.clean import normalize_chars
from backend.pipeline.layout import Line, PageLayout
from backend.pipeline.types import DEFAULT_OCR_LANG

DEFAULT_LANG = DEFAULT_OCR_LANG
# 300 dpi: as accurate as 400 on book pages and 20 % faster; 200 loses words
# on small type (docs/decisions.md, "OCR").
DEFAULT_DPI = 300
DEFAULT_PAGE_SECONDS = 60.0
# A full-page scan is rendered at its own resolution, kept within this range.
SCAN_DPI_RANGE = (200, 400)
# A rendered page above this many pixels is refused: 100 Mpx is an A0 poster at
# 300 dpi, 100 MB of grayscale, and far beyond any book page (A4 is 8.7 Mpx).
MAX_PIXELS = 100_000_000
DEBIAN_TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
_POINTS_PER_INCH = 72.0
# PDFium decodes an image whole before scaling it; 4 bytes (BGRA) is its widest.
_DECODED_BYTES_PER_PIXEL = 4
_LANG = re.compile(r"^[a-z_]{3,}(?:\+[a-z_]{3,})*$")


class OcrPageError(Exception):
    """A page that could not be OCR'd; ``too_complex`` when a bound stopped it."""

    def __init__(self, message: str, *, too_complex: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_complex = too_complex


class OcrUnavailableError(Exception):
    """Tesseract cannot start: its language models are missing or ``lang`` is unknown."""


@dataclass(frozen=True)
class OcrPage:
    """A page read by OCR: its lines in PDF points and the mean word confidence (0-100)."""

    layout: PageLayout
    confidence: float
    words: int


def tessdata_dir() -> Path:
    """Where Tesseract's language models are: ``$TESSDATA_PREFIX``, else Debian's."""
    configured = os.environ.get("TESSDATA_PREFIX")
    return Path(configured) if configured else DEBIAN_TESSDATA


def available_languages() -> list[str]:
    """The language models installed in :func:`tessdata_dir` (``osd`` excluded)."""
    return sorted(path.stem for path in tessdata_dir().glob("*.traineddata") if path.stem != "osd")


def valid_lang(lang: str) -> bool:
    """Whether ``lang`` is a Tesseract language string (``fra``, ``fra+eng``...)."""
    return _LANG.match(lang) is not None


class PageReader:
    """One Tesseract instance reading pages one after the other; not thread-safe.

    Use it as a context manager (the models stay loaded until it closes).
    ``page_seconds`` bounds Tesseract's recognition of each page; a page whose
    images would take more than ``memory_mb`` to decode is refused unread.
    """

    def __init__(
        self,
        lang: str = DEFAULT_LANG,
        *,
        dpi: int = DEFAULT_DPI,
        page_seconds: float = DEFAULT_PAGE_SECONDS,
        memory_mb: int | None = None,
    ) -> None:
        if not valid_lang(lang):
            raise OcrUnavailableError(f"{lang!r} is not a Tesseract language string")
        missing = [code for code in lang.split("+") if code not in available_languages()]
        if missing:
            raise OcrUnavailableError(
                f"no Tesseract model for {', '.join(missing)} in {tessdata_dir()} "
                "(install tesseract-ocr-<lang>: `make ocr-deps`)"
            )
        self.lang = lang
        self.dpi = dpi
        self.page_seconds = page_seconds
        self.memory_mb = memory_mb
        # OEM default: the LSTM models Debian ships; PSM AUTO: columns and blocks found.
        self._api = tesserocr.PyTessBaseAPI(path=f"{tessdata_dir()}/", lang=lang)

    def __enter__(self) -> PageReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._api.End()

    def read(self, page: pdfium.PdfPage) -> OcrPage:
        """Render ``page`` and OCR it; :class:`OcrPageError` when it is too big or too slow."""
        width, height = page.get_size()
        if self.memory_mb is not None:
            needed = image_pixels(page) * _DECODED_BYTES_PER_PIXEL
            if needed > self.memory_mb * 1024 * 1024:
                # PDFium would fail to decode it and render a blank page, silently.
                raise OcrPageError(
                    f"the page's images need {needed >> 20} MB to decode, more than "
                    f"the {self.memory_mb} MB allowed",
                    too_complex=True,
                )
        dpi = scan_dpi(page) or self.dpi
        return self.read_image(render_page(page, dpi), width, height, dpi)

    def read_image(
        self, image: Image.Image, width: float, height: float, dpi: int | None = None
    ) -> OcrPage:
        """OCR ``image``, a page of ``width`` x ``height`` points at ``dpi``; lines in points."""
        api = self._api
        api.SetImage(image)
        api.SetSourceResolution(dpi or self.dpi)
        if not api.Recognize(timeout=max(1, int(self.page_seconds * 1000))):
            raise OcrPageError(
                f"OCR took longer than {self.page_seconds:g} s on this page", too_complex=True
            )
        scale_x = width / image.width
        scale_y = height / image.height
        lines: list[Line] = []
        iterator = api.GetIterator()
        level = tesserocr.RIL.TEXTLINE
        for line in tesserocr.iterate_level(iterator, level) if iterator is not None else ():
            box = line.BoundingBox(level)
            try:
                raw = line.GetUTF8Text(level)
            except RuntimeError:  # tesserocr's "No text returned": an empty region
                continue
            text = normalise_ocr_line(raw or "", self.lang)
            if box is None or not text:
                continue
            x0, top, x1, bottom = box
            lines.append(
                Line(
                    text=text,
                    x0=x0 * scale_x,
                    top=top * scale_y,
                    x1=x1 * scale_x,
                    bottom=bottom * scale_y,
                    # Tesseract gives no font size; the line's height stands for it
                    # (furniture only compares sizes of lines on the same page).
                    size=(bottom - top) * scale_y,
                )
            )
        confidences = [c for c in api.AllWordConfidences() if c >= 0]
        mean = statistics.fmean(confidences) if confidences else 0.0
        return OcrPage(PageLayout(width, height, tuple(lines)), round(mean, 1), len(confidences))


def has_content(page: pdfium.PdfPage) -> bool:
    """Whether ``page`` draws anything (an image, a path, text): blank pages do not."""
    return bool(pdfium_c.FPDFPage_CountObjects(page))


def scan_dpi(page: pdfium.PdfPage) -> int | None:
    """The resolution of the scan that fills ``page``, within :data:`SCAN_DPI_RANGE`.

    None when no image covers most of the page. Rendering a scan at its own
    resolution reads better than resampling it to 300 dpi (a 200 dpi scan:
    96.2 % of words right against 95.4 % resampled; docs/decisions.md).
    """
    width, height = page.get_size()
    best: int | None = None
    for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=1):
        left, bottom, right, top = image.get_bounds()
        if (right - left) * (top - bottom) < 0.5 * width * height:
            continue
        # The longer sides match whatever the image's rotation on the page.
        pixels = max(image.get_px_size())
        dpi = round(pixels * _POINTS_PER_INCH / max(right - left, top - bottom, 1.0))
        best = max(best or 0, dpi)
    if best is None:
        return None
    low, high = SCAN_DPI_RANGE
    return min(max(best, low), high)


def remove_text_objects(page: pdfium.PdfPage) -> None:
    """Take ``page``'s text objects (form XObjects' too) out of the loaded page, not the file."""
    for text in list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT])):
        page.remove_obj(text)


def image_pixels(page: pdfium.PdfPage) -> int:
    """How many pixels the images ``page`` draws hold (form XObjects included)."""
    images = page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])
    return sum(width * height for width, height in (image.get_px_size() for image in images))


def render_page(page: pdfium.PdfPage, dpi: int = DEFAULT_DPI) -> Image.Image:
    """``page`` as a grayscale image at ``dpi``; :class:`OcrPageError` above :data:`MAX_PIXELS`."""
    width, height = page.get_size()
    scale = dpi / _POINTS_PER_INCH
    pixels = width * scale * height * scale
    if pixels > MAX_PIXELS:
        raise OcrPageError(
            f"the page is too large to OCR ({width / _POINTS_PER_INCH:.0f} x "
            f"{height / _POINTS_PER_INCH:.0f} inches at {dpi} dpi)",
            too_complex=True,
        )
    try:
        bitmap = page.render(scale=scale, grayscale=True)
    except pdfium.PdfiumError as exc:
        raise OcrPageError(f"the page could not be rendered for OCR ({exc})") from exc
    image: Image.Image = bitmap.to_pil()
    return image


# --- OCR artefacts -----------------------------------------------------------

# A "|" between letters, or before a lowercase letter or an apostrophe at a
# word's start, is an "l" (Tesseract reads the thin stem as a bar): "|a" is
# "la", "|'homme" is "l'homme", "aima|t" is "aimalt"... rarely wrong in prose.
_BAR_AS_L = re.compile(r"(?<=[^\W\d_])\|(?=[^\W\d_])|(?<![^\s«“\"(])\|(?=[a-zà-ÿ'’])")
# A bar standing alone is a rule or a column separator, not text.
_LONE_BAR = re.compile(r"(?:^|(?<=\s))[|¦]+(?=\s|$)")
# French typography: a space before ; : ! ? » and after «. Not before a colon
# in 10:30 or http://, nor between two marks (?! stays together).
_FRENCH_SPACE_BEFORE = re.compile(r"(?<=[^\s;:!?«(\[])(?:[;!?]|:(?![\d/]))|(?<=[^\s«])»")
_FRENCH_SPACE_AFTER = re.compile(r"«(?=[^\s])")
_ENGLISH_NO_SPACE = re.compile(r"(?<=[^\s]) +(?=[;:!?](?:\s|$))")
_SPACES = re.compile(r" {2,}")
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")
# An elided French article or pronoun is glued to its word: "l’ esprit" is "l’esprit".
_ELISION_GAP = re.compile(
    r"\b([cdjlmnst]|qu|jusqu|lorsqu|puisqu|quelqu)['’] +(?=[^\W\d_])", re.IGNORECASE
)


def normalise_ocr_line(text: str, lang: str = DEFAULT_LANG) -> str:
    """One OCR'd line as a text PDF of the same page would give it.

    Characters as :func:`~backend.pipeline.clean.normalize_chars` maps them
    (ligatures ``ﬁ ﬂ`` to letters, no-break spaces to spaces), the apostrophe
    between letters as the typographic ``’`` typeset books use, ``|`` read for
    ``l`` inside words restored, lone bars dropped, and the spaces around
    punctuation set by the first language of ``lang``: French (``fra``) puts
    one space before ``; : ! ? »`` and after ``«`` (Tesseract both drops and
    adds them) and none after an elision (``l’esprit``); otherwise no space
    before ``; : ! ?``.
    """
    text = normalize_chars(text).replace("\n", " ")
    if "|" in text or "¦" in text:
        text = _BAR_AS_L.sub("l", text)
        text = _LONE_BAR.sub("", text)
    if "'" in text:  # typeset books set the typographic apostrophe; Tesseract mixes both
        text = _APOSTROPHE.sub("’", text)
    if lang.split("+", 1)[0] == "fra":
        text = _FRENCH_SPACE_BEFORE.sub(r" \g<0>", text)
        text = _FRENCH_SPACE_AFTER.sub("« ", text)
        text = _ELISION_GAP.sub(r"\1’", text)
    else:
        text = _ENGLISH_NO_SPACE.sub("", text)
    return _SPACES.sub(" ", text).strip()

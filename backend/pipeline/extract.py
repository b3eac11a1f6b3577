"""Text extraction with PDFium (pypdfium2): one text per page, every failure classified.

PDFium reads the text the way a viewer lays it out: words get their spaces
from the glyphs' positions (pypdf lost them on XeTeX books), and it is about
ten times faster than pypdf's ``extract_text``. pypdf still splits the file
(``backend.pipeline.split``); PDFium only reads it.

Opening the file is all-or-nothing: whatever PDFium refuses becomes an
:class:`InvalidPdfError` (or :class:`EncryptedPdfError`) with a message a person
can act on. Extracting a single page is best-effort: a page PDFium cannot load
yields an :class:`ExtractedPage` with empty text and the reason in ``error``, so
one bad page never costs the rest of the chunk.

PDFium is C code and not thread-safe: uploaded files are only ever read in the
parse sandbox's child process (:func:`extract_pages_limited`), where a crash
or a runaway page costs the child, not the worker; in-process reads of
trusted files are serialised by a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from backend.pipeline.errors import (
    EncryptedPdfError,
    InvalidPdfError,
    PdfTooComplexError,
    PipelineError,
)
from backend.pipeline.furniture import FurniturePlan, page_text, strip_furniture
from backend.pipeline.layout import PageLayout, read_page
from backend.pipeline.ocr import (
    DEFAULT_LANG,
    DEFAULT_PAGE_SECONDS,
    OcrPageError,
    OcrUnavailableError,
    PageReader,
    has_content,
    remove_text_objects,
    scan_dpi,
)
from backend.pipeline.readability import assess_page
from backend.pipeline.sandbox import ParseLimits, run_limited
from backend.pipeline.types import OcrMode

_ENCRYPTED_MESSAGE = "the PDF is protected by a password; remove the password and upload it again"

_pdfium_lock = threading.Lock()


@dataclass(frozen=True)
class ExtractedPage:
    """The text of one page; ``error`` says why it is empty when extraction failed."""

    text: str
    error: str | None = None
    # The error is a parser cap (kept for the failure classification; PDFium's
    # own limits show as the sandbox's time and memory caps instead).
    too_complex: bool = False
    # Why the page's text layer is garbage (backend.pipeline.readability); its
    # text is then empty: garbage is never emitted as sentences.
    unreadable: str | None = None
    # The mean word confidence (0-100) when the text comes from OCR; None: the
    # page's own text layer (or OCR found no word on it).
    ocr_confidence: float | None = None


def failure_of(pages: Sequence[ExtractedPage]) -> PipelineError | None:
    """The error of a chunk none of whose ``pages`` could be extracted, else None.

    ``PDF_TOO_COMPLEX`` when a page hit a parser cap, ``INVALID_PDF`` otherwise;
    the message names the failed pages. Pages that extracted to no text without
    an error are scans (``NO_TEXT``), not failures.
    """
    if not pages or any(page.error is None for page in pages):
        return None
    message = "; ".join(page.error or "" for page in pages[:3])
    if len(pages) > 3:
        message += f"; and {len(pages) - 3} more pages"
    if any(page.too_complex for page in pages):
        return PdfTooComplexError(message)
    return InvalidPdfError(message)


def extract_pages(
    pdf_bytes: bytes,
    furniture: FurniturePlan | None = None,
    first_page: int = 1,
    *,
    ocr: OcrMode = "auto",
    ocr_lang: str = DEFAULT_LANG,
    ocr_page_seconds: float = DEFAULT_PAGE_SECONDS,
) -> list[ExtractedPage]:
    """Return one :class:`ExtractedPage` per page of ``pdf_bytes``, in order.

    Each page's text is read in layout order without its furniture (running
    heads, page numbers, line numbers...: :mod:`backend.pipeline.furniture`),
    using the book-wide ``furniture`` plan when given; ``first_page`` is the
    document page number of the file's first page (a chunk holds a page range).

    ``ocr`` says which pages Tesseract reads (:mod:`backend.pipeline.ocr`):
    ``"auto"`` those whose text layer is unreadable or has no letter once its
    furniture is gone (if it had some before, only when an image covers most
    of the page: a scan under a digitiser's stamp, not a page of furniture),
    ``"force"`` every page, ``"off"`` none. ``ocr_lang`` is Tesseract's language
    string; each page's recognition stops after ``ocr_page_seconds`` (the page
    then has an error, flagged too complex).

    Runs in this process, unbounded: for trusted input. Uploaded files go
    through :func:`extract_pages_limited`.
    Raises :class:`EncryptedPdfError` when the file needs a user password and
    :class:`InvalidPdfError` when it cannot be opened or has no pages.
    """
    with _pdfium_lock:
        return _extract(pdf_bytes, furniture, first_page, ocr, ocr_lang, ocr_page_seconds)


def extract_pages_limited(
    pdf_bytes: bytes,
    limits: ParseLimits,
    furniture: FurniturePlan | None = None,
    first_page: int = 1,
    *,
    ocr: OcrMode = "auto",
    ocr_lang: str = DEFAULT_LANG,
) -> list[ExtractedPage]:
    """:func:`extract_pages` in a child process bounded by ``limits``.

    OCR runs in the child too, each page within ``limits.ocr_page_seconds``; a
    page whose images would not decode within ``limits.memory_mb`` is refused
    as too complex (PDFium would silently render it blank).
    Also raises :class:`PdfTooComplexError` when the parse runs out of time or
    memory, and :class:`InvalidPdfError` when the parser crashes.
    """
    # The child is the only PDFium user of its process: no lock (one some other
    # thread held at fork time would never be released there).
    return run_limited(
        _extract,
        pdf_bytes,
        furniture,
        first_page,
        ocr,
        ocr_lang,
        limits.ocr_page_seconds,
        limits.memory_mb,
        limits=limits,
    )


def read_layouts_of(source: bytes | Path) -> list[PageLayout]:
    """Every page's layout, for planning the furniture; a page PDFium cannot load is empty."""
    document = open_document(source)
    try:
        layouts = (_layout(document, index) for index in range(len(document)))
        return [PageLayout(0, 0, ()) if isinstance(x, str) else x for x in layouts]
    finally:
        document.close()


def _extract(
    pdf_bytes: bytes,
    furniture: FurniturePlan | None,
    first_page: int,
    ocr: OcrMode = "auto",
    ocr_lang: str = DEFAULT_LANG,
    ocr_page_seconds: float = DEFAULT_PAGE_SECONDS,
    ocr_memory_mb: int | None = None,
) -> list[ExtractedPage]:
    document = open_document(pdf_bytes)
    reader = _LazyReader(ocr_lang, ocr_page_seconds, ocr_memory_mb)
    try:
        if furniture is not None and first_page - 1 + len(document) > furniture.page_count:
            furniture = None  # not this book's plan: the page-local rules still apply
        pages = []
        for index in range(len(document)):
            number = first_page + index
            layout = _layout(document, index) if ocr != "force" else None
            if isinstance(layout, str):
                pages.append(ExtractedPage(text="", error=layout))
                continue
            if layout is not None:
                text = page_text(strip_furniture(layout, number, furniture))
                verdict = assess_page(text)
                if ocr == "off" or (verdict.readable and _has_letter(text)):
                    unreadable = None if verdict.readable else verdict.reason
                    pages.append(
                        ExtractedPage(text="" if unreadable else text, unreadable=unreadable)
                    )
                    continue
                # Only furniture (a running head, a stamp) over no image: a page
                # meant to be empty, not a scan with a digitiser's watermark.
                furniture_only = verdict.readable and _has_letter(page_text(layout))
                without_ocr = ExtractedPage(text="", unreadable=verdict.reason)
            else:
                furniture_only, without_ocr = False, ExtractedPage(text="")
            pages.append(
                _ocr_page(document, index, number, furniture, reader, furniture_only, without_ocr)
            )
        return pages
    finally:
        reader.close()
        document.close()


class _LazyReader:
    """The parse's Tesseract, started at the first page that needs it (text PDFs never do)."""

    def __init__(self, lang: str, page_seconds: float, memory_mb: int | None) -> None:
        self.lang, self.page_seconds, self.memory_mb = lang, page_seconds, memory_mb
        self._reader: PageReader | None = None

    def get(self) -> PageReader:
        if self._reader is None:
            self._reader = PageReader(
                self.lang, page_seconds=self.page_seconds, memory_mb=self.memory_mb
            )
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


def _ocr_page(
    document: pdfium.PdfDocument,
    index: int,
    number: int,
    furniture: FurniturePlan | None,
    reader: _LazyReader,
    images_only: bool = False,
    without_ocr: ExtractedPage | None = None,
) -> ExtractedPage:
    """Page ``index`` read by OCR, its furniture stripped and its text checked like any page.

    ``images_only``: the page's text layer is furniture, already judged: OCR
    reads its scan alone (text objects taken out before rendering, so a stamp
    is not read twice), and nothing when no image covers most of the page.
    ``without_ocr`` is the page when Tesseract cannot start here (no language
    model): what it was before OCR existed, empty or unreadable.
    """
    try:
        page = document[index]
    except pdfium.PdfiumError as exc:
        return ExtractedPage(
            text="", error=f"page {number}: could not be loaded ({_describe(exc)})"
        )
    try:
        if not has_content(page) or (images_only and scan_dpi(page) is None):
            return ExtractedPage(text="")  # nothing to read: Tesseract need not start
        if images_only:
            remove_text_objects(page)
        read = reader.get().read(page)
    except OcrUnavailableError:
        return without_ocr or ExtractedPage(text="")
    except OcrPageError as exc:
        return ExtractedPage(
            text="", error=f"page {number}: {exc.message}", too_complex=exc.too_complex
        )
    finally:
        page.close()
    text = page_text(strip_furniture(read.layout, number, furniture))
    if not read.words or not _has_letter(text):
        return ExtractedPage(text="")
    verdict = assess_page(text)
    if not verdict.readable:
        return ExtractedPage(text="", unreadable=verdict.reason, ocr_confidence=read.confidence)
    return ExtractedPage(text=text, ocr_confidence=read.confidence)


def _has_letter(text: str) -> bool:
    return any(char.isalpha() for char in text)


def open_document(source: bytes | Path) -> pdfium.PdfDocument:
    """Open ``source`` with PDFium; classify a refusal. The caller closes it."""
    if not (source.stat().st_size if isinstance(source, Path) else source):
        raise InvalidPdfError("the file is empty, not a PDF")
    try:
        # Files with only an owner password (print/copy restrictions) open
        # without one; their text is ours to read. A path is read lazily.
        document = pdfium.PdfDocument(str(source) if isinstance(source, Path) else source)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code == pdfium_c.FPDF_ERR_PASSWORD:
            raise EncryptedPdfError(_ENCRYPTED_MESSAGE) from exc
        if code == pdfium_c.FPDF_ERR_SECURITY:
            raise EncryptedPdfError(
                "the PDF is encrypted with a method this server cannot decrypt"
            ) from exc
        raise InvalidPdfError(
            f"the file is not a readable PDF: it is damaged or not a PDF at all ({_describe(exc)})"
        ) from exc
    if len(document) == 0:
        document.close()
        raise InvalidPdfError("the PDF has no pages")
    return document


def _layout(document: pdfium.PdfDocument, index: int) -> PageLayout | str:
    """Page ``index``'s layout, or why PDFium could not read it."""
    try:
        page = document[index]
    except pdfium.PdfiumError as exc:
        return f"page {index + 1}: text could not be extracted ({_describe(exc)})"
    try:
        return read_page(page)
    except pdfium.PdfiumError as exc:
        return f"page {index + 1}: text could not be extracted ({_describe(exc)})"
    finally:
        page.close()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

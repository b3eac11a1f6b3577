"""What every processor reads first: a chunk's owned sentences and its empty pages."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from backend.pipeline.errors import InvalidPdfError, NoTextError, TextUnreadableError
from backend.pipeline.extract import extract_pages_limited, failure_of
from backend.pipeline.merge import page_ranges
from backend.pipeline.textflow import owned_sentences
from backend.pipeline.types import ChunkInput, Sentence


@dataclass(frozen=True)
class OwnedText:
    """The whole sentences a chunk owns (not yet cut to length) and page diagnostics."""

    sentences: tuple[Sentence, ...]
    pages_without_text: tuple[int, ...]
    page_errors: dict[str, str]
    # Owned pages whose text layer is garbage (also in page_errors, by reason).
    unreadable_pages: tuple[int, ...] = ()
    # Owned pages read by OCR: page -> mean word confidence (0-100). Their
    # sentences carry ``ocr=True`` and that confidence.
    ocr_pages: dict[int, float] = field(default_factory=dict)


def read_owned(chunk: ChunkInput) -> OwnedText:
    """Extract the chunk's pages and keep what it owns.

    The parse runs bounded by ``chunk.limits`` (``PdfTooComplexError``). Raises
    ``InvalidPdfError`` when the chunk PDF has the wrong page count, the parse
    error of its owned pages when none of them could be read, and
    ``NoTextError`` when no owned page has text (scans OCR did not read: ``ocr``
    off, or blank pages). Pages go to OCR as ``chunk.settings.ocr`` says, each
    within ``chunk.limits.ocr_page_seconds``. Every processor starts here.
    """
    spec = chunk.spec
    extracted = extract_pages_limited(
        chunk.pdf_bytes,
        chunk.limits,
        chunk.furniture,
        first_page=spec.read_start,
        ocr=chunk.settings.ocr,
        ocr_lang=chunk.settings.ocr_lang,
    )
    expected = spec.read_end - spec.read_start + 1
    if len(extracted) != expected:
        raise InvalidPdfError(
            f"chunk {spec.index} should hold pages {spec.read_start}-{spec.read_end} "
            f"({expected} pages) but its PDF has {len(extracted)}"
        )
    owned, empty = owned_sentences([p.text for p in extracted], spec, chunk.settings)
    owned_pages = {
        spec.read_start + i: page
        for i, page in enumerate(extracted)
        if spec.page_start <= spec.read_start + i <= spec.page_end
    }
    unreadable = tuple(number for number, page in owned_pages.items() if page.unreadable)
    if len(empty) == spec.page_count:
        # Pages that failed to parse are not scans: say why they are empty.
        first = spec.page_start - spec.read_start
        failure = failure_of(extracted[first : first + spec.page_count])
        if failure is not None:
            raise failure
        if unreadable:
            reason = owned_pages[unreadable[0]].unreadable
            noun = "page" if len(unreadable) == 1 else "pages"
            raise TextUnreadableError(
                f"{noun} {page_ranges(list(unreadable))}: {reason}; no text could be used"
            )
        noun = "page" if len(empty) == 1 else "pages"
        verb = "contains" if len(empty) == 1 else "contain"
        raise NoTextError(
            f"{noun} {page_ranges(empty)} {verb} no extractable text (scanned images?)"
        )
    page_errors = {str(number): page.error for number, page in owned_pages.items() if page.error}
    page_errors.update(
        {str(number): f"TEXT_UNREADABLE: {owned_pages[number].unreadable}" for number in unreadable}
    )
    without_text = tuple(number for number in empty if number not in unreadable)
    ocr_pages = {
        number: page.ocr_confidence
        for number, page in owned_pages.items()
        if page.ocr_confidence is not None
    }
    if ocr_pages:
        owned = [
            replace(s, ocr=True, ocr_confidence=ocr_pages[s.page]) if s.page in ocr_pages else s
            for s in owned
        ]
    return OwnedText(tuple(owned), without_text, page_errors, unreadable, ocr_pages)

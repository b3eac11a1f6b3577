"""The built-in processor: pypdf text, cleaned, segmented, cut to length locally."""

from __future__ import annotations

from backend.pipeline.errors import InvalidPdfError, NoTextError
from backend.pipeline.extract import extract_pages_limited, failure_of
from backend.pipeline.merge import page_ranges
from backend.pipeline.segment import count_words, split_long
from backend.pipeline.textflow import owned_sentences
from backend.pipeline.types import ChunkInput, ChunkOutput, Sentence


class LocalProcessor:
    """Splits each owned sentence into pieces of at most ``words_per_sentence`` words.

    Holds no state: one instance may serve several threads at once.
    """

    name = "local"

    def process(self, chunk: ChunkInput) -> ChunkOutput:
        """Process one chunk; raises ``NoTextError`` when no owned page has text."""
        spec = chunk.spec
        extracted = extract_pages_limited(chunk.pdf_bytes, chunk.limits)
        expected = spec.read_end - spec.read_start + 1
        if len(extracted) != expected:
            raise InvalidPdfError(
                f"chunk {spec.index} should hold pages {spec.read_start}-{spec.read_end} "
                f"({expected} pages) but its PDF has {len(extracted)}"
            )
        owned, empty = owned_sentences([p.text for p in extracted], spec, chunk.settings)
        if len(empty) == spec.page_count:
            # Pages that failed to parse are not scans: say why they are empty.
            first = spec.page_start - spec.read_start
            failure = failure_of(extracted[first : first + spec.page_count])
            if failure is not None:
                raise failure
            noun = "page" if len(empty) == 1 else "pages"
            verb = "contains" if len(empty) == 1 else "contain"
            raise NoTextError(
                f"{noun} {page_ranges(empty)} {verb} no extractable text (scanned images?)"
            )
        limit = chunk.settings.words_per_sentence
        sentences = tuple(
            Sentence(piece, sentence.page)
            for sentence in owned
            for piece in split_long(sentence.text, limit)
        )
        page_errors = {
            str(spec.read_start + i): page.error
            for i, page in enumerate(extracted)
            if page.error and spec.page_start <= spec.read_start + i <= spec.page_end
        }
        metadata = {
            "words": sum(count_words(s.text) for s in sentences),
            "pages": spec.page_count,
            "sentences": len(sentences),
            "page_errors": page_errors,
        }
        return ChunkOutput(sentences=sentences, pages_without_text=tuple(empty), metadata=metadata)

"""The built-in processor: pypdf text, cleaned, segmented, cut to length locally."""

from __future__ import annotations

from dataclasses import replace

from backend.pipeline.pieces import has_letter
from backend.pipeline.processors.reading import read_owned
from backend.pipeline.segment import count_words, split_long
from backend.pipeline.types import ChunkInput, ChunkOutput


class LocalProcessor:
    """Splits each owned sentence into pieces of at most ``words_per_sentence`` words.

    Holds no state: one instance may serve several threads at once.
    """

    name = "local"

    def process(self, chunk: ChunkInput) -> ChunkOutput:
        """Process one chunk; raises ``NoTextError`` when no owned page has text."""
        owned = read_owned(chunk)
        limit = chunk.settings.words_per_sentence
        pieces = [
            replace(sentence, text=piece)  # its page and OCR flags
            for sentence in owned.sentences
            for piece in split_long(sentence.text, limit)
        ]
        sentences = tuple(piece for piece in pieces if has_letter(piece.text))
        metadata = {
            "words": sum(count_words(s.text) for s in sentences),
            "pages": chunk.spec.page_count,
            "sentences": len(sentences),
            "dropped_without_letters": len(pieces) - len(sentences),
            "page_errors": owned.page_errors,
            "ocr_pages": {str(page): conf for page, conf in owned.ocr_pages.items()},
        }
        return ChunkOutput(
            sentences=sentences,
            pages_without_text=owned.pages_without_text,
            metadata=metadata,
            unreadable_pages=owned.unreadable_pages,
        )

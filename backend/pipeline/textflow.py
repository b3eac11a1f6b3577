"""From page texts to the sentences a chunk owns.

This is the part of the pipeline every processor shares: clean the pages the
chunk reads, segment the whole read text, then keep what the chunk *owns* so
that concatenating every chunk's sentences, in chunk order, gives the same
words as processing the document in one piece.

Ownership (pages are document page numbers; ``reach = page_start - 1 + overlap``
is the last page the previous chunk reads):

* a sentence starting on an owned page is kept whole, even when it runs into
  the trailing overlap;
* a sentence starting before ``page_start`` belongs to the previous chunk,
  except its words on pages after ``reach``, which the previous chunk cannot
  see: they are kept as a continuation sentence (with ``overlap = 0`` that is
  the fragment the chunk starts with);
* a sentence starting after ``page_end`` belongs to the next chunk.

A word broken across a page break counts as being on the page of its second
half. So when the read text ends with a broken word (and the next chunk reads
this chunk's last page), the fragment is dropped here: the next chunk sees
both halves and emits the whole word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from backend.pipeline.clean import clean_pages
from backend.pipeline.segment import sentence_spans
from backend.pipeline.types import ChunkSpec, ProcessSettings, Sentence

_BROKEN_WORD = re.compile(r"\w-$")


def owned_sentences(
    pages: Sequence[str], spec: ChunkSpec, settings: ProcessSettings | None = None
) -> tuple[list[Sentence], list[int]]:
    """Sentences owned by ``spec`` and its owned pages that have no text.

    ``pages`` are the raw texts of pages ``read_start..read_end``, in order.
    Sentences are whole (not yet cut to ``words_per_sentence``); each carries
    the document page it starts on. Works on offsets into the cleaned text:
    a sentence's page is found by bisecting the pages' start offsets.
    """
    expected = spec.read_end - spec.read_start + 1
    if len(pages) != expected:
        raise ValueError(
            f"chunk {spec.index} reads pages {spec.read_start}-{spec.read_end} "
            f"({expected} pages) but {len(pages)} page texts were given"
        )
    settings = settings or ProcessSettings()
    cleaned = clean_pages(pages, fix_hyphenation=settings.fix_hyphenation)
    with_text = cleaned.pages_with_text()
    empty = [
        p for p in range(spec.page_start, spec.page_end + 1) if p - spec.read_start not in with_text
    ]
    text = cleaned.text
    # The next chunk reads our last page, sees both halves and emits the word.
    next_glues = settings.fix_hyphenation and spec.overlap > 0
    if next_glues and spec.read_end == spec.page_end + spec.overlap and text:
        text = _drop_broken_tail(text)
    # Pages are indices into ``pages`` from here on.
    first_owned = spec.page_start - spec.read_start
    last_owned = spec.page_end - spec.read_start
    # The first word the previous chunk cannot see: on the page after its reach.
    unseen = spec.page_start + spec.overlap - spec.read_start
    unseen_start = cleaned.page_starts[unseen] if unseen < len(pages) else len(text)
    sentences: list[Sentence] = []
    for start, end in sentence_spans(text):
        page = cleaned.page_of(start)
        if page < first_owned:
            if unseen_start >= end:
                continue
            start = unseen_start
            page = cleaned.page_of(start)
        elif page > last_owned:
            continue
        sentences.append(Sentence(text[start:end], spec.read_start + page))
    return sentences, empty


def _drop_broken_tail(text: str) -> str:
    """``text`` without its last word if that is a word broken at the line end."""
    cut = max(text.rfind(" "), text.rfind("\n"))
    return text[: max(cut, 0)] if _BROKEN_WORD.search(text) else text

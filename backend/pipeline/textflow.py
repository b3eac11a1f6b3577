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

import bisect
import re
from collections.abc import Sequence

from backend.pipeline.clean import Token, clean_pages
from backend.pipeline.segment import sentence_spans
from backend.pipeline.types import ChunkSpec, ProcessSettings, Sentence

_BROKEN_WORD = re.compile(r"\w-$")


def owned_sentences(
    pages: Sequence[str], spec: ChunkSpec, settings: ProcessSettings | None = None
) -> tuple[list[Sentence], list[int]]:
    """Sentences owned by ``spec`` and its owned pages that have no text.

    ``pages`` are the raw texts of pages ``read_start..read_end``, in order.
    Sentences are whole (not yet cut to ``words_per_sentence``); each carries
    the document page it starts on.
    """
    expected = spec.read_end - spec.read_start + 1
    if len(pages) != expected:
        raise ValueError(
            f"chunk {spec.index} reads pages {spec.read_start}-{spec.read_end} "
            f"({expected} pages) but {len(pages)} page texts were given"
        )
    settings = settings or ProcessSettings()
    tokens = clean_pages(pages, fix_hyphenation=settings.fix_hyphenation)
    pages_with_text = {spec.read_start + token.page for token in tokens}
    empty = [p for p in range(spec.page_start, spec.page_end + 1) if p not in pages_with_text]

    # The next chunk reads our last page, sees both halves and emits the word.
    next_glues = settings.fix_hyphenation and spec.overlap > 0
    if next_glues and spec.read_end == spec.page_end + spec.overlap and tokens:
        tokens = _drop_broken_tail(tokens)
    reach = spec.page_start - 1 + spec.overlap
    sentences: list[Sentence] = []
    for sentence in _segment(tokens):
        pages_of = [spec.read_start + token.page for token in sentence]
        if spec.page_start <= pages_of[0] <= spec.page_end:
            kept = sentence
        elif pages_of[0] < spec.page_start:
            kept = [t for t, p in zip(sentence, pages_of, strict=True) if p > reach]
        else:
            continue
        if kept:
            page = spec.read_start + kept[0].page
            sentences.append(Sentence(" ".join(token.text for token in kept), page))
    return sentences, empty


def _drop_broken_tail(tokens: list[Token]) -> list[Token]:
    return tokens[:-1] if _BROKEN_WORD.search(tokens[-1].text) else tokens


def _segment(tokens: list[Token]) -> list[list[Token]]:
    """Group ``tokens`` into sentences with :func:`sentence_spans`."""
    parts: list[str] = []
    starts: list[int] = []
    offset = 0
    for token in tokens:
        if parts:
            parts.append("\n" if token.hard_break else " ")
            offset += 1
        starts.append(offset)
        parts.append(token.text)
        offset += len(token.text)
    groups: list[list[Token]] = []
    for start, end in sentence_spans("".join(parts)):
        first = bisect.bisect_left(starts, start)
        stop = bisect.bisect_left(starts, end)
        groups.append(tokens[first:stop])
    return groups

"""owned_sentences: each chunk emits exactly what it owns."""

from __future__ import annotations

import random

import pytest

from backend.pipeline.split import plan_chunks
from backend.pipeline.textflow import owned_sentences
from backend.pipeline.types import ChunkSpec, ProcessSettings, Sentence

# Pages of a tiny document, no running headers: sentences cross page breaks.
# fmt: off
PAGES = [
    "Un commence ici. Deux commence ici et", "continue ici. Trois commence ici et",
    "continue ici. Quatre commence ici et", "continue ici. Cinq commence ici.",
]
# fmt: on


def _spec(start: int, end: int, overlap: int, count: int = len(PAGES)) -> ChunkSpec:
    return ChunkSpec(0, start, end, max(1, start - overlap), min(count, end + overlap), overlap)


def _run(pages: list[str], spec: ChunkSpec) -> list[Sentence]:
    return owned_sentences(pages[spec.read_start - 1 : spec.read_end], spec)[0]


def test_keeps_a_sentence_whole_when_it_runs_into_the_trailing_overlap() -> None:
    # "continue ici." on page 2 ends a sentence the previous chunk owns and sees.
    assert _run(PAGES, _spec(2, 2, 1)) == [Sentence("Trois commence ici et continue ici.", 2)]


def test_drops_sentences_starting_in_the_overlaps() -> None:
    texts = [s.text for s in _run(PAGES, _spec(3, 3, 1))]
    assert texts == ["Quatre commence ici et continue ici."]


def test_without_overlap_keeps_the_leading_fragment() -> None:
    assert _run(PAGES, _spec(2, 3, 0)) == [
        Sentence("continue ici.", 2),
        Sentence("Trois commence ici et continue ici.", 2),
        Sentence("Quatre commence ici et", 3),
    ]


def test_document_start_and_end_chunks_behave_naturally() -> None:
    first = _run(PAGES, _spec(1, 2, 1))
    last = _run(PAGES, _spec(3, 4, 1))
    assert [s.text for s in first] == [
        "Un commence ici.",
        "Deux commence ici et continue ici.",
        "Trois commence ici et continue ici.",
    ]
    assert [s.text for s in last] == [
        "Quatre commence ici et continue ici.",
        "Cinq commence ici.",
    ]


def test_sentence_longer_than_the_overlap_continues_in_the_next_chunk() -> None:
    # fmt: off
    pages = [
        "Court. Une phrase très", "longue traverse", "trois pages entières", "puis finit. Fin.",
    ]
    # fmt: on
    first = _run(pages, _spec(1, 2, 1))
    second = _run(pages, _spec(3, 4, 1))
    assert [s.text for s in first] == [
        "Court.",
        "Une phrase très longue traverse trois pages entières",
    ]
    assert second == [Sentence("puis finit.", 4), Sentence("Fin.", 4)]


def test_word_broken_at_the_previous_chunks_reach_is_emitted_once_and_whole() -> None:
    pages = ["Court. Une phrase très", "longue traverse un ex-", "emple de page en", "page. Fin."]
    whole = " ".join(s.text for s in _run(pages, _spec(1, 4, 0)))
    first = _run(pages, _spec(1, 1, 1))
    second = _run(pages, _spec(2, 2, 1))
    rest = _run(pages, _spec(3, 4, 1))
    chunked = " ".join(s.text for s in [*first, *second, *rest])
    assert chunked.split() == whole.split()
    assert "exemple" in chunked.split()


def test_reports_owned_pages_without_text() -> None:
    pages = ["Un.", "", "  \n ", "Quatre."]
    sentences, empty = owned_sentences(pages, _spec(2, 3, 1))
    assert empty == [2, 3]
    assert sentences == []


def test_sentence_page_is_the_page_of_its_first_word() -> None:
    sentences, _ = owned_sentences(PAGES, _spec(1, 4, 0))
    assert [s.page for s in sentences] == [1, 1, 2, 3, 4]


def test_rejects_page_texts_that_do_not_match_the_spec() -> None:
    with pytest.raises(ValueError, match="3 pages"):
        owned_sentences(PAGES[:2], _spec(2, 2, 1))


def test_hyphenation_setting_is_honoured() -> None:
    pages = ["Un ex-", "emple."]
    on, _ = owned_sentences(pages, _spec(1, 2, 0))
    off, _ = owned_sentences(pages, _spec(1, 2, 0), ProcessSettings(fix_hyphenation=False))
    assert [s.text for s in on] == ["Un exemple."]
    assert [s.text for s in off] == ["Un ex- emple."]


def _random_document(seed: int, break_words: bool) -> list[str]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    # fmt: off
    vocab = [
        "le", "chat", "dort", "sur", "la", "table", "et", "rêve", "de", "souris", "grises",
        "pendant", "que",
    ]
    # fmt: on
    words: list[str] = []
    for _ in range(rng.randint(40, 90)):
        length = rng.choice([1, 3, 6, 12, 25, 70])  # some sentences span pages
        sentence = [rng.choice(vocab) for _ in range(length)]
        sentence[0] = sentence[0].capitalize()
        words.extend(sentence[:-1] + [sentence[-1] + rng.choice([".", " !", " ?", "…"])])
    pages, size = [], 0
    while size < len(words):
        take = rng.randint(15, 40)
        chunk = words[size : size + take]
        if break_words and len(chunk[-1]) > 4 and size + take < len(words) and rng.random() < 0.5:
            head, tail = chunk[-1][:2], chunk[-1][2:]
            chunk[-1] = head + "-"
            words.insert(size + take, tail)
        pages.append(" ".join(chunk))
        size += take
    return pages


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    ("per_chunk", "overlap"), [(1, 1), (2, 1), (3, 1), (3, 2), (5, 1), (4, 0), (3, 0), (1, 0)]
)
def test_chunked_output_concatenates_to_the_whole_document_output(
    seed: int, per_chunk: int, overlap: int
) -> None:
    pages = _random_document(seed, break_words=overlap > 0)
    whole = owned_sentences(pages, _spec(1, len(pages), 0, len(pages)))[0]
    chunked: list[Sentence] = []
    for spec in plan_chunks(len(pages), per_chunk, overlap):
        chunked.extend(_run(pages, spec))
    assert " ".join(s.text for s in chunked).split() == " ".join(s.text for s in whole).split()
    # Every page's words are emitted exactly once, by chunks in page order.
    assert [s.page for s in chunked] == sorted(s.page for s in chunked)


def test_a_page_holding_only_a_soft_hyphen_has_no_text() -> None:
    # The soft hyphen is dropped at the end of the text: no word is left on page 2.
    assert owned_sentences(["Un.", "\u00ad"], _spec(1, 2, 0))[1] == [2]

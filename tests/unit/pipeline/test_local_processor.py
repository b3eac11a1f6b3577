"""LocalProcessor: one chunk PDF in, owned sentences cut to length out."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from backend.pipeline.errors import InvalidPdfError, NoTextError
from backend.pipeline.processors import get_processor
from backend.pipeline.processors.local import LocalProcessor
from backend.pipeline.segment import count_words
from backend.pipeline.split import plan_chunks
from backend.pipeline.types import ChunkInput, ChunkSpec, ProcessSettings
from tests.unit.pipeline.helpers import blank_pdf, chunk_pdf, text_pdf, whole

LINES = [
    "Pendant que la nuit tombait doucement sur la ville, Claire attendait",
    "sans rien dire près de la gare, le cœur serré, et les cloches sonnaient",
    "au loin. « Viens, dit-il. » Elle ne bougea pas.",
]


def test_is_registered_under_its_name() -> None:
    processor = get_processor("local")
    assert isinstance(processor, LocalProcessor)
    assert processor.name == "local"


@pytest.mark.parametrize("limit", [3, 5, 8, 50])
def test_cuts_sentences_to_words_per_sentence_without_losing_words(limit: int) -> None:
    data = text_pdf([LINES])
    output = LocalProcessor().process(
        ChunkInput(data, whole(1), ProcessSettings(words_per_sentence=limit))
    )
    assert all(count_words(s.text) <= limit for s in output.sentences)
    assert " ".join(s.text for s in output.sentences).split() == " ".join(LINES).split()
    assert output.metadata["words"] == count_words(" ".join(LINES))
    assert output.metadata["pages"] == 1
    assert output.metadata["sentences"] == len(output.sentences)
    assert {s.page for s in output.sentences} == {1}


def test_raises_no_text_when_every_owned_page_is_empty() -> None:
    data = text_pdf([["Du texte."], [], [], ["Encore du texte."]])
    spec = ChunkSpec(1, 2, 3, 1, 4, 1)
    with pytest.raises(NoTextError, match=r"pages 2-3 contain no extractable text") as info:
        LocalProcessor().process(ChunkInput(data, spec))
    assert info.value.code == "NO_TEXT"


def test_single_empty_page_message_is_singular() -> None:
    with pytest.raises(NoTextError, match=r"^page 1 contains no extractable text"):
        LocalProcessor().process(ChunkInput(blank_pdf(1), whole(1)))


def test_reports_empty_owned_pages_when_others_have_text() -> None:
    data = text_pdf([["Un texte."], [], ["Un autre texte."]])
    output = LocalProcessor().process(ChunkInput(data, whole(3)))
    assert output.pages_without_text == (2,)
    assert [s.text for s in output.sentences] == ["Un texte.", "Un autre texte."]


def test_rejects_a_chunk_pdf_with_the_wrong_page_count() -> None:
    with pytest.raises(InvalidPdfError, match="2 pages"):
        LocalProcessor().process(ChunkInput(text_pdf([["Un."]]), ChunkSpec(0, 1, 2, 1, 2, 0)))


def test_concurrent_calls_give_the_same_results_as_sequential_ones() -> None:
    pages = [[f"Page {n} : {LINES[0]}", LINES[1], LINES[2]] for n in range(1, 10)]
    data = text_pdf(pages)
    inputs = [ChunkInput(chunk_pdf(data, spec), spec) for spec in plan_chunks(9, 3, 1)]
    processor = LocalProcessor()
    sequential = [processor.process(item) for item in inputs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(processor.process, inputs * 4))
    assert parallel == sequential * 4

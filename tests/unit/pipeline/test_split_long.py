"""split_long: pieces of at most max_words words, and never a word lost."""

from __future__ import annotations

import random

import pytest

from backend.pipeline.segment import count_words, split_long

LONG = (
    "Il marchait lentement dans la rue déserte, le cœur léger et la tête pleine de "
    "souvenirs, lorsque soudain il aperçut au loin la silhouette de M. Dupont qui venait "
    "vers lui en agitant les bras comme un homme qui a perdu quelque chose de précieux."
)
CASES = [
    LONG,
    "— Je ne sais pas, répondit Mme Leclerc, mais il faudra bien que quelqu’un se décide.",
    "« Viens ! » cria-t-elle, puis elle courut vers la porte et l’ouvrit en grand.",
    "un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze",
    "Il partit — sans un mot — vers la gare ; elle resta : immobile, muette, seule.",
    "mot " * 40 + ".",
    "« — » ! mot ( a ) , b",
]


def _assert_invariant(sentence: str, max_words: int) -> list[str]:
    pieces = split_long(sentence, max_words)
    assert [w for piece in pieces for w in piece.split()] == sentence.split()
    assert all(count_words(piece) <= max_words for piece in pieces)
    if count_words(sentence) > 0:
        assert all(count_words(piece) >= 1 for piece in pieces)
    return pieces


@pytest.mark.parametrize("sentence", CASES)
@pytest.mark.parametrize("max_words", [1, 2, 3, 5, 8, 12, 100])
def test_pieces_keep_every_word_in_order_and_respect_the_limit(
    sentence: str, max_words: int
) -> None:
    _assert_invariant(sentence, max_words)


def test_short_sentence_is_returned_whole() -> None:
    assert split_long("Il pleut sur la ville.", 8) == ["Il pleut sur la ville."]


def test_empty_sentence_gives_no_piece() -> None:
    assert split_long("   ", 8) == []


def test_rejects_a_non_positive_limit() -> None:
    with pytest.raises(ValueError, match="max_words"):
        split_long("Il pleut.", 0)


def test_punctuation_tokens_do_not_count_toward_the_limit() -> None:
    assert split_long("« Oui ! » — Non ?", 2) == ["« Oui ! » — Non ?"]


def test_prefers_cutting_after_commas() -> None:
    assert split_long(LONG, 12)[:2] == [
        "Il marchait lentement dans la rue déserte,",
        "le cœur léger et la tête pleine de souvenirs,",
    ]


def test_cuts_before_a_conjunction_rather_than_anywhere() -> None:
    pieces = split_long("Le vent soufflait sur la plaine immense et les arbres pliaient", 8)
    assert pieces == ["Le vent soufflait sur la plaine immense", "et les arbres pliaient"]


def test_never_leaves_an_abbreviation_at_a_piece_end() -> None:
    assert not any(p.endswith((" M.", " Mme")) for p in split_long(LONG, 5))


def test_never_starts_a_piece_with_closing_punctuation() -> None:
    for max_words in range(1, 6):
        pieces = split_long("« Viens ici tout de suite ! » cria-t-elle très fort.", max_words)
        assert not any(p.split()[0] in {"!", "»", "?"} for p in pieces)


def test_falls_back_to_hard_cuts_every_max_words() -> None:
    words = " ".join(f"mot{i}" for i in range(20))
    assert [count_words(p) for p in split_long(words, 5)] == [5, 5, 5, 5]


# fmt: off
_VOCAB = [
    "il", "elle", "marchait", "vers", "la", "maison", "et", "mais", "donc", "que", "qui", "quand",
    "lorsque", "puis", "le", "jardin", "ciel", "était", "gris", "M.", "Mme", "J.-C.", "p.", "12",
    "3,5", "1852", "l’homme", "qu’il",
]
# fmt: on
_PUNCT = [",", ";", ":", "—", "«", "»", "!", "?", "…", "(", ")", "."]


@pytest.mark.parametrize("seed", range(40))
def test_invariant_holds_for_random_french_like_text(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    tokens: list[str] = []
    for _ in range(rng.randint(1, 80)):
        roll = rng.random()
        if roll < 0.15:
            tokens.append(rng.choice(_PUNCT))
        elif roll < 0.3 and tokens:
            tokens[-1] += rng.choice([",", ";", ":", ".", "!", "?", "»"])
        else:
            tokens.append(rng.choice(_VOCAB))
    sentence = " ".join(tokens)
    for max_words in (1, 2, 3, 4, 6, 8, 13):
        _assert_invariant(sentence, max_words)

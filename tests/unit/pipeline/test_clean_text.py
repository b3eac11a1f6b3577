"""clean: characters, running headers and footers, hyphenation, line wraps."""

from __future__ import annotations

import pytest

from backend.pipeline.clean import (
    clean_pages,
    clean_text,
    is_page_number_line,
    is_real_hyphen,
    normalize_chars,
    strip_running_lines,
)

BODY = "Il marchait lentement le long des quais, sans rien regarder autour de lui"


def book_page(number: int, body: list[str]) -> str:
    """A page with alternating running headers and a page number footer."""
    header = "Hélène Marchand" if number % 2 == 0 else "Les Heures grises"
    return "\n".join([header, *body, f"— {number} —"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("e\ufb03cace et \ufb01n", "efficace et fin"),
        ("\ufb02eur \ufb00et \ufb04uent \ufb06op", "fleur ffet ffluent stop"),
        ("Bonjour\u00a0!", "Bonjour !"),
        ("«\u202fOui\u202f»", "« Oui »"),
        ("mille\u2009francs", "mille francs"),
        ("por\u00adte-man\u00adteau", "porte-manteau"),
        ("zéro\u200bwidth", "zérowidth"),
        ("e\u0301te\u0301", "été"),
        ("peut\u2010être", "peut-être"),
    ],
)
def test_normalizes_characters(raw: str, expected: str) -> None:
    assert normalize_chars(raw) == expected


@pytest.mark.parametrize(
    "line", ["12", "- 12 -", "— 12 —", "– 7 –", "Page 12", "page 3 / 80", "p. 4", "  9  "]
)
def test_recognizes_page_number_lines(line: str) -> None:
    assert is_page_number_line(line)


@pytest.mark.parametrize("line", ["12 chevaux.", "Chapitre 12", "1852, une année", "XII", ""])
def test_does_not_mistake_text_for_page_numbers(line: str) -> None:
    assert not is_page_number_line(line) or line == ""


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("ex-", "emple", "exemple"),
        ("mar-", "chait", "marchait"),
        ("lente-", "ment.", "lentement."),
        ("dit-", "il.", "dit-il."),
        ("peut-", "être", "peut-être"),
        ("c'est-à-", "dire", "c'est-à-dire"),
        ("demanda-", "t-il", "demanda-t-il"),
        ("répondit-", "elle", "répondit-elle"),
        ("celui-", "ci", "celui-ci"),
        ("là-", "bas", "là-bas"),
        ("au-", "dessus", "au-dessus"),
        ("Jean-", "Pierre", "Jean-Pierre"),
        ("1914-", "1918", "1914-1918"),
        ("lui-", "même", "lui-même"),
    ],
)
def test_joins_words_broken_at_line_end(left: str, right: str, joined: str) -> None:
    assert clean_text([f"Il y avait {left}\n{right} ici."]) == f"Il y avait {joined} ici."


@pytest.mark.parametrize(
    ("left", "right", "real"),
    [
        ("ex-", "emple", False),
        ("dit-", "il", True),
        ("bou-", "langerie", False),
        ("quelques-", "uns", True),
        ("grand-", "mère", True),
        ("pa-", "pier", False),
    ],
)
def test_real_hyphen_heuristic(left: str, right: str, real: bool) -> None:
    assert is_real_hyphen(left, right) is real


def test_dehyphenates_word_broken_across_page_break() -> None:
    cleaned = clean_pages(["Il aperçut un ex-", "emple parfait."])
    assert cleaned.words() == [
        ("Il", 0),
        ("aperçut", 0),
        ("un", 0),
        ("exemple", 1),
        ("parfait.", 1),
    ]
    # A word glued across a page break belongs to the page of its second half.
    assert cleaned.page_starts == (0, cleaned.text.index("exemple"))


def test_a_word_glued_across_an_empty_page_starts_the_page_after_it() -> None:
    cleaned = clean_pages(["Un ex-", "  \n", "emple fin."])
    assert cleaned.text == "Un exemple fin."
    assert cleaned.page_starts == (0, 3, 3)  # the empty page starts where the next does
    assert cleaned.words() == [("Un", 0), ("exemple", 2), ("fin.", 2)]
    assert cleaned.pages_with_text() == {0, 2}
    assert clean_pages([]).pages_with_text() == set()


def test_dehyphenates_across_page_break_with_running_lines_between() -> None:
    pages = [
        book_page(n, [BODY, "et tout à coup il vit un ex-" if n == 4 else BODY + "."])
        for n in range(2, 7)
    ]
    pages[3] = book_page(5, ["emple de courage."])
    text = clean_text(pages)
    assert "un exemple de courage." in text
    assert "Marchand" not in text
    assert "Heures" not in text
    assert "—" not in text


def test_soft_hyphen_at_line_end_glues_without_hyphen() -> None:
    assert clean_text(["une mai\u00ad\nson blanche"]) == "une maison blanche"


def test_keeps_hyphen_when_hyphenation_fix_is_off() -> None:
    assert clean_text(["un ex-\nemple"], fix_hyphenation=False) == "un ex- emple"


def test_unwraps_lines_and_collapses_spaces() -> None:
    assert clean_text(["Il   marchait\nlentement,\n\n  puis  il  s'arrêta."]) == (
        "Il marchait lentement, puis il s'arrêta."
    )


def test_removes_alternating_headers_and_page_numbers() -> None:
    pages = [book_page(n, [BODY + ",", "puis il rentra chez lui."]) for n in range(10, 16)]
    cleaned = strip_running_lines([p.split("\n") for p in pages])
    assert cleaned == [[BODY + ",", "puis il rentra chez lui."]] * 6


def test_removes_header_when_only_two_pages_are_visible() -> None:
    pages = [book_page(n, [BODY + ","] * 5 + ["puis il rentra."]) for n in (63, 64)]
    text = clean_text(pages)
    assert "Marchand" not in text
    assert "Heures" not in text
    assert text.count("puis il rentra.") == 2


def test_removes_repeated_footer_text_with_varying_numbers() -> None:
    pages = [f"{BODY}.\nLes Heures grises — chapitre {n}" for n in range(1, 4)]
    assert clean_text(pages) == " ".join([BODY + "."] * 3)


def test_keeps_unrepeated_short_first_line() -> None:
    pages = ["Chapitre premier\nIl faisait nuit.", f"{BODY}.", f"{BODY}."]
    assert clean_text(pages).startswith("Chapitre premier\nIl faisait nuit.")


def test_keeps_repeated_lines_that_look_like_sentences() -> None:
    pages = ["— Oui.\nIl se tut.", "— Oui.\nElle partit."]
    assert clean_text(pages) == "— Oui. Il se tut.\n— Oui. Elle partit."


def test_header_detection_for_a_page_depends_only_on_its_neighbours() -> None:
    pages = [book_page(n, [f"Page {n} : {BODY}.", "Suite du texte."]) for n in range(2, 14)]
    lines = [p.split("\n") for p in pages]
    whole = strip_running_lines(lines)
    for start in range(0, len(lines) - 3):
        window = strip_running_lines(lines[start : start + 4])
        assert window == whole[start : start + 4]


def test_dialogue_line_starts_a_new_sentence_after_a_colon() -> None:
    assert clean_text(["Il dit :\n— Oui, répondit-elle."]) == "Il dit :\n— Oui, répondit-elle."


def test_dash_inside_a_wrapped_sentence_is_not_a_dialogue_line() -> None:
    assert clean_text(["il partit,\n— sans un mot — vers la gare."]) == (
        "il partit, — sans un mot — vers la gare."
    )


def test_short_title_line_is_separated_from_following_text() -> None:
    page = f"Chapitre II\nLe retour\n{BODY},\n{BODY}."
    assert clean_text([page]).split("\n")[:2] == ["Chapitre II", "Le retour"]


def test_lone_numbered_page_drops_its_short_header_slot() -> None:
    # A one-page chunk without overlap must strip what the whole run strips.
    page = book_page(64, [BODY + ","] * 5 + ["puis il rentra."])
    assert clean_text([page]) == " ".join([BODY + ","] * 5 + ["puis il rentra."])


def test_unnumbered_pages_keep_short_first_lines_without_repetition() -> None:
    pages = [f"Titre {n}\n{BODY},\n{BODY}." for n in ("un", "deux")]
    assert clean_text(pages).startswith("Titre un")

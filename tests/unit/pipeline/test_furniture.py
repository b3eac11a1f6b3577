"""furniture.py: the rules on a built printer's proof and on hand-made pages; the plan's blob."""

from __future__ import annotations

import json

import pytest

from backend.pipeline.furniture import (
    MAX_PLAN_BYTES,
    FurniturePlan,
    page_text,
    plan_furniture,
    strip_furniture,
    strip_with_report,
)
from backend.pipeline.layout import Line, PageLayout, read_layouts
from backend.pipeline.split import iter_chunk_pdfs, open_pdf, plan_chunks
from tests.unit.pipeline.proof_pdf import HEAD_EVEN, HEAD_ODD, SLUG, Proof, build_proof


@pytest.fixture(scope="module")
def proof() -> Proof:
    return build_proof()


@pytest.fixture(scope="module")
def proof_pages(proof: Proof) -> list[PageLayout]:
    return read_layouts(proof.pdf)


def test_the_plan_leaves_exactly_the_text_of_every_proof_page(
    proof: Proof, proof_pages: list[PageLayout]
) -> None:
    plan = plan_furniture(proof_pages)
    for number, (page, expected) in enumerate(zip(proof_pages, proof.expected, strict=True), 1):
        stripped = strip_furniture(page, number, plan)
        assert page_text(stripped) == "\n".join(expected), number


def test_each_rule_says_what_it_took(proof_pages: list[PageLayout]) -> None:
    plan = plan_furniture(proof_pages)
    rules: dict[str, list[str]] = {}
    for number, page in enumerate(proof_pages, 1):
        for removal in strip_with_report(page, number, plan)[1]:
            rules.setdefault(removal.rule, []).append(removal.text)
    assert rules["gutter_number"][:3] == ["1", "2", "3"]
    assert len(rules["gutter_number"]) == 24 * 5  # five single-column proof pages
    assert len(rules["glyph_run"]) == 2 * 8  # two crop-mark runs per page
    assert SLUG.format(n=4) in rules["running_head"]
    assert HEAD_EVEN.format(n=4) in rules["running_head"]
    assert HEAD_ODD.format(n=5) in rules["running_head"]
    assert len(rules["dot_leader"]) == 4
    assert sorted(rules["stray_number"]) == ["23", "3", "43", "63"]  # the TOC's page column


def test_without_a_plan_only_the_repeating_lines_stay(
    proof: Proof, proof_pages: list[PageLayout]
) -> None:
    """No book-wide view: a running head beside its number on the outer row is still
    furniture, a slug line is not known to repeat."""
    for number, (page, expected) in enumerate(zip(proof_pages, proof.expected, strict=True), 1):
        left = [line.text for line in strip_furniture(page, number, None).lines]
        extra = [text for text in left if text not in expected]
        head = HEAD_EVEN if number % 2 == 0 else HEAD_ODD
        assert extra == [SLUG.format(n=number), head.format(n=number)], number
        assert [text for text in left if text in expected] == list(expected)


def test_chunk_pdfs_read_and_stripped_with_the_book_plan_give_the_book_text(
    proof: Proof, proof_pages: list[PageLayout]
) -> None:
    plan = FurniturePlan.from_json(plan_furniture(proof_pages).to_json())
    whole = [page_text(strip_furniture(p, n, plan)) for n, p in enumerate(proof_pages, 1)]
    reader = open_pdf(proof.pdf)
    for spec, data in iter_chunk_pdfs(reader, plan_chunks(len(proof_pages), 3, overlap=1)):
        pages = read_layouts(data)
        assert len(pages) == spec.read_end - spec.read_start + 1
        for offset, page in enumerate(pages):
            number = spec.read_start + offset
            assert page_text(strip_furniture(page, number, plan)) == whole[number - 1]


def _line(text: str, top: float, x0: float = 50, x1: float = 370, size: float = 11) -> Line:
    return Line(text, x0, top, x1, top + size, size)


def _page(*lines: Line) -> PageLayout:
    return PageLayout(420, 595, lines)


def _body(top: float = 100, page: int = 0) -> list[Line]:
    """Twenty lines of prose, different on each page (as a book's are)."""
    # Digits do not tell lines apart once normalised: spell the page in letters.
    name = "".join(chr(ord("a") + int(digit)) for digit in str(page))
    return [
        _line(f"Line {k} of the page called {name}, in prose.", top + 15 * k) for k in range(20)
    ]


def test_a_short_line_repeated_by_chance_at_page_tops_stays() -> None:
    """Dialogue that opens three pages far apart does not repeat like a running head."""
    pages = [_page(*_body(page=n)) for n in range(60)]
    for number in (5, 25, 45):
        pages[number - 1] = _page(_line("— Oui.", 85, x1=95), *_body(page=number))
    plan = plan_furniture(pages)
    assert plan.heads == ()
    for number in (5, 25, 45):
        assert page_text(strip_furniture(pages[number - 1], number, plan)).startswith("— Oui.")


def test_a_chapter_first_line_at_the_top_stays_and_its_running_head_goes() -> None:
    head = "CHAPTER 3. THE LONG WINTER"
    pages = [_page(_line(head, 40, x0=150), *_body(page=n)) for n in range(8)]
    opening = _page(
        _line("Chapter 3", 60, x0=150),
        _line("The long winter began early.", 90),
        *_body(120, page=9),
    )
    pages.insert(0, opening)
    plan = plan_furniture(pages)
    assert [h.text for h in plan.heads if h.band == "top"] == ["chapter #. the long winter"]
    assert page_text(strip_furniture(opening, 1, plan)).startswith("Chapter 3\nThe long winter")
    assert head not in page_text(strip_furniture(pages[3], 4, plan))


def test_a_number_alone_in_the_text_column_stays_but_not_in_the_margins() -> None:
    page = _page(
        _line("12", 30, x0=200, x1=212), *_body()[:10], _line("1723", 300, x1=80), *_body(330)[:5]
    )
    text = page_text(strip_furniture(page, 12, None))
    assert "\n1723\n" in text
    assert not text.startswith("12")


def test_a_year_at_the_foot_of_a_title_page_is_not_a_page_number() -> None:
    title = _page(_line("A Title", 200, x0=150), _line("1854", 560, x0=200, x1=230))
    pages = [title] + [
        _page(*_body(page=n), _line(str(n), 570, x0=200, x1=212)) for n in range(2, 12)
    ]
    plan = plan_furniture(pages)
    assert plan.offsets == (0,)
    assert page_text(strip_furniture(title, 1, plan)) == "A Title\n1854"
    assert page_text(strip_furniture(title, 1, None)) == "A Title"  # no plan: no way to tell
    for number, page in enumerate(pages[1:], 2):
        assert not page_text(strip_furniture(page, number, plan)).endswith(str(number))


def test_page_number_beside_a_running_head_on_one_line() -> None:
    pages = [_page(_line(f"{n} FREE CULTURE", 40, x1=150), *_body(page=n)) for n in range(1, 9)]
    plan = plan_furniture(pages)
    for number, page in enumerate(pages, 1):
        assert "FREE CULTURE" not in page_text(strip_furniture(page, number, plan))


def test_a_stamp_across_every_page_goes_and_prose_at_its_place_stays() -> None:
    draft = Line("Draft", 100, 180, 480, 660, 400)
    pages = [_page(*_body(page=n), draft) for n in range(10)]
    plan = plan_furniture(pages)
    assert [(h.band, h.text) for h in plan.heads] == [("page", "draft")]
    for number, page in enumerate(pages, 1):
        text = page_text(strip_furniture(page, number, plan))
        assert "Draft" not in text
        assert text == "\n".join(line.text for line in _body(page=number - 1))


def test_glyph_runs_and_leaders_go_and_the_words_stay() -> None:
    page = _page(
        _line("❚❘❙❚❘❙❚❘❙", 20),
        _line("❙❙❙ The opening words of the page.", 100),
        _line("Contents of the book . . . . . . . . . . . . xii", 115),
        _line("He stopped. . . . Then he went on, slowly.", 130),
    )
    stripped, removed = strip_with_report(page, 1, None)
    assert [line.text for line in stripped.lines] == [
        "The opening words of the page.",
        "Contents of the book",
        "He stopped. . . . Then he went on, slowly.",
    ]
    assert [r.rule for r in removed] == ["glyph_run", "glyph_run", "dot_leader"]


def test_a_section_number_joins_its_heading_and_a_bullet_its_item() -> None:
    page = _page(
        *_body()[:3],
        _line("2.1", 180, x0=50, x1=62),
        _line("Related work", 180, x0=75, x1=160),
        _line("•", 204, x0=50, x1=53, size=3),
        _line("an item of a list", 200, x0=62, x1=200),
    )
    texts = [line.text for line in strip_furniture(page, 3, None).lines]
    assert texts[-2:] == ["2.1 Related work", "• an item of a list"]


def test_plan_round_trips_through_json(proof_pages: list[PageLayout]) -> None:
    plan = plan_furniture(proof_pages)
    blob = plan.to_json()
    assert len(blob) < 2_000
    assert FurniturePlan.from_json(blob) == plan


_VALID = {"version": 1, "page_count": 3, "heads": [["top", "x", 1]], "slots": {}, "offsets": []}


def _blob(**changes: object) -> bytes:
    return json.dumps({**_VALID, **changes}).encode()


def test_the_valid_blob_the_refusals_start_from_loads() -> None:
    assert FurniturePlan.from_json(_blob()).heads[0].text == "x"


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        _blob(version=2),
        _blob(page_count=-1),
        _blob(page_count=True),
        _blob(heads=[["side", "x", 1]]),
        _blob(heads=[["top", "x" * 400, 1]]),
        _blob(heads=[["top", "x"]]),
        _blob(heads=[["top", "x", "1"]]),
        _blob(slots={"left": [1]}),
        _blob(slots={"top": ["a"]}),
        _blob(offsets=[1.5]),
        _blob(offsets=None),
        b" " * (MAX_PLAN_BYTES + 1),
    ],
)
def test_a_bad_plan_blob_is_refused(blob: bytes) -> None:
    with pytest.raises(ValueError, match="furniture plan"):
        FurniturePlan.from_json(blob)


def test_a_page_number_outside_the_planned_book_is_refused(proof_pages: list[PageLayout]) -> None:
    plan = plan_furniture(proof_pages)
    for number in (0, len(proof_pages) + 1):
        with pytest.raises(ValueError, match="not in the planned book"):
            strip_furniture(proof_pages[0], number, plan)
    assert strip_furniture(proof_pages[0], 0, None).lines  # no plan: nothing to check against


def test_lines_repeated_on_pages_that_hold_nothing_else_are_the_text() -> None:
    """A document whose every page prints the same two lines: they are not furniture."""
    text = ["Marqueur : la pluie tombait sur le port,", "et les marins attendaient le vent."]
    pages = [_page(_line(text[0], 48), _line(text[1], 66)) for _ in range(10)]
    plan = plan_furniture(pages)
    assert plan.heads == ()
    assert page_text(strip_furniture(pages[3], 4, plan)).split("\n") == text


def test_a_running_head_over_mostly_empty_pages_still_goes_when_most_pages_have_text() -> None:
    pages = [_page(_line("LES HEURES GRISES", 30), *_body(page=n)) for n in range(30)]
    for number in (10, 20):  # chapter ends: the head alone on the page
        pages[number - 1] = _page(_line("LES HEURES GRISES", 30))
    plan = plan_furniture(pages)
    assert "les heures grises" in {head.text for head in plan.heads}
    assert page_text(strip_furniture(pages[9], 10, plan)) == ""

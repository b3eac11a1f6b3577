"""Stored XSS through parser messages (issue 12, finding 1): what is stored is inert.

The audit's PDF makes pypdf's error quote the content stream, so the message
held an HTML attribute break-out; stored as the chunk's ``last_error`` (or in
its ``page_errors``), it ran in the operator's dashboard. Now every stored
message is the code's fixed sentence plus a bounded, markup-free detail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.errors import kind_of
from backend.extensions import db
from backend.models import JobChunk
from backend.pipeline import processors
from backend.pipeline.errors import PermanentError
from backend.pipeline.messages import (
    DETAIL_LIMIT,
    clean_detail,
    clean_page_errors,
    error_message,
)
from backend.pipeline.types import ChunkInput, ChunkOutput, Sentence
from backend.services.process import process_chunk
from backend.services.split import split_job
from tests.conftest import blank_pdf, upload
from tests.hostile_pdfs import ATTRIBUTE_BREAKOUT, parser_message_injection
from tests.integration.conftest import assert_error

MARKUP = set('<>"`' + "'")
PAYLOADS = [
    '"><img src=x onerror="window.__xss=1">',
    '" autofocus onfocus="window.__xss=1" x="',
    "<script>alert(1)</script>",
    "`${alert(1)}`",
    "l'image\x00\x1b[31m\u202e\u200bred\r\nnext line",
]


def assert_inert(text: str, limit: int) -> None:
    assert not MARKUP & set(text), text
    assert text.isprintable(), repr(text)
    assert len(text) <= limit, len(text)


# ---- the sanitiser ----


@pytest.mark.parametrize("payload", PAYLOADS)
def test_clean_detail_leaves_no_markup_and_no_control_character(payload: str) -> None:
    assert_inert(clean_detail(payload), DETAIL_LIMIT)


def test_clean_detail_keeps_words_readable() -> None:
    assert clean_detail('l\'image est "cassée"\n\tpage 3') == "l’image est ”cassée” page 3"
    assert clean_detail("a <b> `c`") == "a ‹b› ’c’"
    assert clean_detail(None) == ""


def test_clean_detail_is_bounded_and_says_it_was_cut() -> None:
    cut = clean_detail("x" * 5000)
    assert len(cut) == DETAIL_LIMIT
    assert cut.endswith("…")
    assert clean_detail("y" * DETAIL_LIMIT) == "y" * DETAIL_LIMIT
    assert len(clean_detail("z" * 50, limit=10)) == 10


def test_error_message_is_the_fixed_title_plus_the_cleaned_detail() -> None:
    title = kind_of("INVALID_PDF").title
    assert error_message(title, None) == title
    message = error_message(title, PAYLOADS[0] * 40)
    assert message.startswith("The file is not a readable PDF (")
    assert message.endswith(")")
    assert_inert(message, len(title) + DETAIL_LIMIT + 3)


def test_page_errors_are_cleaned_keys_and_values() -> None:
    cleaned = clean_page_errors({'3"><b>': PAYLOADS[1], 4: "x" * 900})
    for page, reason in cleaned.items():
        assert_inert(page, 20)
        assert_inert(reason, DETAIL_LIMIT)
    assert len(cleaned) == 2


# ---- what the worker stores ----


@pytest.fixture
def run_chunks(app: APIFlask, client: FlaskClient) -> Callable[..., list[JobChunk]]:
    """``run_chunks(headers, pdf, **form)``: upload, split and process every chunk."""

    def _run(headers: dict[str, str], pdf: bytes, **form: Any) -> list[JobChunk]:
        response = upload(client, headers, pdf, name="hostile.pdf", overlap_pages=0, **form)
        assert response.status_code == 202, response.get_json()
        job_id = response.get_json()["job_id"]
        with app.app_context():
            assert split_job(job_id) == "processing"
            pks = db.session.scalars(select(JobChunk.id).where(JobChunk.job_id == job_id)).all()
            for pk in pks:
                process_chunk(pk)
            db.session.expire_all()
            rows = list(
                db.session.scalars(
                    select(JobChunk).where(JobChunk.job_id == job_id).order_by(JobChunk.chunk_id)
                )
            )
            db.session.expunge_all()
            return rows

    return _run


def test_a_parser_message_that_quotes_the_pdf_is_stored_inert_and_bounded(
    run_chunks: Callable[..., list[JobChunk]], alice: dict[str, str]
) -> None:
    # Three broken pages: three quoted break-outs, about 600 characters raw.
    (chunk,) = run_chunks(alice, parser_message_injection(broken_pages=3), pages_per_chunk=3)
    if chunk.status == "success":  # a parser that tolerates the stream: nothing to store
        assert chunk.last_error is None
        return
    assert chunk.status == "failed"
    assert chunk.last_error_code == "INVALID_PDF"
    message = chunk.last_error or ""
    title = kind_of("INVALID_PDF").title
    assert message.startswith(title.rstrip("."))
    assert_inert(message, len(title) + DETAIL_LIMIT + 3)
    assert ATTRIBUTE_BREAKOUT.decode() not in message
    # Still says what happened, and where.
    assert "page 1" in message


def test_page_errors_of_a_successful_chunk_are_stored_and_served_inert(
    run_chunks: Callable[..., list[JobChunk]],
    client: FlaskClient,
    alice: dict[str, str],
) -> None:
    pdf = parser_message_injection(broken_pages=1, readable_pages=1)
    (chunk,) = run_chunks(alice, pdf, pages_per_chunk=2)
    assert chunk.status == "success", chunk.last_error
    page_errors = (chunk.result_json or {})["metadata"]["page_errors"]
    for page, reason in page_errors.items():
        assert_inert(page, 20)
        assert_inert(reason, DETAIL_LIMIT)
    listing = client.get(f"/api/v1/jobs/{chunk.job_id}/chunks", headers=alice).get_json()
    assert listing["items"][0]["page_errors"] == page_errors
    if page_errors:  # (pypdf reports the broken page; a tolerant parser may not)
        assert list(page_errors) == ["1"]
        assert page_errors["1"].startswith("page 1:")


class HostileProcessor:
    """Fails or succeeds with the audit's payloads in its messages, one way per chunk."""

    name = "hostile"

    def process(self, chunk: ChunkInput) -> ChunkOutput:
        message = PAYLOADS[0] + " " + "x" * 400
        if chunk.spec.index == 0:
            raise PermanentError(message, code="NO_TEXT")
        if chunk.spec.index == 1:
            raise RuntimeError(message)  # an unclassified error: PROCESSOR_ERROR
        sentence = Sentence(f"page {chunk.spec.page_start}", chunk.spec.page_start)
        errors = {str(chunk.spec.page_start): PAYLOADS[1], "0<svg onload=x>": message}
        return ChunkOutput(sentences=(sentence,), metadata={"page_errors": errors})


@pytest.fixture
def hostile_processor() -> Iterator[str]:
    processors.register(HostileProcessor.name, HostileProcessor)
    yield HostileProcessor.name
    processors.unregister(HostileProcessor.name)


def test_every_processor_outcome_is_stored_with_clean_messages(
    run_chunks: Callable[..., list[JobChunk]],
    client: FlaskClient,
    alice: dict[str, str],
    hostile_processor: str,
) -> None:
    """Whatever the processor (not only pypdf's messages): the one writer cleans them."""
    rows = run_chunks(alice, blank_pdf(3), pages_per_chunk=1, processor=hostile_processor)
    assert [row.status for row in rows] == ["failed", "failed", "success"]
    assert [row.last_error_code for row in rows] == ["NO_TEXT", "PROCESSOR_ERROR", None]
    for row in rows[:2]:
        message = row.last_error or ""
        assert message.startswith(kind_of(row.last_error_code or "").title.rstrip("."))
        assert_inert(message, 80 + DETAIL_LIMIT)
    page_errors = (rows[2].result_json or {})["metadata"]["page_errors"]
    assert len(page_errors) == 2
    for page, reason in page_errors.items():
        assert_inert(page, 20)
        assert_inert(reason, DETAIL_LIMIT)
    # What the API serves is what is stored.
    listing = client.get(f"/api/v1/jobs/{rows[0].job_id}/chunks", headers=alice).get_json()
    assert [item["last_error"] for item in listing["items"]] == [r.last_error for r in rows]
    assert listing["items"][2]["page_errors"] == page_errors
    assert_error(client.get("/api/v1/jobs/nope/chunks", headers=alice), 404, "NOT_FOUND")

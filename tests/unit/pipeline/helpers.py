"""PDF builders shared by the pipeline tests."""

from __future__ import annotations

import io
from collections.abc import Sequence

from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from backend.pipeline.types import ChunkSpec


def text_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF with one page per item, each line of the item set on its own line."""
    pdf = FPDF(unit="mm", format=(148.0, 210.0))
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_font("Times", size=11)
    for lines in pages:
        pdf.add_page()
        for row, line in enumerate(lines):
            pdf.text(15, 20 + row * 6, line)
    return bytes(pdf.output())


def blank_pdf(page_count: int) -> bytes:
    writer = PdfWriter()
    for _ in range(page_count):
        writer.add_blank_page(width=420, height=595)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def chunk_pdf(pdf_bytes: bytes, spec: ChunkSpec) -> bytes:
    """The pages ``spec.read_start..read_end`` of ``pdf_bytes`` as a new PDF."""
    reader = PdfReader(io.BytesIO(pdf_bytes))
    writer = PdfWriter()
    for number in range(spec.read_start, spec.read_end + 1):
        writer.add_page(reader.pages[number - 1])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def whole(page_count: int) -> ChunkSpec:
    """The spec of a single chunk covering the whole document."""
    return ChunkSpec(0, 1, page_count, 1, page_count, 0)

"""A generated corpus of broken and hostile PDFs, each with the outcome Quire owes it.

Every file is built from raw PDF objects (``raw_pdf``) or from a real text PDF
damaged on purpose, so the corpus needs no binary fixtures and documents how
each file is broken.
"""

from __future__ import annotations

import io
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from pypdf import PdfWriter

from tests.unit.pipeline.helpers import text_pdf

_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def raw_pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF whose object N is ``objects[N-1]`` (stream bodies given whole), valid xref."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        xref,
    )
    return bytes(out)


def stream(data: bytes, extra: bytes = b"", compress: bool = False) -> bytes:
    if compress:
        data = zlib.compress(data, 9)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _page(contents: bytes, resources: bytes = b"<< /Font << /F1 4 0 R >> >>") -> bytes:
    return (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Resources "
        + resources
        + b" /Contents "
        + contents
        + b" >>"
    )


def _hello(text: bytes = b"Bonjour le monde. Une phrase lisible.") -> bytes:
    return stream(b"BT /F1 12 Tf 20 200 Td (" + text + b") Tj ET")


def book() -> bytes:
    """A healthy three-page text PDF, the raw material of the damaged ones."""
    return text_pdf(
        [
            ["Il était une fois une ville au bord de la mer."],
            ["Les pêcheurs partaient avant l'aube, chaque matin."],
            ["Le soir, ils rentraient avec des histoires à raconter."],
        ]
    )


def truncated() -> bytes:
    """The first 40 % of a real PDF: no xref, no trailer, pages cut off."""
    data = book()
    return data[: len(data) * 2 // 5]


def garbage_xref() -> bytes:
    """A valid PDF whose xref offsets all point at garbage (pypdf rebuilds the table)."""
    data = raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            _page(b"5 0 R"),
            _FONT,
            _hello(),
        ]
    )
    head, _, tail = data.partition(b"xref\n")
    lines = tail.split(b"\n")
    for i in range(2, 7):  # the entries of objects 1-5
        lines[i] = b"%010d 00000 n " % (999_999 + i)
    return head + b"xref\n" + b"\n".join(lines)


def cyclic_page_tree() -> bytes:
    """A page-tree node that lists itself among its kids."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            _page(b"5 0 R"),
            _FONT,
            _hello(),
        ]
    )


def deep_page_tree(depth: int = 5000) -> bytes:
    """A page tree nested ``depth`` levels deep above its single page."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        number = level + 2
        parent = b"" if level == 0 else b" /Parent %d 0 R" % (number - 1)
        objects.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1%s >>" % (number + 1, parent))
    page_no = depth + 2
    objects.append(
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 300 300] /Resources "
        b"<< /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
        % (page_no - 1, page_no + 1, page_no + 2)
    )
    objects += [_FONT, _hello()]
    return raw_pdf(objects)


def decompression_bomb(streams: int = 12, megabytes: int = 60) -> bytes:
    """One page drawing ``streams`` content streams of ``megabytes`` MB of spaces each.

    Each stream stays under pypdf's own 75 MB decompression cap; together they
    need far more memory (and time) than a parse may take.
    """
    blob = stream(b" " * (megabytes * 1024 * 1024), compress=True)
    refs = b" ".join(b"%d 0 R" % (5 + i) for i in range(streams))
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            _page(b"[" + refs + b"]"),
            _FONT,
            *([blob] * streams),
        ]
    )


def bogus_fonts() -> bytes:
    """Text shown with a font whose widths, encoding and ToUnicode map are nonsense."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            _page(b"5 0 R"),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Nowhere /FirstChar 300 /Widths 7 "
            b"/Encoding << /Differences [ /x 12 /y ] >> /ToUnicode 6 0 R >>",
            _hello(),
            stream(b"begincmap garbage <00> <zz> beginbfrange endcmap"),
        ]
    )


def zero_pages() -> bytes:
    """A well-formed document with an empty page tree."""
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def images_only() -> bytes:
    """Two pages that only paint an image (a scan): no text at all."""
    pixels = stream(
        b"\x80" * (8 * 8),
        b" /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8",
    )
    draw = stream(b"q 300 0 0 300 0 0 cm /Im1 Do Q")
    resources = b"<< /XObject << /Im1 5 0 R >> >>"
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
            _page(b"6 0 R", resources),
            _page(b"6 0 R", resources),
            pixels,
            draw,
        ]
    )


def _encrypted(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(book()))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_user_password() -> bytes:
    """AES-256, opening needs the user password."""
    return _encrypted("user-secret")


def encrypted_owner_password_only() -> bytes:
    """AES-256 with an empty user password: print/copy restrictions only, readable."""
    return _encrypted("")


def page_referenced_many_times(times: int = 20_000, declared: int | None = None) -> bytes:
    """One text page listed ``times`` times in its page tree (about 120 KB for 20,000).

    A reader sees ``times`` pages; with one page per chunk, as many chunks and tasks.
    ``declared``: the ``/Count`` the tree claims instead (a file that lies about it).
    """
    kids = b" ".join([b"3 0 R"] * times)
    count = times if declared is None else declared
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
            _page(b"5 0 R"),
            _FONT,
            _hello(),
        ]
    )


def pages_sharing_one_image(pages: int = 200, image_kb: int = 900) -> bytes:
    """``pages`` text pages that all draw one incompressible ``image_kb`` KB image.

    The file holds the image once; every chunk file must hold a copy of it.
    """
    side = int((image_kb * 1024) ** 0.5)
    pixels = random.Random(12).randbytes(side * side)  # noise: no filter shrinks it
    image = stream(
        pixels,
        b" /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8" % (side, side),
    )
    draw = stream(b"q 100 0 0 100 0 0 cm /Im1 Do Q BT /F1 12 Tf 20 200 Td (Une page.) Tj ET")
    resources = b"<< /Font << /F1 3 0 R >> /XObject << /Im1 4 0 R >> >>"
    first_page = 6
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        _FONT,
        image,
        draw,
    ]
    objects += [_page(b"5 0 R", resources) for _ in range(pages)]
    return raw_pdf(objects)


# Closes a double-quoted HTML attribute and adds one that runs when the element
# takes focus (which ``autofocus`` makes it do at once): the stored-XSS probe.
ATTRIBUTE_BREAKOUT = b'"> autofocus onfocus="window.__xss=1" x="'


def parser_message_injection(broken_pages: int = 3, readable_pages: int = 0) -> bytes:
    """Pages whose content stream makes pypdf's error message quote the stream itself.

    A stray ``)`` is an "Invalid Elementary Object", reported with the bytes
    after it: an :data:`ATTRIBUTE_BREAKOUT` there lands in the page's error, and
    from there in the chunk's ``last_error`` (every page broken: the chunk fails)
    or its ``page_errors`` (``readable_pages`` after them: the chunk succeeds).
    """
    broken = stream(b"BT /F1 12 Tf 20 200 Td (Bonjour) Tj ET )" + ATTRIBUTE_BREAKOUT)
    total = broken_pages + readable_pages
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(total))
    pages = [_page(b"3 0 R")] * broken_pages + [_page(b"4 0 R")] * readable_pages
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % total,
            broken,
            _hello(),
            *[page.replace(b"/F1 4 0 R", b"/F1 %d 0 R" % (5 + total)) for page in pages],
            _FONT,
        ]
    )


@dataclass(frozen=True)
class Hostile:
    """A generated file and what its job must end as: ``(status, error code or None)``."""

    name: str
    build: Callable[[], bytes]
    status: str
    code: str | None


HOSTILE = [
    Hostile("truncated", truncated, "failed", "INVALID_PDF"),
    Hostile("garbage-xref", garbage_xref, "completed", None),
    Hostile("cyclic-page-tree", cyclic_page_tree, "failed", "INVALID_PDF"),
    Hostile("deep-page-tree", deep_page_tree, "failed", "PDF_TOO_COMPLEX"),
    Hostile("decompression-bomb", decompression_bomb, "failed", "PDF_TOO_COMPLEX"),
    Hostile("bogus-fonts", bogus_fonts, "completed", None),
    Hostile("zero-pages", zero_pages, "failed", "INVALID_PDF"),
    Hostile("images-only", images_only, "failed", "NO_TEXT"),
    Hostile("encrypted-user-password", encrypted_user_password, "failed", "ENCRYPTED_PDF"),
    Hostile("encrypted-owner-only", encrypted_owner_password_only, "completed", None),
]

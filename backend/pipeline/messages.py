"""The one place where an error text from a parser or a processor is made safe to store.

A PDF controls much of what its parser says about it: a broken content stream
can make pypdf's message quote bytes of the file, and whatever is stored as a
chunk's ``last_error`` or in its ``page_errors`` is shown to the job's owner and
to operators (dashboard, CLI, API, exports). So a stored message is a fixed
sentence chosen by the error code, plus the parser's detail cut to
``DETAIL_LIMIT`` characters and reduced to printable text without the
characters that mean something to HTML or a shell (``<>"'`` and backticks).

Pure: no Flask, no database; the error-code titles are passed in by the caller.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

DETAIL_LIMIT = 200
ELLIPSIS = "…"

# Characters that open markup or end a quoted attribute, replaced by look-alikes
# that mean nothing to a browser or a shell ("l'image" stays readable as "l’image").
_LOOK_ALIKES = str.maketrans({"<": "‹", ">": "›", '"': "”", "'": "’", "`": "’"})


def clean_detail(text: object, limit: int = DETAIL_LIMIT) -> str:
    """``text`` as at most ``limit`` printable characters, on one line, markup-free.

    Control and format characters (newlines, NUL, bidi overrides, zero-width
    joiners…) become spaces, runs of spaces collapse to one, and ``<>"'```
    become typographic look-alikes. A cut text ends with ``…``.
    """
    raw = "" if text is None else str(text)
    printable = "".join(
        " " if ch.isspace() or unicodedata.category(ch).startswith("C") else ch for ch in raw
    )
    flat = " ".join(printable.translate(_LOOK_ALIKES).split())
    if len(flat) <= limit:
        return flat
    return flat[: max(limit - len(ELLIPSIS), 0)].rstrip() + ELLIPSIS


def error_message(title: str, detail: object = None, limit: int = DETAIL_LIMIT) -> str:
    """The message stored for a failure: the code's fixed ``title``, then its detail.

    ``"The file is not a readable PDF (page 3: text could not be extracted …)"``;
    the title alone when there is no detail. The title is ours (the error table);
    only the detail comes from the parser, so only the detail is bounded.
    """
    fixed = clean_detail(title, limit=limit)
    cleaned = clean_detail(detail, limit=limit)
    if not cleaned:
        return fixed
    return f"{fixed.rstrip('.')} ({cleaned})"


def clean_page_errors(page_errors: Mapping[object, object]) -> dict[str, str]:
    """A chunk's ``{"page": "reason"}`` diagnostics, every key and reason cleaned."""
    return {clean_detail(page, 20): clean_detail(reason) for page, reason in page_errors.items()}

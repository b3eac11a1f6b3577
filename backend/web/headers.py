"""Security headers on every response: a CSP per kind of answer, no sniffing, no framing.

The dashboard's origin holds the tokens (``sessionStorage``), so a script that
runs there is an account takeover: its pages get a policy that runs only our own
files (no inline script, no ``eval``, nothing from another host) and may be
framed by no one. Every other answer (JSON, downloads, the event stream) is
data, never a document: ``default-src 'none'`` makes a browser that opens one
directly run and load nothing from it.

A view that needs another policy sets its own header first; it is kept.
"""

from __future__ import annotations

from flask import Flask, Response

# What the pages need and nothing more: our scripts, styles and fetches, the
# data: images Swagger UI draws its icons with.
PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # frame-ancestors' predecessor, for browsers that ignore CSP.
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    """The ``after_request`` hook: fills in what the response did not set itself."""
    for name, value in ALWAYS.items():
        response.headers.setdefault(name, value)
    policy = PAGE_POLICY if response.mimetype == "text/html" else DATA_POLICY
    response.headers.setdefault("Content-Security-Policy", policy)
    return response


def register_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)

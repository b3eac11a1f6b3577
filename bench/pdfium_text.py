"""PDFium's bare text extraction: the baseline Quire's extraction is measured against.

``get_text_range`` on every page and nothing else (no geometry, no furniture,
no checks): the fastest a PDFium-based reader can be. The benches time it,
and the readability survey and tests read raw page texts with it.
"""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium


def plain_texts(source: bytes | Path) -> list[str]:
    """The text PDFium gives for every page of ``source``, in order."""
    document = pdfium.PdfDocument(str(source) if isinstance(source, Path) else source)
    try:
        texts = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()

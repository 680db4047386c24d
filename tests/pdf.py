"""A small, real PDF for the tests: intake parses every upload (pypdf), a bare `%PDF-` prefix
is refused."""

from __future__ import annotations

import io

from pypdf import PdfWriter


def tiny_pdf(title: str = "document") -> bytes:
    """One blank page; `title` in its metadata makes different documents different bytes."""
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

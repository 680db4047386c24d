"""The descriptive document (a PDF): checked, then kept in a JetStream object store bucket.

Objects are named by dossier and content hash, so storing the same bytes twice is harmless
and an object left behind by a refused or raced upload is never mistaken for the dossier's:
only a `DocumentUploaded` event makes a document the dossier's.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata

from litestar.exceptions import HTTPException, ValidationException
from nats.js import JetStreamContext
from pypdf import PdfReader

from aap_platform import objects
from aap_platform.objects import ObjectBucket

PDF = "application/pdf"
PDF_MAGIC = b"%PDF-"
MAX_BYTES_ENV = "AAP_MAX_DOCUMENT_BYTES"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def max_document_bytes(env: dict[str, str] | None = None) -> int:
    return int((os.environ if env is None else env).get(MAX_BYTES_ENV, DEFAULT_MAX_BYTES))


def bucket_name(call_id: str) -> str:
    return objects.bucket_name("aap_documents", call_id)


def too_large(limit: int) -> HTTPException:
    exc = HTTPException(status_code=413, detail=f"document trop volumineux : au plus {limit} octets")
    return exc


def check_pdf(content_type: str | None, body: bytes, limit: int) -> None:
    """415 for another content type, 413 beyond the limit, 422 when the bytes are no PDF."""
    if (content_type or "").split(";")[0].strip().lower() != PDF:
        raise HTTPException(
            status_code=415,
            detail="type de contenu non pris en charge : le document doit être envoyé en application/pdf",
        )
    if len(body) > limit:
        raise too_large(limit)
    if not body.startswith(PDF_MAGIC) or pdf_pages(body) < 1:
        raise ValidationException(
            "le document n'est pas un fichier PDF",
            status_code=422,
            extra=[{"field": "body", "message": "le contenu n'est pas un fichier PDF lisible"}],
        )


def pdf_pages(body: bytes) -> int:
    """The number of pages of the PDF as pypdf reads it (0: not a readable PDF)."""
    try:
        return len(PdfReader(io.BytesIO(body), strict=False).pages)
    except Exception:  # noqa: BLE001 — whatever the parser trips on, the document is refused
        return 0


_UNSAFE = re.compile(r"[^\w .()+-]")
MAX_FILENAME = 100


def safe_filename(name: str | None, default: str = "document.pdf") -> str:
    """The name reduced to a safe form: no folder, no control or special character, at most
    MAX_FILENAME characters, ending in .pdf."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = " ".join(_UNSAFE.sub("_", base).split()).lstrip(".")
    stem = base[:-4] if base.lower().endswith(".pdf") else base
    stem = stem[: MAX_FILENAME - 4].rstrip()
    return f"{stem}.pdf" if stem.strip("_ ") else default


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def object_name(dossier_id: str, digest: str) -> str:
    return f"{dossier_id}/{digest}.pdf"


class DocumentStore(ObjectBucket):
    """The call's bucket of applicants' documents."""

    def __init__(self, js: JetStreamContext, call_id: str, replicas: int = 1) -> None:
        super().__init__(js, bucket_name(call_id), replicas)

"""PDF receipts of signed consents, in the signer's language (WeasyPrint)."""

import hashlib

from django.template.loader import render_to_string
from django.utils import translation


def text_sha256(text: str) -> str:
    """The hash of the exact text shown to the signer (UTF-8, as stored)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def receipt_render(*, consent, patient, title: str, text: str) -> bytes:
    from weasyprint import HTML

    with translation.override(consent.language):
        html = render_to_string(
            "consent/receipt.html",
            {"consent": consent, "patient": patient, "title": title, "text": text, "language": consent.language},
        )
    return HTML(string=html).write_pdf()

"""Which files a complainant may send: an allow-list of types and a size limit."""

from __future__ import annotations

from services.intake.draft import Attachment
from shared.problems import Problem
from shared.settings import Settings

# Known by their first bytes, so a renamed executable is not taken for a PDF.
MAGIC = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}


class AttachmentRefused(Problem):
    """415 for a type not on the list, 413 for a file over the limit."""


def media_type(declared: str) -> str:
    """The bare media type, without parameters ("audio/ogg; codecs=opus" → "audio/ogg")."""
    return declared.split(";", 1)[0].strip().lower()


def check(settings: Settings, attachment: Attachment) -> Attachment:
    """The attachment with its checked type; AttachmentRefused if it may not be kept."""
    declared = media_type(attachment.content_type)
    if attachment.content is not None:
        if attachment.size > settings.max_attachment_bytes:
            raise AttachmentRefused(
                413,
                f"Lampiran '{attachment.filename}' melebihi batas "
                f"{settings.max_attachment_bytes} byte.",
                code="attachment-too-large",
            )
        sniffed = next(
            (kind for magic, kind in MAGIC.items() if attachment.content.startswith(magic)), None
        )
        if declared in MAGIC.values() and sniffed != declared:
            declared = "application/octet-stream"  # claims a type its bytes are not
    if declared not in settings.attachment_types:
        allowed = ", ".join(settings.attachment_types)
        raise AttachmentRefused(
            415,
            f"Jenis lampiran '{declared}' tidak diizinkan. Yang diizinkan: {allowed}.",
            code="attachment-type",
        )
    return Attachment(
        filename=attachment.filename,
        content_type=declared,
        content=attachment.content,
        reference=attachment.reference,
        caption=attachment.caption,
    )

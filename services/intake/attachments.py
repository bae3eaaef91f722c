"""Which files a complainant may send: allowed types (decided from content), a size limit."""

from __future__ import annotations

from services.intake.draft import Attachment, Refusal
from shared.filetypes import decide, media_type, safe_filename, type_names
from shared.problems import Problem
from shared.settings import Settings
from shared.text import megabytes


class AttachmentRefused(Problem):
    """415 for a type not on the list, 413 for a file over the limit, 422 for an empty one."""


def check(settings: Settings, attachment: Attachment) -> Attachment:
    """The attachment with its type decided from its bytes; AttachmentRefused if it may not be
    kept. A reference (chat media not downloaded) is kept by its declared type."""
    declared = media_type(attachment.content_type)
    allowed = ", ".join(type_names(settings.attachment_types))
    name = safe_filename(attachment.filename)  # as shown and downloaded: nothing reordered
    if attachment.content is not None:
        if not attachment.content:  # nothing to see: a file that failed to copy, a mistake
            raise AttachmentRefused(
                422, f"Lampiran '{name}' kosong (0 byte).", code="attachment-empty"
            )
        if attachment.size > settings.max_attachment_bytes:
            raise AttachmentRefused(
                413,
                f"Lampiran '{name}' melebihi batas {megabytes(settings.max_attachment_bytes)}.",
                code="attachment-too-large",
            )
        sniffed = decide(attachment.content, declared, settings.attachment_types)
        if sniffed is None:
            raise AttachmentRefused(
                415,
                f"Lampiran '{name}' tidak diizinkan: isinya bukan jenis berkas "
                f"yang diterima. Yang diizinkan: {allowed}.",
                code="attachment-type",
            )
        declared = sniffed
    elif declared not in settings.attachment_types:
        raise AttachmentRefused(
            415,
            f"Jenis lampiran '{declared}' tidak diizinkan. Yang diizinkan: {allowed}.",
            code="attachment-type",
        )
    return Attachment(
        filename=name,
        content_type=declared,
        content=attachment.content,
        reference=attachment.reference,
        caption=attachment.caption,
    )


def screen(
    settings: Settings, attachments: tuple[Attachment, ...]
) -> tuple[tuple[Attachment, ...], tuple[Refusal, ...]]:
    """The attachments that may be kept (type decided) and the refused ones with their reason:
    one refused file never costs the rest of a message."""
    kept, refused = [], []
    for attachment in attachments:
        try:
            kept.append(check(settings, attachment))
        except AttachmentRefused as problem:
            refused.append(
                Refusal(
                    filename=safe_filename(attachment.filename),
                    content_type=media_type(attachment.content_type),
                    code=problem.code or "attachment-type",
                    reason=problem.detail,
                )
            )
    return tuple(kept), tuple(refused)

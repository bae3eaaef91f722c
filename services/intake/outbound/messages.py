"""What we say to the complainant (Bahasa Indonesia), and to whom: composed from the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.intake.attachments import accepted
from services.intake.submission import Submission
from shared.channels import Channel
from shared.settings import Settings
from shared.sop import Kind
from shared.vocabulary import TOLD


@dataclass(frozen=True)
class Outgoing:
    """One message to send: where, to whom, what."""

    channel: Channel
    case_id: UUID
    tracking_code: str
    to: str
    subject: str
    text: str
    closed: bool
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...] = ()  # the whole chain, oldest first (mail only)


def _noun(submission: Submission) -> str:
    return "Konsultasi" if submission.received.kind == Kind.CONSULTATION else "Pengaduan"


def _receipt(settings: Settings, submission: Submission, code: str) -> str:
    track = f"{settings.public_url.rstrip('/')}/reporting/v1/track/{code}"
    text = (
        f"Terima kasih. {_noun(submission)} Anda telah kami terima dengan nomor tiket {code}. "
        f"Pantau perkembangannya di {track}"
    )
    if submission.received.channel in (Channel.WHATSAPP, Channel.INSTAGRAM):
        minutes = settings.conversation_window_minutes
        text += (
            f"\n\nPesan Anda berikutnya dalam {minutes} menit kami gabungkan ke tiket ini. "
            "Kirim BARU untuk memulai pengaduan baru."
        )
    return text


WHY = {
    "attachment-too-large": "terlalu besar",
    "attachment-type": "jenis berkasnya tidak kami terima",
}
"""Why a file was refused, by the refusal's code, as the complainant is told."""


def refusals(settings: Settings, details: dict[str, Any]) -> list[str]:
    """The files of a message that could not be kept, by name and why, and what may be sent
    instead (empty: none refused). Mail, WhatsApp and Instagram say it in these words."""
    refused = [r for r in details.get("refused") or [] if isinstance(r, dict)]
    if not refused:
        return []
    names = "; ".join(
        f"{r.get('filename')} ({WHY.get(str(r.get('code')), WHY['attachment-type'])})"
        for r in refused
    )
    return [
        f"Lampiran berikut tidak dapat kami terima: {names}. Berkas yang kami terima: "
        f"{accepted(settings)}. Silakan kirim ulang dalam salah satu jenis itu."
    ]


def unreadable(submitted: dict[str, Any]) -> list[str]:
    """What the receipt says of a message that could not be read fully."""
    if not submitted.get("unreadable"):
        return []
    return [
        "Sebagian isi pesan Anda tidak dapat kami baca; petugas kami akan memeriksanya. "
        "Bila perlu, kirim ulang isinya sebagai teks biasa dengan membalas pesan ini."
    ]


def text_of(
    settings: Settings,
    submission: Submission,
    purpose: str,
    details: dict[str, Any],
    submitted: dict[str, Any] | None = None,
) -> tuple[str, bool]:
    """The words of a delivery and whether it closes the case (`submitted`: the submission's
    opened payload, for what the receipt says about the message itself)."""
    code = submission.received.tracking_code
    if purpose == "receipt":
        said = [
            _receipt(settings, submission, code),
            *refusals(settings, details),
            *unreadable(submitted or {}),
        ]
        return "\n\n".join(said), False
    if purpose == "refusal":
        said = [f"Pesan tambahan Anda untuk {_noun(submission).lower()} {code} telah kami terima."]
        return "\n\n".join([*said, *refusals(settings, details)]), False
    event = str(details.get("event", ""))
    if purpose == "closure":
        text = f"{_noun(submission)} Anda ({code}) {TOLD.get(event, 'telah selesai')}."
        if details.get("answer"):
            text += f"\n\nJawaban: {details['answer']}"
        return text, True
    words = TOLD.get(event, "sedang diproses")
    return f"{_noun(submission)} {code} {words}.", False


def recipient(submission: Submission, contact: dict[str, Any] | None) -> str | None:
    """Where the channel delivers: the mail address, the chat account, LAPOR!'s tracking id."""
    channel = submission.received.channel
    if channel == Channel.LAPOR:
        return submission.received.channel_message_id
    if contact is None:
        return None
    field = {Channel.EMAIL: "email", Channel.WHATSAPP: "account", Channel.INSTAGRAM: "account"}
    name = field.get(Channel(channel))
    value = contact.get(name) if name else None
    return str(value) if value else None

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
    "attachment-type": "jenis berkasnya tidak kami terima",
    "attachment-too-large": "ukurannya melebihi batas",
}


def refusals(settings: Settings, details: dict[str, Any]) -> str:
    """The files of a message that could not be kept, by name, and what may be sent instead."""
    refused = details.get("refused") or []
    if not refused:
        return ""
    lines = [
        f"- {r.get('filename')}: {WHY.get(r.get('code'), WHY['attachment-type'])}" for r in refused
    ]
    megabytes = settings.max_attachment_bytes // (1024 * 1024)
    return (
        "Berkas berikut tidak dapat kami terima:\n"
        + "\n".join(lines)
        + f"\nBerkas yang kami terima: {accepted(settings)}, paling besar {megabytes} MB. "
        "Silakan kirim ulang dalam salah satu jenis itu."
    )


def text_of(
    settings: Settings, submission: Submission, purpose: str, details: dict[str, Any]
) -> tuple[str, bool]:
    """The words of a delivery and whether it closes the case."""
    code = submission.received.tracking_code
    if purpose == "receipt":
        told = refusals(settings, details)
        return "\n\n".join(p for p in (_receipt(settings, submission, code), told) if p), False
    if purpose == "refusal":
        return f"{_noun(submission)} {code}: {refusals(settings, details)}", False
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

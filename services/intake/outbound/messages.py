"""What we say to the complainant (Bahasa Indonesia), on which channel and to whom.

Composed from the store when a delivery is sent, never kept in clear: a delivery row holds
only its purpose and, sealed with the submission's key, what the event said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.intake.submission import Submission
from shared.channels import Channel
from shared.filetypes import type_names
from shared.office_texts import OfficeTexts
from shared.receipts import tracking_link
from shared.settings import Settings
from shared.sop import Kind
from shared.text import megabytes
from shared.vocabulary import NOTIFIED, TOLD

ANSWERING = frozenset({Channel.EMAIL, Channel.WHATSAPP, Channel.INSTAGRAM, Channel.LAPOR})
"""The channels that answer the complainant where they wrote."""

PRIVATE = frozenset({Channel.EMAIL, Channel.WHATSAPP, Channel.INSTAGRAM})
"""The channels only the complainant reads: their messages carry the receipt secret
(an SP4N-LAPOR! follow-up may be public on LAPOR!, so it links the public status only)."""

ADDRESS_FIELD = {Channel.EMAIL: "email", Channel.WHATSAPP: "account", Channel.INSTAGRAM: "account"}
"""Which field of the sealed contact a channel delivers to."""


@dataclass(frozen=True)
class Purpose:
    """One kind of message: its label for officers, its mail subject, the words of its
    template parameter (what happened), and whether it tells of a closed case."""

    label: str
    subject: str
    happened: str
    closes: bool = False


PURPOSES: dict[str, Purpose] = {
    "receipt": Purpose("Tanda terima", "Pengaduan Anda telah kami terima", "telah kami terima"),
    "information_request": Purpose(
        "Permintaan informasi",
        "Petugas memerlukan informasi tambahan",
        "memerlukan informasi tambahan dari Anda",
    ),
    "closure": Purpose("Jawaban", "Pengaduan Anda telah selesai", "telah selesai", closes=True),
    "reopening": Purpose(
        "Dibuka kembali", "Pengaduan Anda dibuka kembali", "dibuka kembali untuk ditangani ulang"
    ),
    "follow_up": Purpose("Perkembangan", "Perkembangan pengaduan Anda", "sedang diproses"),
    "refusal": Purpose(
        "Lampiran tidak diterima",
        "Lampiran Anda tidak dapat kami terima",
        "memiliki lampiran yang tidak dapat kami terima",
    ),
}
"""Every message the complainant can be sent, by the purpose stored on its delivery."""


def purpose_of(event: str, channel: Channel, *, progress: bool) -> str | None:
    """Which message a workflow event sends (None: none); every step's progress on LAPOR!."""
    if event in NOTIFIED:
        return NOTIFIED[event]
    return "follow_up" if progress and channel is Channel.LAPOR else None


def told_on(channel: Channel, contact: Mapping[str, Any] | None) -> Channel | None:
    """The channel the complainant hears on: the one they wrote by if it answers, else email
    if they left an address (web form, officer-recorded); None: nobody to tell."""
    if channel in ANSWERING:
        return channel
    return Channel.EMAIL if contact and contact.get("email") else None


def recipient(
    channel: Channel, submission: Submission, contact: Mapping[str, Any] | None
) -> str | None:
    """Where `channel` delivers: the complainant's own address or account, LAPOR!'s id."""
    if channel is Channel.LAPOR:
        return submission.received.channel_message_id
    name = ADDRESS_FIELD.get(channel)
    value = contact.get(name) if contact and name else None
    return str(value) if value else None


@dataclass(frozen=True)
class Outgoing:
    """One message to send: where, to whom, what (a template's parameters too)."""

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
    link: str = ""
    happened: str = ""
    free_text: bool = True  # False: outside a chat's 24-hour window (WhatsApp: a template)
    agency: str = ""  # the agency that has the case now (it sends, under its own address)
    origin: str = ""  # sent from: the agency's own number, account id or mailbox ("" default)
    origin_name: str = ""  # the agency's name, for a mail's From


def _noun(submission: Submission) -> str:
    return "Konsultasi" if submission.received.kind == Kind.CONSULTATION else "Pengaduan"


def _receipt(settings: Settings, submission: Submission, link: str, secret: str | None) -> str:
    code = submission.received.tracking_code
    text = f"Terima kasih. {_noun(submission)} Anda telah kami terima dengan nomor tiket {code}."
    if secret:
        text += (
            f"\nKunci pelacakan: {secret} (rahasiakan). Dengan nomor tiket, kunci ini membuka "
            "tanggapan petugas dan formulir balasan untuk Anda."
        )
    text += f"\nPantau perkembangannya di {link}"
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
    "attachment-empty": "kosong (0 byte)",
}
"""Why a file was refused, by the refusal's code, as the complainant is told."""


def accepted(settings: Settings) -> str:
    """The files a complainant may send, as they read them: "PDF, JPEG, …, paling besar
    10 MB per berkas"."""
    labels = type_names(settings.attachment_types)
    size = megabytes(settings.max_attachment_bytes)
    return f"{', '.join(dict.fromkeys(labels))}, paling besar {size} per berkas"


def refusals(settings: Settings, details: Mapping[str, Any]) -> list[str]:
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


def unreadable(submitted: Mapping[str, Any]) -> list[str]:
    """What the receipt says of a message that could not be read fully."""
    if not submitted.get("unreadable"):
        return []
    return [
        "Sebagian isi pesan Anda tidak dapat kami baca; petugas kami akan memeriksanya. "
        "Bila perlu, kirim ulang isinya sebagai teks biasa dengan membalas pesan ini."
    ]


def happened(purpose: str, details: Mapping[str, Any]) -> str:
    """What happened, in a few words ("telah selesai ditangani"): a template's parameter."""
    default = PURPOSES.get(purpose, PURPOSES["follow_up"]).happened
    return TOLD.get(str(details.get("event", "")), default)


QUOTED = {"closure": "answer", "information_request": "message"}
"""The office's text a message quotes: the answer, what the complainant is asked."""


def in_clear(purpose: str, details: Mapping[str, Any], texts: OfficeTexts | None) -> dict[str, Any]:
    """A delivery's details with the office's text as written (workflow's clear texts), for
    the complainant's own channel; as they are (masked) when workflow could not say."""
    field = QUOTED.get(purpose)
    clear = getattr(texts, field) if texts is not None and field else None
    if field is None or not clear or (field == "answer" and not details.get(field)):
        return dict(details)
    return {**details, field: clear}


def text_of(
    submission: Submission,
    purpose: str,
    details: Mapping[str, Any],
    link: str,
    *,
    own_view: bool,
) -> str:
    """The words of a delivery other than the receipt. `own_view`: a channel only the
    complainant reads (the link opens their own view), which also quotes the office's request;
    the dispatcher puts the office's texts there in clear (`in_clear`)."""
    code, noun = submission.received.tracking_code, _noun(submission)
    if purpose == "information_request":
        how = (
            f"Baca permintaannya dan kirim jawaban Anda di {link}"
            if own_view
            else f"Sampaikan informasinya dengan menyebut nomor tiket {code}; pantau di {link}"
        )
        asked = (
            f"\n\nPesan petugas: {details['message']}"
            if own_view and details.get("message")
            else ""
        )
        return (
            f"Petugas memerlukan informasi tambahan untuk {noun.lower()} {code}. Waktu "
            f"penyelesaian dihentikan sampai informasi Anda kami terima.{asked}\n{how}"
        )
    text = f"{noun} Anda ({code}) {happened(purpose, details)}."
    if details.get("answer"):
        text += f"\n\nJawaban: {details['answer']}"
    if purpose == "reopening":
        text += " Kami akan mengabari Anda lagi."
    return f"{text}\n\nLihat perkembangannya di {link}"


def compose(
    settings: Settings,
    submission: Submission,
    purpose: str,
    details: Mapping[str, Any],
    secret: str | None,
    submitted: Mapping[str, Any] | None = None,
) -> tuple[str, str]:
    """The text of a delivery and the /lacak link in it (with the secret when given).
    `submitted`: the submission's opened payload, for what the receipt says of the message
    itself; the files refused are in the delivery's `details`."""
    code = submission.received.tracking_code
    link = tracking_link(settings.public_url, settings.tracking_page_path, code, secret)
    if purpose == "receipt":
        said = [
            _receipt(settings, submission, link, secret),
            *refusals(settings, details),
            *unreadable(submitted or {}),
        ]
        return "\n\n".join(said), link
    if purpose == "refusal":
        said = [f"Pesan tambahan Anda untuk {_noun(submission).lower()} {code} telah kami terima."]
        return "\n\n".join([*said, *refusals(settings, details)]), link
    return text_of(submission, purpose, details, link, own_view=secret is not None), link

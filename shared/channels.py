"""The channels a submission can arrive by: ids are stored, labels are for people."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """Every channel the office takes complaints and consultations by."""

    WEB = "web"
    QR = "qr"
    LETTER = "letter"
    PHONE = "phone"
    COUNTER = "counter"
    SUGGESTION_BOX = "suggestion_box"
    SMS = "sms"
    EMAIL = "email"
    WHATSAPP = "whatsapp"
    INSTAGRAM = "instagram"
    LAPOR = "lapor"
    OPEN311 = "open311"
    IMPORT = "import"


CHANNEL_LABELS: dict[Channel, str] = {
    Channel.WEB: "Situs web",
    Channel.QR: "Quick Response (QR)",
    Channel.LETTER: "Surat",
    Channel.PHONE: "Telepon",
    Channel.COUNTER: "Loket pengaduan",
    Channel.SUGGESTION_BOX: "Kotak saran",
    Channel.SMS: "SMS",
    Channel.EMAIL: "Email",
    Channel.WHATSAPP: "WhatsApp",
    Channel.INSTAGRAM: "Instagram",
    Channel.LAPOR: "SP4N-LAPOR!",
    Channel.OPEN311: "Open311 (aplikasi mitra)",
    Channel.IMPORT: "Register lama (impor)",
}

OFFICER_RECORDED: frozenset[Channel] = frozenset(
    {Channel.LETTER, Channel.PHONE, Channel.COUNTER, Channel.SUGGESTION_BOX, Channel.SMS}
)

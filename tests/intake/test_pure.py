"""The pure parts of intake: Meta's signature, keyed hashes, reading mail."""

from __future__ import annotations

import pytest

from services.intake.channels.meta import BadSignature, signature, verify
from services.intake.mail import html_to_text, read
from services.intake.outbound.messages import purpose_of, told_on
from services.intake.pseudonyms import Pseudonyms
from shared.channels import Channel


def test_the_signature_matches_metas_published_vector() -> None:
    expected = "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    assert signature("secret", b"test") == f"sha256={expected}"
    verify("secret", b"test", f"sha256={expected}")
    with pytest.raises(BadSignature):
        verify("secret", b"test!", f"sha256={expected}")
    with pytest.raises(BadSignature):
        verify("", b"test", signature("", b"test"))


def test_one_phone_number_written_three_ways_is_one_hash() -> None:
    hashes = Pseudonyms(b"k")
    forms = ["+62 812-3456-7890", "0812 3456 7890", "+6281234567890"]
    assert len({hashes.of("phone", form) for form in forms}) == 1
    assert hashes.of("email", "Siti@Example.ID") == hashes.of("email", "siti@example.id")
    assert Pseudonyms(b"other").of("phone", forms[0]) != hashes.of("phone", forms[0])
    assert "81234567890" not in hashes.of("phone", forms[0])


def test_html_mail_reads_as_text_without_scripts() -> None:
    html = "<div>Halo,</div><p>Izin <b>saya</b> belum&nbsp;selesai.</p><script>alert(1)</script>"
    assert html_to_text(html) == "Halo,\nIzin saya belum selesai."


def test_a_mail_without_message_id_is_known_by_its_content() -> None:
    raw = b"From: A <a@b.id>\r\nSubject: x\r\n\r\nisi\r\n"
    assert read(raw).message_id == read(raw).message_id
    assert read(raw).message_id != read(raw + b"lain").message_id
    assert read(raw).sender == "a@b.id"


@pytest.mark.parametrize(
    ("channel", "contact", "told"),
    [
        (Channel.WHATSAPP, {"account": "6281"}, Channel.WHATSAPP),
        (Channel.LAPOR, None, Channel.LAPOR),
        (Channel.WEB, {"email": "siti@example.id"}, Channel.EMAIL),
        (Channel.LETTER, {"email": "siti@example.id"}, Channel.EMAIL),
        (Channel.WEB, {"phone": "+6281"}, None),
        (Channel.QR, None, None),
    ],
)
def test_the_complainant_is_told_on_their_channel_else_by_email(
    channel: Channel, contact: dict[str, str] | None, told: Channel | None
) -> None:
    assert told_on(channel, contact) == told


def test_the_events_told_are_the_request_the_answers_and_the_reopening() -> None:
    assert purpose_of("InformationRequested", Channel.WEB, progress=False) == "information_request"
    assert purpose_of("CaseReopened", Channel.EMAIL, progress=False) == "reopening"
    assert purpose_of("ResolvedDirectly", Channel.WEB, progress=True) == "closure"
    assert purpose_of("CaseRejected", Channel.WEB, progress=False) == "closure"
    assert purpose_of("DisposisiIssued", Channel.WEB, progress=True) is None
    assert purpose_of("DisposisiIssued", Channel.LAPOR, progress=True) == "follow_up"
    assert purpose_of("NoteAdded", Channel.LAPOR, progress=False) is None

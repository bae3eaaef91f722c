"""The pure parts of intake: Meta's signature, keyed hashes, reading mail, amending a message,
reading a flow reply, screening files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.intake.attachments import screen
from services.intake.channels.cloud_api import Content
from services.intake.channels.cloud_api import read as read_content
from services.intake.channels.meta import BadSignature, signature, verify
from services.intake.draft import Attachment, Refusal
from services.intake.mail import read
from services.intake.mail_text import html_to_text
from services.intake.outbound.messages import PURPOSES, WHY, compose, purpose_of, told_on
from services.intake.pseudonyms import Pseudonyms
from services.intake.submission import Received, Submission
from shared.channels import Channel
from shared.settings import Settings


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


def test_one_nik_typed_in_any_digits_is_one_hash() -> None:
    hashes = Pseudonyms(b"k")
    forms = [
        "3525011201850003",
        "\uff13\uff15\uff12\uff15\uff10\uff11\uff11\uff12\uff10\uff11\uff18\uff15\uff10\uff10\uff10\uff13",
    ]
    forms.append("".join(chr(0x0660 + int(digit)) for digit in forms[0]))  # Arabic-Indic
    assert len({hashes.of("nik", form) for form in forms}) == 1


def test_html_mail_reads_as_text_without_scripts() -> None:
    html = "<div>Halo,</div><p>Izin <b>saya</b> belum&nbsp;selesai.</p><script>alert(1)</script>"
    assert html_to_text(html) == "Halo,\nIzin saya belum selesai."


def test_a_mail_without_message_id_is_known_by_its_content() -> None:
    raw = b"From: A <a@b.id>\r\nSubject: x\r\n\r\nisi\r\n"
    assert read(raw).message_id == read(raw).message_id
    assert read(raw).message_id != read(raw + b"lain").message_id
    assert read(raw).sender == "a@b.id"


def _submission(channel: str = "whatsapp") -> Submission:
    received = Received(
        kind="complaint",
        channel=channel,
        channel_message_id="wamid.1",
        tracking_code="ABCD-EFGH",
        agency="dpmptsp",
        received_at=datetime.now(UTC),
        category=None,
        anonymous=False,
        confidential=False,
        personal_ref=uuid4(),
        sealed="sealed",
    )
    return Submission.receive(id=uuid4(), received=received)


def test_only_a_message_of_the_submission_can_be_amended() -> None:
    submission, now = _submission(), datetime.now(UTC)
    submission.add_message(message_id="wamid.2", received_at=now, sealed="s", attachments=0)
    submission.amend(message_id="wamid.3", amends="wamid.1", received_at=now, sealed="baru")
    submission.amend(message_id="wamid.4", amends="wamid.2", received_at=now, sealed=None)
    with pytest.raises(ValueError, match="no message"):
        submission.amend(message_id="wamid.5", amends="wamid.3", received_at=now, sealed=None)
    events = [type(e).__name__ for e in submission.collect_events()]
    assert events == ["ComplaintReceived", "MessageAdded", "MessageEdited", "MessageWithdrawn"]


def test_a_flow_reply_reads_as_its_answers_without_the_token() -> None:
    response = {"flow_token": "rahasia", "nama_izin": "PBG", "lampiran": ["KTP", "NIB"]}
    reply = {"name": "flow", "body": "Sent", "response_json": json.dumps(response)}
    message = {"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": reply}}
    text, data = read_content(Content.model_validate(message))
    assert text == "[Formulir]\nnama_izin: PBG\nlampiran: KTP, NIB"
    assert data == {"form": {"nama_izin": "PBG", "lampiran": ["KTP", "NIB"]}, "name": "flow"}
    assert "rahasia" not in json.dumps(data)


def test_files_are_screened_one_by_one() -> None:
    settings = Settings()
    pdf = Attachment("surat.pdf", "application/pdf", content=b"%PDF-1.4\n")
    exe = Attachment("foto.jpg", "image/jpeg", content=b"MZ\x90\x00")
    big = Attachment("besar.pdf", "application/pdf", content=b"%PDF" + b"0" * 11 * 1024 * 1024)
    empty = Attachment("kosong.txt", "text/plain", content=b"")
    kept, refused = screen(settings, (pdf, exe, big, empty))
    assert [a.filename for a in kept] == ["surat.pdf"]
    assert [(r.filename, r.code) for r in refused] == [
        ("foto.jpg", "attachment-type"),
        ("besar.pdf", "attachment-too-large"),
        ("kosong.txt", "attachment-empty"),
    ]
    assert {r.code for r in refused} <= WHY.keys()  # each said to the complainant
    # Said as people read them: the types by name, the size in MB (MIME types and bytes were).
    said = {r.code: r.reason for r in refused}
    assert "PDF, JPEG, PNG" in said["attachment-type"]
    assert "application/" not in said["attachment-type"]
    assert said["attachment-too-large"].endswith("melebihi batas 10 MB.")


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


@pytest.mark.parametrize("channel", ["email", "whatsapp", "instagram"])
def test_a_refused_file_is_named_in_the_same_words_on_every_channel(channel: str) -> None:
    settings = Settings()
    submission = _submission(channel)
    refusal = Refusal("ktp.heic", "image/heic", "attachment-type", "jenis berkas tidak diizinkan")
    details = {"refused": [refusal.listed()]}
    receipt, _ = compose(settings, submission, "receipt", details, None)
    notice, _ = compose(settings, submission, "refusal", details, None)
    named = (
        "Lampiran berikut tidak dapat kami terima: ktp.heic (jenis berkasnya tidak kami terima). "
        "Berkas yang kami terima: PDF, JPEG, PNG"
    )
    assert named in receipt
    assert named in notice
    assert "paling besar 10 MB per berkas" in notice
    assert "ABCD-EFGH" in notice
    assert "refusal" in PURPOSES
    plain, _ = compose(settings, submission, "receipt", {}, None)
    assert "Lampiran" not in plain

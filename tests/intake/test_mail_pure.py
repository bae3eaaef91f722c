"""Reading mail as it really comes (pure): malformed mail, machine mail, forwards, encodings."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from services.intake.mail import read
from services.intake.mail_kinds import MailKind, table
from shared.tracking_code import new_code

PDF = b"%PDF-1.4\n" + b"0" * 100

MALFORMED = (
    b"From: =?x-bogus-8?Q?Siti=E9?= <<siti@@example..id\r\n"
    b"To: pengaduan@dpmptsp-gresik.example.go.id\r\n"
    b"Subject: =?x-bogus-8?Q?Izin_usaha?= belum selesai\r\n"
    b"Date: kemarin sore\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="BATAS"\r\n\r\n'
    b"--BATAS\r\n"
    b"Content-Type: text/plain; charset=x-bogus-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Izin usaha saya belum selesai setelah tiga minggu, caf\xe9 saya tutup.\r\n"
    b"--BATAS\r\n"
    b"Content-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="berkas.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    b"JVBERi0xLjQKMDAw\r\n"
)  # an unknown charset, a broken From, no Message-ID, an unclosed boundary


def mail(text: str = "Izin saya belum selesai.", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Siti Aminah <siti.aminah@example.id>"
    message["Subject"] = headers.pop("Subject", "Pengaduan izin usaha")
    message["Message-ID"] = "<asli-1@example.id>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message.as_bytes(policy=policy.SMTP)


def test_the_docs_carry_the_codes_table_of_mail_kinds() -> None:
    docs = Path(__file__).parents[2] / "docs" / "channels.md"
    assert table() in docs.read_text()


def test_a_malformed_mail_is_read_as_far_as_it_goes_and_marked() -> None:
    read_ = read(MALFORMED)
    assert read_.kind == MailKind.UNREADABLE
    assert read_.text == "Izin usaha saya belum selesai setelah tiga minggu, café saya tutup."
    assert read_.subject == "Izin usaha belum selesai"
    assert read_.sender == ""
    assert [a.filename for a in read_.attachments] == ["berkas.pdf"]
    assert read_.raw == MALFORMED
    reasons = " ".join(read_.problems)
    for said in ("x-bogus-8", "pengirim", "batas bagian MIME tidak ditutup"):
        assert said in reasons
    assert read_.message_id == read(MALFORMED).message_id  # its content is its identity


@pytest.mark.parametrize("cut", range(0, len(MALFORMED), 17))
def test_reading_never_raises_whatever_is_cut_off(cut: int) -> None:
    assert read(MALFORMED[:cut] + b"\xff\x00--BATAS--\r\n").message_id


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Auto_Submitted": "auto-replied"}, MailKind.AUTO_REPLY),
        ({"Auto_Submitted": "auto-generated"}, MailKind.AUTO_REPLY),
        ({"X_Autoreply": "yes"}, MailKind.AUTO_REPLY),
        ({"X_Autorespond": "Out of office"}, MailKind.AUTO_REPLY),
        ({"Precedence": "auto_reply"}, MailKind.AUTO_REPLY),
        ({"Precedence": "bulk"}, MailKind.LIST),
        ({"Precedence": "junk"}, MailKind.LIST),
        ({"List_Id": "<warga.lists.example.id>"}, MailKind.LIST),
        ({"List_Unsubscribe": "<mailto:keluar@example.id>"}, MailKind.LIST),
        ({"Return_Path": "<>"}, MailKind.BOUNCE),
        ({"Return_Path": "<>", "Auto_Submitted": "auto-replied"}, MailKind.BOUNCE),
        ({"X_Failed_Recipients": "warga@example.id"}, MailKind.BOUNCE),
        ({"Auto_Submitted": "no"}, MailKind.NEW),
        ({"Subject": "Out of office: Pengaduan"}, MailKind.NEW),
        ({"Subject": "Automatic reply: x", "X_Auto_Response_Suppress": "All"}, MailKind.AUTO_REPLY),
    ],
)  # fmt: skip
def test_machine_mail_is_told_by_its_headers(headers: dict[str, str], kind: MailKind) -> None:
    assert read(mail(**headers)).kind == kind


def test_a_delivery_status_notification_is_a_bounce() -> None:
    report = EmailMessage()
    report["From"] = "Mail Delivery System <postmaster@example.id>"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.set_content("Pesan Anda tidak dapat dikirim.")
    report.make_mixed()
    report.replace_header(
        "Content-Type", 'multipart/report; report-type=delivery-status; boundary="b"'
    )
    assert read(report.as_bytes(policy=policy.SMTP)).kind == MailKind.BOUNCE


def test_a_forward_as_attachment_keeps_the_inner_mail() -> None:
    inner = EmailMessage()
    inner["From"] = "Budi Santoso <budi@example.id>"
    inner["Subject"] = "IMB rumah saya"
    inner["Date"] = "Mon, 23 Nov 2026 08:00:00 +0700"
    inner.set_content("IMB saya ditolak tanpa alasan.")
    inner.add_attachment(PDF, maintype="application", subtype="pdf", filename="imb.pdf")
    outer = EmailMessage()
    outer["From"] = "Kantor Desa <desa@example.id>"
    outer["Subject"] = "Fwd: IMB rumah saya"
    outer.set_content("Kami teruskan pengaduan warga.")
    outer.add_attachment(inner)
    read_ = read(outer.as_bytes(policy=policy.SMTP))
    assert read_.kind == MailKind.FORWARD
    assert read_.text.startswith("Kami teruskan pengaduan warga.\n\n---------- Pesan terusan")
    for said in ("Dari: Budi Santoso <budi@example.id>", "Subjek: IMB rumah saya", "ditolak"):
        assert said in read_.text
    assert [(a.filename, a.content) for a in read_.attachments] == [("imb.pdf", PDF)]


def test_an_inline_forward_is_a_forward_with_its_text() -> None:
    text = "Mohon ditindaklanjuti.\n\n---------- Forwarded message ---------\nFrom: Budi\n\nIMB."
    read_ = read(mail(text))
    assert read_.kind == MailKind.FORWARD
    assert read_.text == text


def test_encoded_words_line_ends_and_html_read_the_same_way() -> None:
    message = EmailMessage()
    message["From"] = '"Aminah, Siti" <Siti@Example.ID>'
    message["Subject"] = "Pengaduan izin “toko” — Gresik"
    message.set_content("<p>Izin saya</p>\r\n<p>belum&nbsp;selesai.</p>", subtype="html")
    raw = message.as_bytes(policy=policy.SMTP)
    assert b"=?utf-8?" in raw
    read_ = read(raw)
    assert (read_.subject, read_.sender_name, read_.sender) == (
        "Pengaduan izin “toko” — Gresik",
        "Aminah, Siti",
        "siti@example.id",
    )
    assert read_.text == "Izin saya\nbelum selesai."
    assert (
        read(mail("baris satu\r\nbaris dua\rbaris tiga")).text
        == "baris satu\nbaris dua\nbaris tiga"
    )


def test_a_message_id_with_control_characters_is_not_taken_as_one() -> None:
    raw = b"From: a@b.id\r\nMessage-ID: <a\x00b@x.id>\r\nSubject: x\r\n\r\nisi"
    assert read(raw).message_id.startswith("<sha256.")


def test_a_mail_with_nothing_in_it_is_empty() -> None:
    assert read(b"From: a@b.id\r\nSubject:  \r\n\r\n \r\n").kind == MailKind.EMPTY
    assert read(b"From: a@b.id\r\nSubject: Izin\r\n\r\n").kind == MailKind.NEW


def test_a_reply_keeps_its_whole_references_chain_oldest_first() -> None:
    raw = b"From: a@b.id\r\nReferences: <a@x.id>\r\n <b@x.id>\r\nIn-Reply-To: <c@x.id>\r\n\r\nisi"
    assert read(raw).references == ("<a@x.id>", "<b@x.id>", "<c@x.id>")


def test_the_recipients_are_read_with_the_mail_server_word_first() -> None:
    raw = (
        b"From: Siti <siti@example.id>\r\n"
        b"To: Dinas A <Pengaduan@Dinas-A.example.go.id>, bukan alamat\r\n"
        b"Cc: arsip@example.id\r\n"
        b"Delivered-To: pengaduan@dinas-b.example.go.id\r\n"
        b"Subject: Pengaduan\r\n"
        b"Message-ID: <r1@example.id>\r\n\r\n"
        b"Izin usaha saya belum selesai.\r\n"
    )
    assert read(raw).recipients == (
        "pengaduan@dinas-b.example.go.id",
        "pengaduan@dinas-a.example.go.id",
        "arsip@example.id",
    )


@pytest.mark.parametrize(
    ("label", "body", "read_as"),
    [
        (
            "iso-8859-1",
            "Pelayanan – “lambat” sekali, café".encode(),
            "Pelayanan – “lambat” sekali, café",
        ),
        ("windows-1252", "Pelayanan – café".encode(), "Pelayanan – café"),
        ("iso-8859-1", "Pelayanan café".encode("latin-1"), "Pelayanan café"),  # really latin-1
    ],
    ids=["utf-8 labelled latin-1", "utf-8 labelled windows-1252", "latin-1 as labelled"],
)
def test_utf_8_labelled_as_a_single_byte_charset_is_read_as_utf_8(
    label: str, body: bytes, read_as: str
) -> None:
    raw = (
        b"From: Siti <siti@example.id>\r\nSubject: Izin\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=" + label.encode() + b"\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body + b"\r\n"
    )
    assert read(raw).text.strip() == read_as


@pytest.mark.parametrize(
    ("plain", "expected"),
    [
        ("", "Petugas loket meminta uang Rp500.000 di luar ketentuan."),
        ("\r\n \r\n", "Petugas loket meminta uang Rp500.000 di luar ketentuan."),
        (
            "This is an HTML message. Please use an HTML capable mail program.",
            "Petugas loket meminta uang Rp500.000 di luar ketentuan.",
        ),
        (
            "Petugas loket meminta uang Rp500.000 di luar ketentuan.",
            "Petugas loket meminta uang Rp500.000 di luar ketentuan.",
        ),
    ],
    ids=["empty plain", "blank plain", "stub plain", "both say it"],
)
def test_the_words_of_an_html_part_are_read_when_the_plain_part_says_nothing(
    plain: str, expected: str
) -> None:
    message = EmailMessage()
    message["From"] = "Siti Aminah <siti.aminah@example.id>"
    message["Subject"] = "Pungli"
    message.set_content(plain)
    message.add_alternative(
        "<html><body><p>Petugas loket meminta uang <b>Rp500.000</b> di luar ketentuan.</p>"
        "</body></html>",
        subtype="html",
    )
    read_ = read(message.as_bytes(policy=policy.SMTP))
    assert read_.text == expected
    assert read_.kind == MailKind.NEW


def test_the_tracking_code_in_a_subject_is_found_after_a_doubled_word() -> None:
    """Indonesian doubles words with a hyphen (data-data, kira-kira): such a pair looks like a
    code but is none; the code after it is the one."""
    code = new_code()
    assert read(mail(Subject=f"Re: data-data izin [{code}]")).thread_hints()[1] == code
    assert read(mail(Subject="Re: kira-kira kapan selesai")).thread_hints()[1] is None


def test_an_html_table_reads_cell_by_cell_without_the_pages_title() -> None:
    message = EmailMessage()
    message["From"] = "Siti Aminah <siti.aminah@example.id>"
    message["Subject"] = "Pengaduan"
    message.set_content(
        "<html><head><title>Formulir</title></head><body><table>"
        "<tr><td>Nama</td><td>Budi</td></tr><tr><th>Keluhan</th><td>Jalan rusak</td></tr>"
        "</table></body></html>",
        subtype="html",
    )
    assert read(message.as_bytes(policy=policy.SMTP)).text == "Nama Budi\nKeluhan Jalan rusak"


JPEG = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAA//EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AN//Z"  # noqa: E501
HEAD = (
    "From: Sari <sari@example.id>\r\nTo: pengaduan@dpmptsp-gresik.example.go.id\r\n"
    "Subject: Jalan rusak\r\nMessage-ID: <bentuk@example.id>\r\nMIME-Version: 1.0\r\n"
)


def photo(name: str, *, cid: str = "") -> str:
    """An inline photo part, as mail programs attach a picture pasted into the body."""
    content_id = f"Content-ID: <{cid}>\r\n" if cid else ""
    return (
        f'Content-Type: image/jpeg; name="{name}"\r\n'
        f'Content-Disposition: inline; filename="{name}"\r\n'
        f"Content-Transfer-Encoding: base64\r\n{content_id}\r\n{JPEG}\r\n"
    )


def test_a_photo_pasted_into_a_gmail_body_beside_an_attachment_is_kept() -> None:
    """Gmail: mixed[related[alternative[plain, html], photo], pdf]. Read by the standard
    library's get_body and iter_attachments, the photo inside the body's part was lost."""
    raw = (
        HEAD + 'Content-Type: multipart/mixed; boundary="M"\r\n\r\n'
        '--M\r\nContent-Type: multipart/related; boundary="R"\r\n\r\n'
        '--R\r\nContent-Type: multipart/alternative; boundary="A"\r\n\r\n'
        '--A\r\nContent-Type: text/plain; charset="UTF-8"\r\n\r\n'
        "Berikut foto jalan rusak:\r\n[image: jalan.jpg]\r\nDan surat terlampir.\r\n"
        '--A\r\nContent-Type: text/html; charset="UTF-8"\r\n\r\n'
        '<div>Berikut foto jalan rusak:<br><img src="cid:ii_1"><br>Dan surat terlampir.</div>\r\n'
        "--A--\r\n--R\r\n" + photo("jalan.jpg", cid="ii_1") + "--R--\r\n"
        '--M\r\nContent-Type: application/pdf; name="surat.pdf"\r\n'
        'Content-Disposition: attachment; filename="surat.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKMDAw\r\n--M--\r\n"
    ).encode()
    read_ = read(raw)
    assert [(a.filename, a.content_type) for a in read_.attachments] == [
        ("jalan.jpg", "image/jpeg"),
        ("surat.pdf", "application/pdf"),
    ]
    assert read_.text == "Berikut foto jalan rusak:\n[image: jalan.jpg]\nDan surat terlampir."
    assert read_.kind == MailKind.NEW
    assert not read_.problems


def test_apple_mail_text_after_an_inline_photo_is_part_of_the_words() -> None:
    """Apple Mail: mixed[plain, photo, plain]. The second text was kept as a file named
    "lampiran", not as the complaint's words (not shown, not searchable)."""
    raw = (
        HEAD + 'Content-Type: multipart/mixed; boundary="M"\r\n\r\n'
        "--M\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "Ini foto kwitansi pungutan:\r\n"
        "--M\r\n"
        + photo("IMG_0042.jpeg")
        + "--M\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "Mohon ditindak. Petugas bernama Joko meminta uang tambahan.\r\n--M--\r\n"
    ).encode()
    read_ = read(raw)
    assert read_.text == (
        "Ini foto kwitansi pungutan:\n\nMohon ditindak. Petugas bernama Joko meminta uang tambahan."
    )
    assert [a.filename for a in read_.attachments] == ["IMG_0042.jpeg"]


def test_a_photo_shown_by_the_html_version_is_kept_and_the_plain_version_is_the_words() -> None:
    """alternative[plain, related[html, photo]] (Outlook, Thunderbird): one version's words,
    every version's files; a file in two versions once."""
    raw = (
        HEAD + 'Content-Type: multipart/alternative; boundary="A"\r\n\r\n'
        "--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Saluran air di depan kantor tersumbat sejak Senin, mohon dibersihkan.\r\n"
        '--A\r\nContent-Type: multipart/related; boundary="R"\r\n\r\n'
        "--R\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>Saluran air di depan kantor tersumbat sejak Senin, mohon dibersihkan.</p>"
        '<img src="cid:f1">\r\n'
        "--R\r\n" + photo("saluran.jpg", cid="f1") + "--R\r\n" + photo("saluran.jpg") + "--R--\r\n"
        "--A--\r\n"
    ).encode()
    read_ = read(raw)
    assert read_.text == "Saluran air di depan kantor tersumbat sejak Senin, mohon dibersihkan."
    assert [a.filename for a in read_.attachments] == ["saluran.jpg"]


def test_a_mail_that_is_only_a_photo_keeps_the_photo() -> None:
    """A single-part image mail (a phone's "share by mail"): it had no body and no file."""
    raw = (HEAD.replace("Jalan rusak", "Foto") + photo("foto.jpg")).encode()
    read_ = read(raw)
    assert [(a.filename, a.size > 0) for a in read_.attachments] == [("foto.jpg", True)]
    assert read_.kind == MailKind.NEW


def test_plain_and_html_side_by_side_without_an_alternative_are_the_words_once() -> None:
    """mixed[plain, html], as some web forms send it: the plain text is the words (both were
    taken, the same words twice); an HTML part alone still is."""
    raw = (
        HEAD + 'Content-Type: multipart/mixed; boundary="M"\r\n\r\n'
        "--M\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLampu jalan mati sejak Senin.\r\n"
        "--M\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>Lampu jalan mati sejak Senin.</p>\r\n--M--\r\n"
    ).encode()
    assert read(raw).text == "Lampu jalan mati sejak Senin."
    html_only = (
        HEAD + 'Content-Type: multipart/mixed; boundary="M"\r\n\r\n'
        "--M\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Lampu jalan mati.</p>\r\n"
        "--M\r\n" + photo("lampu.jpg") + "--M--\r\n"
    ).encode()
    read_ = read(html_only)
    assert read_.text == "Lampu jalan mati."
    assert [a.filename for a in read_.attachments] == ["lampu.jpg"]

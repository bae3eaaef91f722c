"""Email against a real IMAP server (pymap) and a real SMTP sink (aiosmtpd)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import asyncpg
import pytest
from pydantic import SecretStr

from services.intake.app import create_app
from services.intake.inbound import _handle
from services.intake.inbox import Inbox
from shared.agencies import Agency, Channels, save
from shared.events import seal
from shared.events import workflow as wf
from shared.settings import Settings
from shared.sop import PROVINCE, Role
from tests.conftest import serving
from tests.intake.conftest import Desk, channel_settings
from tests.intake.standins import ImapServer, SmtpSink, http_standin, imap_server, smtp_sink
from tests.polling import eventually
from tests.tcp_proxy import TcpProxy

SITI = "siti.aminah@example.id"
PDF = b"%PDF-1.4\n" + b"0" * 100
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"0" * 100


@dataclass
class Mail:
    desk: Desk
    imap: ImapServer
    smtp: SmtpSink

    async def deliver(self, message: EmailMessage, at: datetime | None = None) -> None:
        await asyncio.to_thread(self.imap.deliver, bytes(message), at)

    async def all_seen(self, count: int) -> bool:
        flags = await asyncio.to_thread(self.imap.flags)
        return len(flags) == count and all(b"\\Seen" in f for f in flags.values())

    async def receipts(self, count: int) -> list[EmailMessage]:
        async def arrived() -> list[EmailMessage]:
            return list(self.smtp.messages) if len(self.smtp.messages) >= count else []

        return await eventually(arrived, within=10)


def mail_settings(settings: Settings, imap: ImapServer, smtp: SmtpSink, url: str) -> Settings:
    return channel_settings(
        settings,
        url,
        relay=False,
        imap_host="127.0.0.1",
        imap_port=imap.port,
        imap_tls=False,
        imap_user=imap.user,
        imap_password=SecretStr(imap.password),
        imap_poll_seconds=0.2,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        mail_from="pengaduan@dpmptsp-gresik.example.go.id",
    )


@pytest.fixture
async def mail(settings: Settings) -> AsyncIterator[Mail]:
    async with imap_server() as imap, http_standin() as graph:
        with smtp_sink() as smtp:
            configured = mail_settings(settings, imap, smtp, graph.url)
            app = create_app(configured)
            async with serving(app) as http:
                yield Mail(Desk(http, app, configured, graph), imap, smtp)


def message(
    text: str = "Izin usaha saya belum selesai setelah tiga minggu.",
    *,
    subject: str = "Pengaduan izin usaha",
    sender: str = f"Siti Aminah <{SITI}>",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    html: str | None = None,
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "pengaduan@dpmptsp-gresik.example.go.id"
    mail["Subject"] = subject
    mail["Date"] = "Sun, 29 Nov 2026 09:00:00 +0700"
    mail["Message-ID"] = message_id or make_msgid(domain="example.id")
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
    if html is None:
        mail.set_content(text)
    else:
        mail.set_content(html, subtype="html")
    return mail


async def test_a_mail_becomes_a_complaint_and_gets_its_code_by_reply(mail: Mail) -> None:
    sent = message()
    await mail.deliver(sent)
    [receipt] = await mail.receipts(1)
    assert await eventually(lambda: mail.all_seen(1), within=5)
    [row] = await mail.desk.fetch("SELECT tracking_code FROM intake.submission_index")
    assert receipt["To"] == SITI
    assert row["tracking_code"] in str(receipt["Subject"])
    assert row["tracking_code"] in receipt.get_content()
    assert receipt["In-Reply-To"] == sent["Message-ID"]
    assert await mail.desk.events() == ["ComplaintReceived"]


async def test_a_mail_from_a_form_is_answered_at_its_reply_to(mail: Mail) -> None:
    """A website's contact form mails from noreply@ with the person's address in Reply-To: the
    receipt goes there (it went to noreply@). Which case a mail joins stays the From's."""
    sent = message(sender="Formulir Situs <noreply@forms.example.id>")
    sent["Reply-To"] = f"Siti Aminah <{SITI}>"
    await mail.deliver(sent)
    [receipt] = await mail.receipts(1)
    assert receipt["To"] == SITI
    kept = await mail.desk.fetch("SELECT 1 FROM intake.submission_index")
    assert len(kept) == 1
    # Which case a mail joins stays the From's: a mail from elsewhere naming Siti in its
    # Reply-To and her case's code joins nothing of hers.
    code = (await mail.desk.fetch("SELECT tracking_code FROM intake.submission_index"))[0][0]
    forged = message(
        "Tambahan dari orang lain.",
        subject=f"Re: [{code}] Pengaduan izin usaha",
        sender="Orang Lain <orang.lain@example.org>",
    )
    forged["Reply-To"] = SITI
    await mail.deliver(forged)
    await mail.receipts(2)  # its own case, answered at the Reply-To
    assert len(await mail.desk.fetch("SELECT 1 FROM intake.submission_index")) == 2


async def test_a_mail_is_received_when_it_reached_the_mailbox_not_on_its_date_header(
    mail: Mail,
) -> None:
    """The Date header is the sender's word: a mail dated 1980 that reached the mailbox two
    hours ago was received two hours ago (its 14 working days start then, not overdue)."""
    reached = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    old = message()
    old.replace_header("Date", "Tue, 01 Jan 1980 09:00:00 +0700")
    await mail.deliver(old, at=reached)
    assert await eventually(lambda: mail.all_seen(1), within=5)
    [row] = await mail.desk.fetch("SELECT case_id FROM intake.submission_index")
    officer = mail.desk.officer(Role.TIM_PENGADUAN)
    view = await mail.desk.http.get(f"/intake/v1/submissions/{row['case_id']}", headers=officer)
    assert datetime.fromisoformat(view.json()["received_at"]) == reached


async def test_a_thread_is_one_case_with_all_its_parts(mail: Mail) -> None:
    first = message()
    await mail.deliver(first)
    [receipt] = await mail.receipts(1)
    code = str(receipt["Subject"]).split("]")[0].strip("[")
    await mail.deliver(
        message(
            "Ini nomor berkasnya: 503/0012.",
            in_reply_to=receipt["Message-ID"],
            subject=f"Re: {receipt['Subject']}",
        )
    )
    await mail.deliver(
        message(
            html="<p>Saya lampirkan <b>foto</b> juga.</p><script>x()</script>",
            subject=f"Tambahan {code}",
        )
    )
    await mail.deliver(message("Dan satu lagi.", in_reply_to=first["Message-ID"]))

    async def four_events() -> list[str]:
        events = await mail.desk.events()
        return events if len(events) == 4 else []

    assert await eventually(four_events, within=10) == [
        "ComplaintReceived",
        *["ComplainantReplied"] * 3,
    ]
    [row] = await mail.desk.fetch("SELECT case_id FROM intake.submission_index")
    view = await mail.desk.http.get(
        f"/intake/v1/submissions/{row['case_id']}", headers=mail.desk.officer(Role.TIM_PENGADUAN)
    )
    parts = [part["text"] for part in view.json()["parts"]]
    assert parts == [
        "Ini nomor berkasnya: 503/0012.",
        "Saya lampirkan foto juga.",
        "Dan satu lagi.",
    ]
    assert len(mail.smtp.messages) == 1  # one receipt for the case, none for its parts


async def test_a_stranger_using_someone_elses_code_opens_a_new_case(mail: Mail) -> None:
    await mail.deliver(message())
    [receipt] = await mail.receipts(1)
    code = str(receipt["Subject"]).split("]")[0].strip("[")
    await mail.deliver(
        message("Saya juga mau komplain.", subject=f"Re: {code}", sender="orang@lain.id")
    )
    await mail.receipts(2)
    assert await mail.desk.events() == ["ComplaintReceived", "ComplaintReceived"]


async def test_the_same_mail_three_times_is_one_case_and_one_receipt(mail: Mail) -> None:
    sent = message(message_id="<sama-123@example.id>")
    for _ in range(3):
        await mail.deliver(sent)
    assert await eventually(lambda: mail.all_seen(3), within=10)
    assert await mail.desk.events() == ["ComplaintReceived"]
    [receipt] = await mail.receipts(1)
    [row] = await mail.desk.fetch("SELECT tracking_code FROM intake.submission_index")
    assert row["tracking_code"] in str(receipt["Subject"])


async def test_allowed_attachments_are_kept_others_named_and_dropped(mail: Mail) -> None:
    sent = message()
    sent.add_attachment(PDF, maintype="application", subtype="pdf", filename="berkas.pdf")
    sent.add_attachment(
        b"MZ\x90\x00", maintype="application", subtype="x-msdownload", filename="virus.exe"
    )
    await mail.deliver(sent)
    await mail.receipts(1)
    [row] = await mail.desk.fetch("SELECT case_id, content_type FROM intake.attachments")
    assert row["content_type"] == "application/pdf"
    view = (
        await mail.desk.http.get(
            f"/intake/v1/submissions/{row['case_id']}",
            headers=mail.desk.officer(Role.TIM_PENGADUAN),
        )
    ).json()
    [refused] = view["refused"]
    assert (refused["filename"], refused["code"]) == ("virus.exe", "attachment-type")
    [kept] = view["attachments"]
    content = await mail.desk.http.get(
        f"/intake/v1/submissions/{row['case_id']}/attachments/{kept['id']}",
        headers=mail.desk.officer(Role.TIM_PENGADUAN),
    )
    assert content.content == PDF


async def test_a_photo_shown_in_the_body_is_kept_beside_the_attachments(mail: Mail) -> None:
    """mixed[alternative[plain, related[html, photo]], pdf], as Outlook and Gmail send a photo
    pasted into the text: the photo was dropped without a word (it is no attachment of the
    mail's top level)."""
    sent = message("Berikut foto jalan rusak, dan surat terlampir.")
    sent.add_alternative("<p>Berikut foto jalan rusak, dan surat terlampir.</p><img src='cid:f1'>")
    html = list(sent.iter_parts())[1]
    assert isinstance(html, EmailMessage)
    html.add_related(JPEG, "image", "jpeg", cid="<f1>", filename="jalan.jpg")
    sent.add_attachment(PDF, maintype="application", subtype="pdf", filename="surat.pdf")
    await mail.deliver(sent)
    await mail.receipts(1)
    [row] = await mail.desk.fetch("SELECT case_id FROM intake.submission_index")
    view = (
        await mail.desk.http.get(
            f"/intake/v1/submissions/{row['case_id']}",
            headers=mail.desk.officer(Role.TIM_PENGADUAN),
        )
    ).json()
    assert sorted(kept["filename"] for kept in view["attachments"]) == ["jalan.jpg", "surat.pdf"]
    assert view["refused"] == []


@pytest.mark.store_deadline  # it stalls the store and times the answers
async def test_a_mail_stays_unseen_until_its_submission_is_committed(settings: Settings) -> None:
    proxy = TcpProxy(settings.postgres_host, settings.postgres_port)
    await proxy.start()
    try:
        async with imap_server() as imap, http_standin() as graph:
            with smtp_sink() as smtp:
                configured = mail_settings(settings, imap, smtp, graph.url)
                app = create_app(configured.model_copy(update={"postgres_port": proxy.port}))
                async with serving(app) as http:
                    box = Mail(Desk(http, app, configured, graph), imap, smtp)
                    proxy.cut()
                    await box.deliver(message())
                    with pytest.raises(AssertionError):
                        await eventually(lambda: box.all_seen(1), within=2)
                    proxy.restore()
                    assert await eventually(lambda: box.all_seen(1), within=15)
                    assert await box.desk.events() == ["ComplaintReceived"]
    finally:
        await proxy.stop()


@pytest.mark.store_deadline  # it stalls the store and times the answers
async def test_a_frozen_store_defers_mail_without_a_traceback_per_poll(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = TcpProxy(settings.postgres_host, settings.postgres_port)
    await proxy.start()
    try:
        async with imap_server() as imap, http_standin() as graph:
            with smtp_sink() as smtp:
                configured = mail_settings(settings, imap, smtp, graph.url)
                app = create_app(configured.model_copy(update={"postgres_port": proxy.port}))
                async with serving(app) as http:
                    box = Mail(Desk(http, app, configured, graph), imap, smtp)
                    proxy.freeze()
                    await box.deliver(message())
                    with pytest.raises(AssertionError):
                        await eventually(lambda: box.all_seen(1), within=4)
                    failed = [r for r in caplog.records if r.exc_info or "poll failed" in r.message]
                    assert failed == []
                    # the poller hit its deadline (it does not hang), and said so once
                    outage = [r for r in caplog.records if "postgres unavailable" in r.message]
                    assert len(outage) == 1, caplog.text
                    proxy.thaw()
                    assert await eventually(lambda: box.all_seen(1), within=15)
                    assert await box.desk.events() == ["ComplaintReceived"]
    finally:
        proxy.thaw()
        await proxy.stop()


async def test_a_mail_to_b_mailbox_is_b_submission_answered_from_it(mail: Mail) -> None:
    mailbox = "pengaduan@dinas-b.example.go.id"
    dinas_b = Agency(id="dinas-b", name="Dinas B", channels=Channels(mailboxes=(mailbox,)))
    conn = await asyncpg.connect(mail.desk.settings.postgres_dsn())
    try:
        await save(conn, dinas_b)
    finally:
        await conn.close()
    mail.desk.app.state.inbox.agencies.forget()
    sent = message()
    sent.replace_header("To", f"Dinas B <{mailbox.upper()}>")
    await mail.deliver(sent)
    [receipt] = await mail.receipts(1)
    [row] = await mail.desk.fetch("SELECT case_id FROM intake.submission_index")
    submission = mail.desk.app.state.inbox.submissions.submission(row["case_id"])
    assert submission.agency == "dinas-b"
    assert receipt["From"] == f"Dinas B <{mailbox}>"
    assert receipt["To"] == SITI


async def test_a_mail_case_moved_to_b_is_written_to_from_b_mailbox(mail: Mail) -> None:
    mailbox = "pengaduan@dinas-b.example.go.id"
    dinas_b = Agency(id="dinas-b", name="Dinas B", channels=Channels(mailboxes=(mailbox,)))
    conn = await asyncpg.connect(mail.desk.settings.postgres_dsn())
    try:
        await save(conn, dinas_b)
    finally:
        await conn.close()
    inbox: Inbox = mail.desk.app.state.inbox
    inbox.agencies.forget()
    await mail.deliver(message())  # to the home agency's mailbox
    [receipt] = await mail.receipts(1)
    assert receipt["From"] == mail.desk.settings.mail_from
    [row] = await mail.desk.fetch("SELECT case_id FROM intake.submission_index")
    at = datetime.now(UTC)
    moved = wf.CaseTransferred(
        case_id=row["case_id"],
        at=at,
        from_agency=PROVINCE,
        to_agency="dinas-b",
        current_step="identification",
        step_due_at=at,
        deadline_at=at,
    )
    _handle(inbox, [seal(moved, subject=row["case_id"], version=2, time=at, agency="dinas-b")])
    _, told = await mail.receipts(2)
    assert told["From"] == f"Dinas B <{mailbox}>"
    assert told["To"] == SITI


async def test_a_sender_name_of_half_an_emoji_is_stored_once_not_retried_forever(
    mail: Mail,
) -> None:
    """A name in UTF-7 that ends in half of a character's pair: no UTF-8 text holds it, and
    storing the mail failed, then failed again as unreadable, on every poll."""
    raw = bytes(message()).replace(b"From: Siti Aminah", b"From: =?utf-7?q?Budi+2D0-?=", 1)
    assert b"utf-7" in raw
    await asyncio.to_thread(mail.imap.deliver, raw, None)
    [receipt] = await mail.receipts(1)
    assert await eventually(lambda: mail.all_seen(1), within=10)
    assert await mail.desk.events() == ["ComplaintReceived"]
    assert receipt["To"] == SITI


async def test_a_mail_of_a_megabyte_of_words_is_stored(mail: Mail) -> None:
    """More words than PostgreSQL's search index holds for one row: the text is kept whole,
    its first part searchable, and the mail is taken once."""
    words = " ".join(f"kata{n}x{n * 7919 % 100003}" for n in range(80_000))  # about 1.3 MB
    await mail.deliver(message(f"Pengaduan panjang. {words}"))
    await mail.receipts(1)
    assert await eventually(lambda: mail.all_seen(1), within=30)
    assert await mail.desk.events() == ["ComplaintReceived"]
    [row] = await mail.desk.fetch("SELECT count(*) AS n FROM intake.search_words")
    assert row["n"] == 1


async def test_a_reply_quoting_its_receipt_is_kept_without_the_receipt_secret(mail: Mail) -> None:
    """Mail programs quote the message replied to: the receipt, its secret included. Stored,
    every officer who reads the reply could act as the complainant with it."""
    await mail.deliver(message())
    [receipt] = await mail.receipts(1)
    said = receipt.get_content()
    secret = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", said)
    assert secret is not None, said
    quoted = "\n".join(f"> {line}" for line in said.splitlines())
    await mail.deliver(
        message(
            f"Berkas sudah saya kirim.\n\n{quoted}",
            in_reply_to=receipt["Message-ID"],
            subject=f"Re: {receipt['Subject']}",
        )
    )

    async def replied() -> bool:
        return len(await mail.desk.events()) == 2

    assert await eventually(replied, within=10)
    [row] = await mail.desk.fetch("SELECT case_id FROM intake.submission_index")
    view = await mail.desk.http.get(
        f"/intake/v1/submissions/{row['case_id']}", headers=mail.desk.officer(Role.TIM_PENGADUAN)
    )
    [part] = view.json()["parts"]
    assert part["text"].startswith("Berkas sudah saya kirim.")
    assert secret[0] not in view.text
    assert "[kunci tanda terima]" in part["text"]


async def test_a_complaint_forwarded_by_a_mail_rule_is_kept_and_not_answered(mail: Mail) -> None:
    """A kelurahan's mailbox passing a citizen's mail on by a rule marks it auto-forwarded: a
    complaint to keep, from an automatic sender never to answer (RFC 3834)."""
    forwarded = message("Jalan di depan rumah saya rusak sejak galian izin kemarin.")
    forwarded["Auto-Submitted"] = "auto-forwarded"
    await mail.deliver(forwarded)
    assert await eventually(lambda: mail.all_seen(1), within=10)
    assert await mail.desk.events() == ["ComplaintReceived"]
    assert await mail.desk.fetch("SELECT id FROM intake.deliveries") == []


async def test_another_senders_mail_under_a_message_id_taken_already_is_a_case_of_its_own(
    mail: Mail,
) -> None:
    await mail.deliver(message(message_id="<sama@example.id>"))
    await mail.receipts(1)
    other = message(
        "Lampu jalan di desa kami mati sejak sebulan.",
        sender="Rudi <rudi@example.id>",
        message_id="<sama@example.id>",
    )
    await mail.deliver(other)
    await mail.deliver(other)  # and that one again: still two cases
    receipts = await mail.receipts(2)
    assert sorted(str(receipt["To"]) for receipt in receipts) == ["rudi@example.id", SITI]
    assert await eventually(lambda: mail.all_seen(3), within=10)
    assert await mail.desk.events() == ["ComplaintReceived", "ComplaintReceived"]


async def test_a_mail_from_the_offices_own_mailbox_is_kept_but_not_answered(mail: Mail) -> None:
    """An officer forwarding a complaint from the office's own address, or a mail program that
    sends the office's copy back: kept, and no receipt (with its secret) into the office's
    own mailbox."""
    own = mail.desk.settings.mail_from
    await mail.deliver(message(sender=f"DPMPTSP <{own.upper()}>"))
    assert await eventually(lambda: mail.all_seen(1), within=10)
    assert await mail.desk.events() == ["ComplaintReceived"]
    assert await mail.desk.fetch("SELECT id FROM intake.deliveries") == []

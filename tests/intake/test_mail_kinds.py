"""Every kind of mail (docs/channels.md, "Kinds of mail") through a real IMAP server (pymap) and
a real SMTP sink (aiosmtpd): each does what the table says."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage
from typing import Any
from uuid import UUID

from prometheus_client import REGISTRY

from services.intake.app import create_app
from services.intake.mail import read
from services.intake.submission import submission_id
from shared.channels import Channel
from shared.settings import Settings
from shared.sop import Role
from tests.conftest import serving
from tests.intake.conftest import Desk
from tests.intake.standins import http_standin, imap_server, smtp_sink
from tests.intake.test_email import PDF, SITI, Mail, mail_settings, message
from tests.intake.test_mail_pure import MALFORMED
from tests.polling import eventually

DOMAIN = "dpmptsp-gresik.example.go.id"


def raw(mail: EmailMessage) -> bytes:
    """As an MTA hands it over: CRLF line ends."""
    return mail.as_bytes(policy=policy.SMTP)


@contextlib.asynccontextmanager
async def mailbox(settings: Settings, *waiting: bytes, **changes: Any) -> AsyncIterator[Mail]:
    """The app polling a pymap INBOX that holds `waiting` before its first poll."""
    async with imap_server() as imap, http_standin() as graph:
        for mail in waiting:
            await asyncio.to_thread(imap.deliver, mail)
        with smtp_sink() as smtp:
            configured = mail_settings(settings, imap, smtp, graph.url).model_copy(update=changes)
            app = create_app(configured)
            async with serving(app) as http:
                yield Mail(Desk(http, app, configured, graph), imap, smtp)


async def view(box: Mail, case_id: UUID | str) -> dict[str, Any]:
    officer = box.desk.officer(Role.TIM_PENGADUAN)
    answer = await box.desk.http.get(f"/intake/v1/submissions/{case_id}", headers=officer)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def download(box: Mail, case_id: UUID | str, attachment: dict[str, Any]) -> bytes:
    officer = box.desk.officer(Role.TIM_PENGADUAN)
    path = f"/intake/v1/submissions/{case_id}/attachments/{attachment['id']}"
    return (await box.desk.http.get(path, headers=officer)).content


async def deliveries(box: Mail) -> int:
    [row] = await box.desk.fetch("SELECT count(*) AS n FROM intake.deliveries")
    return int(row["n"])


def taken(kind: str) -> float:
    return REGISTRY.get_sample_value("aduan_mail_taken_total", {"kind": kind}) or 0.0


async def test_a_malformed_mail_is_kept_and_the_clean_ones_after_it_are_cases_in_one_poll(
    settings: Settings,
) -> None:
    clean = [raw(message(f"Pengaduan ke-{n}: izin saya belum selesai.")) for n in (1, 2)]
    async with mailbox(settings, MALFORMED, *clean, imap_poll_seconds=3600) as box:
        assert await eventually(lambda: box.all_seen(3), within=20)  # the one poll at start
        assert await box.desk.events() == ["ComplaintReceived"] * 3
        await box.receipts(2)
        assert await deliveries(box) == 2  # the unreadable From cannot be answered
        case_id = submission_id(Channel.EMAIL, read(MALFORMED).message_id)
        kept = await view(box, case_id)
    reasons = " ".join(kept["unreadable"])
    assert "x-bogus-8" in reasons
    assert "batas bagian MIME tidak ditutup" in reasons
    assert "café saya tutup" in kept["text"]
    assert kept["contact"] is None
    assert [a["filename"] for a in kept["attachments"]] == ["berkas.pdf", "surat-asli.eml"]


async def test_the_raw_unreadable_mail_is_kept_sealed_for_officers(settings: Settings) -> None:
    broken = MALFORMED.replace(b"<<siti@@example..id", b"<siti.aminah@example.id>")
    async with mailbox(settings, broken) as box:
        [receipt] = await box.receipts(1)
        [row] = await box.desk.fetch("SELECT case_id FROM intake.submission_index")
        kept = await view(box, row["case_id"])
        original = await download(box, row["case_id"], kept["attachments"][-1])
        stored = await box.desk.fetch("SELECT content FROM intake.blobs")
    assert original == broken
    assert len(stored) == 2
    assert all(b"Izin usaha" not in bytes(r["content"]) for r in stored)
    assert receipt["To"] == SITI
    assert "tidak dapat kami baca" in receipt.get_content()


def _auto_reply() -> bytes:
    mail = message("Saya sedang cuti sampai 7 Desember.", subject="Automatic reply: Pengaduan")
    mail["Auto-Submitted"] = "auto-replied"
    return raw(mail)


def _vacation() -> bytes:
    mail = message("Terima kasih, surat Anda akan saya baca nanti.", subject="Out of office")
    mail["X-Autoreply"] = "yes"
    return raw(mail)


def _bounce() -> bytes:
    """A delivery status notification (RFC 3464) as Postfix sends it."""
    return (
        b"Return-Path: <>\r\n"
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.id>\r\n"
        b"To: pengaduan@" + DOMAIN.encode() + b"\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <pantulan-1@mx.example.id>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r1"\r\n\r\n'
        b"--r1\r\nContent-Type: text/plain\r\n\r\nAlamat tujuan tidak ditemukan.\r\n"
        b"--r1\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.id\r\n\r\n"
        b"Final-Recipient: rfc822; x@example.id\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--r1--\r\n"
    )


def _plain_bounce() -> bytes:
    """A non-delivery report as some servers send it: from postmaster, in plain text, with
    no header that says it is automatic (it opened a case, and postmaster got a receipt)."""
    mail = message(
        "Pesan Anda tidak dapat dikirim ke penerima berikut: x@example.id",
        subject="Undeliverable: Pengaduan",
        sender="postmaster@mx6.example.id",
    )
    return raw(mail)


def _list_mail() -> bytes:
    mail = message("Buletin bulan ini.", subject="Warta perizinan", sender="warta@example.id")
    mail["List-Id"] = "Warta <warta.lists.example.id>"
    mail["List-Unsubscribe"] = "<mailto:keluar@lists.example.id>"
    return raw(mail)


async def test_machine_mail_and_empty_mail_open_nothing_and_are_never_answered(
    settings: Settings,
) -> None:
    before = {kind: taken(kind) for kind in ("auto_reply", "bounce", "list", "empty", "new")}
    subject_only = raw(
        message("Saya cuti, tetapi izin saya belum selesai.", subject="Out of office")
    )
    empty = f"From: {SITI}\r\nSubject: \r\nMessage-ID: <kosong@example.id>\r\n\r\n\r\n".encode()
    machine = [_auto_reply(), _vacation(), _bounce(), _plain_bounce(), _list_mail(), empty]
    async with mailbox(settings, *machine, subject_only, raw(message())) as box:
        assert await eventually(lambda: box.all_seen(8), within=20)
        assert await box.desk.events() == ["ComplaintReceived"] * 2
        assert await deliveries(box) == 2  # the subject alone is no signal: a person's mail
        await box.receipts(2)
    after = {kind: taken(kind) - count for kind, count in before.items()}
    assert after == {"auto_reply": 2, "bounce": 2, "list": 1, "empty": 1, "new": 2}


async def test_a_mail_forwarded_as_an_attachment_keeps_the_inner_text_and_files(
    settings: Settings,
) -> None:
    inner = message("IMB saya ditolak tanpa alasan.", subject="IMB rumah", sender="budi@example.id")
    inner.add_attachment(PDF, maintype="application", subtype="pdf", filename="imb.pdf")
    outer = message("Kami teruskan pengaduan warga kami.", subject="Fwd: IMB rumah")
    outer.add_attachment(inner)
    async with mailbox(settings, raw(outer)) as box:
        await box.receipts(1)
        [row] = await box.desk.fetch("SELECT case_id FROM intake.submission_index")
        kept = await view(box, row["case_id"])
        [pdf] = kept["attachments"]
        content = await download(box, row["case_id"], pdf)
    assert "Kami teruskan" in kept["text"]
    assert "Dari: budi@example.id" in kept["text"]
    assert "IMB saya ditolak tanpa alasan." in kept["text"]
    assert (pdf["filename"], content) == ("imb.pdf", PDF)
    assert kept["unreadable"] == []


async def test_an_encoded_subject_an_html_only_and_a_crlf_mail_read_alike(
    settings: Settings,
) -> None:
    html = message(
        html="<p>Izin saya</p>\r\n<p>belum&nbsp;selesai.</p>", subject="Izin “toko” — Gresik"
    )
    plain = message("Izin saya\r\nbelum selesai.", subject="Izin “toko” — Gresik")
    assert b"=?utf-8?" in raw(html)
    async with mailbox(settings, raw(html), raw(plain)) as box:
        await box.receipts(2)
        rows = await box.desk.fetch("SELECT case_id FROM intake.submission_index")
        texts = [(await view(box, row["case_id"]))["text"] for row in rows]
    assert texts == ["Izin “toko” — Gresik\n\nIzin saya\nbelum selesai."] * 2


async def test_a_refused_file_is_named_to_the_citizen_in_a_well_formed_mail(
    settings: Settings,
) -> None:
    sent = message()
    big = b"%PDF-1.4\n" + b"0" * (12 * 2**20)
    sent.add_attachment(big, maintype="application", subtype="pdf", filename="scan-ktp.pdf")
    async with mailbox(settings, raw(sent)) as box:
        [receipt] = await box.receipts(1)
        [wire] = box.smtp.handler.raw
        assert await deliveries(box) == 1
    words = receipt.get_content()
    assert "scan-ktp.pdf (terlalu besar)" in words
    assert "PDF" in words
    assert "paling besar 10 MB per berkas" in words
    assert receipt["Date"] is not None
    assert receipt["Date"].datetime is not None
    assert re.fullmatch(
        rf"<aduan\.[0-9a-f-]{{36}}\.receipt\.[0-9a-f]{{8}}@{DOMAIN}>", receipt["Message-ID"]
    )
    assert receipt["Auto-Submitted"] == "auto-generated"
    assert b"\r\n" in wire
    assert b"\r\r" not in wire
    assert re.search(rb"[^\r]\n", wire) is None


async def test_a_thread_reply_joins_and_our_mail_threads_on_the_whole_chain(
    settings: Settings,
) -> None:
    first = message(message_id="<asli-1@example.id>")
    first["References"] = "<lama-1@example.id> <lama-2@example.id>"
    async with mailbox(settings, raw(first)) as box:
        [receipt] = await box.receipts(1)
        chain = ["<lama-1@example.id>", "<lama-2@example.id>", "<asli-1@example.id>"]
        assert (receipt["In-Reply-To"], receipt["References"].split()) == (chain[-1], chain)
        reply = message("Nomor berkas 503/0012.", message_id="<balas-1@example.id>")
        reply.replace_header("Subject", f"Re: {receipt['Subject']}")
        reply["In-Reply-To"] = receipt["Message-ID"]
        reply["References"] = " ".join([*chain, receipt["Message-ID"]])
        await box.deliver(reply)
        assert await eventually(lambda: box.all_seen(2), within=10)
        [row] = await box.desk.fetch("SELECT case_id FROM intake.submission_index")
        await box.desk.fetch(
            "INSERT INTO intake.deliveries (id, case_id, channel, purpose) "
            "VALUES (gen_random_uuid(), $1, 'email', 'follow_up')",
            row["case_id"],
        )
        [_, follow_up] = await box.receipts(2)
        kept = await view(box, row["case_id"])
    assert await box.desk.events() == ["ComplaintReceived", "ComplainantReplied"]
    assert [part["text"] for part in kept["parts"]] == ["Nomor berkas 503/0012."]
    assert follow_up["In-Reply-To"] == "<balas-1@example.id>"
    assert follow_up["References"].split() == [
        *chain,
        receipt["Message-ID"],
        "<balas-1@example.id>",
    ]


async def test_a_refused_file_in_a_reply_is_named_to_the_citizen(settings: Settings) -> None:
    async with mailbox(settings, raw(message(message_id="<asli-2@example.id>"))) as box:
        [receipt] = await box.receipts(1)
        reply = message("Ini berkasnya.", message_id="<balas-2@example.id>")
        reply.replace_header("Subject", f"Re: {receipt['Subject']}")
        reply["In-Reply-To"] = receipt["Message-ID"]
        reply.add_attachment(b"MZ\x90\x00", maintype="application", subtype="x-msdownload",
                             filename="berkas.exe")  # fmt: skip
        await box.deliver(reply)
        [_, told] = await box.receipts(2)
        assert await box.desk.events() == ["ComplaintReceived", "ComplainantReplied"]
    assert "Lampiran" in str(told["Subject"])
    assert "berkas.exe (jenis berkasnya tidak kami terima)" in told.get_content()
    assert told["In-Reply-To"] == "<balas-2@example.id>"


async def test_a_redelivered_mail_is_recognised_before_the_senders_limit(
    settings: Settings,
) -> None:
    same = raw(message(message_id="<sekali@example.id>"))
    async with mailbox(settings, same, same, rate_sender_per_minute=1) as box:
        assert await eventually(lambda: box.all_seen(2), within=10)
        assert await box.desk.events() == ["ComplaintReceived"]

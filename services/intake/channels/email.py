"""Email: poll a mailbox over IMAP; each new message is a submission, a reply joins its case.

A message is flagged \\Seen only after its submission is committed: if the store is down,
it stays unseen and the next poll takes it again (its Message-ID makes that harmless). A reply
(our receipt's Message-ID in In-Reply-To/References, the original's id, or the tracking code in
the subject) from the same address joins the case instead of opening one.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from uuid import UUID

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from services.intake.attachments import AttachmentRefused, check
from services.intake.draft import Addition, Attachment, Contact, Draft, Receipt
from services.intake.inbox import Inbox
from services.intake.limits import RateLimiter, TooManyRequests
from services.intake.mail import Mail, read
from services.intake.reach import store_call
from services.intake.submission import submission_id
from shared.channels import Channel
from shared.outages import Unavailable
from shared.sop import Kind
from shared.tracking_code import normalize
from shared.writes import WriteTimedOut

log = logging.getLogger(__name__)

SEEN = b"\\Seen"


@dataclass
class Mailbox:
    """The office's complaint mailbox."""

    inbox: Inbox
    limiter: RateLimiter

    async def run(self) -> None:
        """Poll until cancelled; an unreachable server is retried at the next poll."""
        while True:
            try:
                await self.poll()
            except (OSError, IMAPClientError, ssl.SSLError) as error:
                log.warning("mailbox %s: %s", self.inbox.settings.imap_host, error)
            except (Unavailable, WriteTimedOut):
                pass  # the store is away (logged once): the mail stays unseen for a later poll
            except Exception:
                log.exception("mailbox poll failed")
            await asyncio.sleep(self.inbox.settings.imap_poll_seconds)

    async def poll(self) -> list[Receipt]:
        """Take every unseen message; each is flagged seen once its submission is committed."""
        client = await asyncio.to_thread(self._connect)
        taken = []
        try:
            for uid in await asyncio.to_thread(client.search, ["UNSEEN"]):
                fetched = await asyncio.to_thread(client.fetch, [uid], ["BODY.PEEK[]"])
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if not isinstance(raw, bytes):
                    continue
                receipt = await self.take(read(raw))
                if receipt is None:
                    continue  # over the sender's limit: left unseen for a later poll
                await asyncio.to_thread(client.add_flags, [uid], [SEEN])
                taken.append(receipt)
        finally:
            await asyncio.to_thread(_logout, client)
        return taken

    def _connect(self) -> IMAPClient:
        settings = self.inbox.settings
        client = IMAPClient(
            settings.imap_host,
            port=settings.imap_port,
            ssl=settings.imap_tls,
            timeout=settings.imap_timeout_seconds,
        )
        client.login(settings.imap_user, settings.imap_password.get_secret_value())
        client.select_folder(settings.imap_mailbox)
        return client

    async def take(self, mail: Mail) -> Receipt | None:
        """Store one mail (a new submission or a part of its thread); None if deferred."""
        replay = await store_call(self.inbox.replay, Channel.EMAIL, mail.message_id)
        if replay is not None:
            return replay  # recognised before the limit: a redelivery is never counted
        if mail.sender:
            try:
                sender = self.inbox.pseudonyms.sender("email", mail.sender)
                await self.limiter.sender("email", sender)
            except TooManyRequests:
                return None
        text, attachments = _kept(self.inbox, mail)
        case_id = await store_call(self._thread_of, mail)
        if case_id is not None:
            addition = Addition(Channel.EMAIL, mail.message_id, text, mail.sent_at, attachments)
            return await self.inbox.add(case_id, addition)
        return await self.inbox.submit(self._draft(mail, text, attachments))

    def _draft(self, mail: Mail, text: str, attachments: tuple[Attachment, ...]) -> Draft:
        contact = Contact(name=mail.sender_name, email=mail.sender or None)
        kind = Kind.CONSULTATION if "konsultasi" in mail.subject.lower() else Kind.COMPLAINT
        return Draft(
            kind=kind,
            channel=Channel.EMAIL,
            text=f"{mail.subject}\n\n{text}".strip(),
            received_at=mail.sent_at,
            agency=self.inbox.settings.agency,
            message_id=mail.message_id,
            contact=contact if mail.sender else None,
            attachments=attachments,
            identities=tuple(self.inbox.pseudonyms.of_contact(contact)),
            receipt=bool(mail.sender),
        )

    def _thread_of(self, mail: Mail) -> UUID | None:
        """The case this mail replies to, if its sender is that case's complainant."""
        ours, code = mail.thread_hints()
        candidates = [ours] if ours else []
        submissions = self.inbox.submissions
        for reference in mail.references:
            candidates.append(submission_id(Channel.EMAIL, reference))
            replay = self.inbox.replay(Channel.EMAIL, reference)
            if replay is not None:
                candidates.append(UUID(replay.case_id))
        canonical = normalize(code) if code else None
        if canonical and (row := submissions.find_by_code(canonical)):
            candidates.append(row.case_id)
        email_hash = self.inbox.pseudonyms.of("email", mail.sender) if mail.sender else None
        for case_id in candidates:
            if case_id is not None and email_hash and self._belongs(case_id, email_hash):
                return case_id
        return None

    def _belongs(self, case_id: UUID, email_hash: str) -> bool:
        rows = self.inbox.submissions.query(
            "SELECT 1 FROM {s}.identities WHERE case_id = %s AND hash = %s", (case_id, email_hash)
        )
        return bool(rows)


def _kept(inbox: Inbox, mail: Mail) -> tuple[str, tuple[Attachment, ...]]:
    """The attachments that may be kept; the refused ones are named in the text."""
    kept, refused = [], []
    for attachment in mail.attachments:
        try:
            kept.append(check(inbox.settings, attachment))
        except AttachmentRefused as problem:
            refused.append(f"[Lampiran ditolak: {attachment.filename} — {problem.detail}]")
    return "\n".join([mail.text, *refused]).strip(), tuple(kept)


def _logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except (OSError, IMAPClientError) as error:
        log.info("mailbox logout: %s", error)

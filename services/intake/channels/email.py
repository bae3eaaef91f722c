"""Email: poll a mailbox over IMAP; each new message is a submission, a reply joins its case.

A message is flagged \\Seen only after its submission is committed: if the store is down,
it stays unseen and the next poll takes it again (its Message-ID makes that harmless). A mail
that cannot be read is stored as unreadable (raw, sealed), machine mail is flagged seen and
dropped (services/intake/mail_kinds.py): no message holds the ones after it. A reply
(our receipt's Message-ID in In-Reply-To/References, the original's id, or the tracking code in
the subject) from the same address joins the case instead of opening one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from prometheus_client import Counter

from services.intake.attachments import screen
from services.intake.draft import Addition, Attachment, Contact, Draft, Receipt, Refusal
from services.intake.inbox import Erased, Inbox, UnknownSubmission
from services.intake.mail import Mail, arrived, read, without_content
from services.intake.mail_kinds import DROPPED, HANDLING, MailKind
from services.intake.reach import store_call
from services.intake.submission import submission_id
from shared.agencies import normal_address
from shared.channels import Channel
from shared.limits import RateLimiter, TooManyRequests
from shared.outages import Unavailable
from shared.settings import Settings
from shared.sop import Kind
from shared.tracking_code import normalize
from shared.writes import WriterBehind, WriteTimedOut

log = logging.getLogger(__name__)

SEEN = b"\\Seen"
FLAGGED = b"\\Flagged"  # a mail that could not be kept at all: for the operator to look at
RAW_NAME = "surat-asli.eml"
TAKEN = Counter(
    "aduan_mail_taken_total", "Mail the mailbox took, by kind (machine mail: not kept)", ["kind"]
)
TRANSIENT = (Unavailable, WriteTimedOut, WriterBehind, TooManyRequests)
"""The store away or busy, or the sender over its limit: the mail waits for a later poll."""


class Failed(Exception):
    """A mail could be stored neither as read nor as unreadable (logged): flagged and left."""


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
        """Take every unseen message; each is flagged seen once it is stored (or known to be
        machine mail). A mail that cannot be read is stored as such: it never holds the rest."""
        client = await asyncio.to_thread(self._connect)
        taken = []
        try:
            for uid in await asyncio.to_thread(client.search, ["UNSEEN"]):
                fetched = await asyncio.to_thread(
                    client.fetch, [uid], ["BODY.PEEK[]", "INTERNALDATE"]
                )
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if not isinstance(raw, bytes):
                    continue
                at = fetched[uid].get(b"INTERNALDATE")
                mail = arrived(read(raw), at if isinstance(at, datetime) else None)
                try:
                    receipt = await self.handle(mail, uid)
                except TooManyRequests:
                    continue  # over the sender's limit: left unseen for a later poll
                except Failed:
                    # Stored neither as read nor raw (logged): fetched again, it would fail
                    # again on every poll. Left in the mailbox, flagged for the operator.
                    await asyncio.to_thread(client.add_flags, [uid], [SEEN, FLAGGED])
                    TAKEN.labels(kind="failed").inc()
                    continue
                await asyncio.to_thread(client.add_flags, [uid], [SEEN])
                if receipt is not None:
                    taken.append(receipt)
        finally:
            await asyncio.to_thread(_logout, client)
        return taken

    async def handle(self, mail: Mail, uid: int = 0) -> Receipt | None:
        """Store one mail; None for machine or empty mail (nothing kept, never answered). A mail
        whose storing fails for a reason of its own is stored again as unreadable, raw."""
        if mail.kind in DROPPED:
            TAKEN.labels(kind=mail.kind.value).inc()
            log.info("mailbox: message %s is %s: not taken, not answered", uid, mail.kind.value)
            return None
        try:
            receipt = await self.take(mail)
        except TRANSIENT:
            raise
        except Exception:  # this mail's own failure must not hold the others
            log.exception("mailbox: message %s could not be stored; kept as unreadable", uid)
            try:
                receipt = await self.take(without_content(mail, "surat tidak dapat diproses"))
            except TRANSIENT:
                raise
            except Exception as error:
                log.exception("mailbox: message %s could not be kept either", uid)
                raise Failed() from error
        kind = MailKind.REPLY if receipt.added and mail.kind == MailKind.NEW else mail.kind
        TAKEN.labels(kind=kind.value).inc()
        return receipt

    def _connect(self) -> IMAPClient:
        settings = self.inbox.settings
        client = IMAPClient(
            settings.imap_host,
            port=settings.imap_port,
            ssl=settings.imap_tls,
            timeout=settings.imap_timeout_seconds,
        )
        client.normalise_times = False  # arrival times with their zone, not naive local ones
        client.login(settings.imap_user, settings.imap_password.get_secret_value())
        client.select_folder(settings.imap_mailbox)
        return client

    async def take(self, mail: Mail) -> Receipt:
        """Store one mail (a new submission or a part of its thread); a repeat is recognised
        before the sender's limit is counted (TooManyRequests: leave it for a later poll)."""
        replay = await store_call(self.inbox.replay, Channel.EMAIL, mail.message_id)
        if replay is not None and await store_call(self._another_sender, mail, replay):
            # Another sender's mail under a Message-ID taken already (a careless mail program,
            # a forger): a mail of its own, under an id of its own.
            mail = replace(mail, message_id=f"{mail.message_id}#{self._sender_key(mail)}")
            replay = await store_call(self.inbox.replay, Channel.EMAIL, mail.message_id)
        if replay is not None:
            return replay
        if mail.sender:
            await self.limiter.sender("email", self.inbox.pseudonyms.sender("email", mail.sender))
        kept = _kept(self.inbox.settings, mail)
        case_id = await store_call(self._thread_of, mail)
        if case_id is not None:
            addition = Addition(
                Channel.EMAIL,
                mail.message_id,
                kept.text,
                mail.sent_at,
                kept.files,
                extra=kept.extra,
                refused=kept.refused,
            )
            with contextlib.suppress(UnknownSubmission, Erased):  # erased: it opens a new one
                return await self.inbox.add(case_id, addition)
        agencies = self.inbox.agencies
        agency = await agencies.by_channel("mailboxes", *mail.recipients)
        _, answered_at = mail.answer_to  # where the receipt would go
        own = bool(answered_at) and (
            normal_address(answered_at) == normal_address(self.inbox.settings.mail_from)
            or await agencies.is_ours("mailboxes", answered_at)
        )
        return await self.inbox.submit(self._draft(mail, kept, agency.id, answered=not own))

    def _draft(self, mail: Mail, kept: Kept, agency: str, *, answered: bool = True) -> Draft:
        """The mail as a submission; `answered`: its receipt is mailed (never to the office's
        own mailboxes: the receipt, its secret with it, would land in the office's mailbox)."""
        name, address = mail.answer_to
        contact = Contact(name=name, email=address or None)
        kind = Kind.CONSULTATION if "konsultasi" in mail.subject.lower() else Kind.COMPLAINT
        return Draft(
            kind=kind,
            channel=Channel.EMAIL,
            text=f"{mail.subject}\n\n{kept.text}".strip(),
            received_at=mail.sent_at,
            agency=agency,  # the agency whose mailbox it was sent to
            message_id=mail.message_id,
            contact=contact if address else None,
            attachments=kept.files,
            identities=tuple(self.inbox.pseudonyms.of_contact(contact)),
            receipt=bool(address) and HANDLING[mail.kind].receipt and answered,
            refused=kept.refused,
            extra=kept.extra,
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

    def _sender_key(self, mail: Mail) -> str:
        return self.inbox.pseudonyms.of("email", mail.sender)[:16] if mail.sender else "anonim"

    def _another_sender(self, mail: Mail, replay: Receipt) -> bool:
        """Whether the mail stored under this Message-ID came from another address (a stored
        mail whose sender could not be read counts as another's only for a readable one)."""
        if not mail.sender or replay.case_id == "None":
            return False
        return not self._belongs(
            UUID(replay.case_id), self.inbox.pseudonyms.of("email", mail.sender)
        )

    def _belongs(self, case_id: UUID, email_hash: str) -> bool:
        rows = self.inbox.submissions.query(
            "SELECT 1 FROM {s}.identities WHERE case_id = %s AND hash = %s", (case_id, email_hash)
        )
        return bool(rows)


@dataclass(frozen=True)
class Kept:
    """What of a mail is stored: its text, the files that may be kept, the refused ones, and
    what else is sealed with them (its References chain, why it is unreadable)."""

    text: str
    files: tuple[Attachment, ...]
    refused: tuple[Refusal, ...]
    extra: dict[str, Any]


def _kept(settings: Settings, mail: Mail) -> Kept:
    """The attachments that may be kept and the refused ones (recorded, and named back to the
    sender like a chat's); an unreadable mail keeps its raw bytes too (sealed like any file)."""
    kept, refused = screen(settings, mail.attachments)
    extra: dict[str, Any] = {"references": list(mail.references)}
    if mail.kind == MailKind.UNREADABLE:
        extra["unreadable"] = list(mail.problems)
        kept = (*kept, Attachment(RAW_NAME, "message/rfc822", content=mail.raw))
    return Kept(mail.text.strip(), kept, refused, extra)


def _logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except (OSError, IMAPClientError) as error:
        log.info("mailbox logout: %s", error)

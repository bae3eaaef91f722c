"""Where every channel hands its messages: new submissions, conversations, later parts.

A chat is a conversation, not a case per message: while a sender's submission is open and
they wrote within the window, what they write joins it. One sender's messages are handled one
at a time (a lock per sender in this process); a message id seen before returns its receipt.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from services.intake.agencies import Agencies, scoped_key
from services.intake.draft import (
    Addition,
    Amendment,
    Draft,
    Receipt,
    content,
    refusal_deliveries,
    seal_attachments,
    to_pending,
)
from services.intake.pseudonyms import Pseudonyms
from services.intake.reach import store_call, store_up, store_write
from services.intake.records import PLATFORM_LOCK, Conversation, Rows, StoredAttachment
from services.intake.store import Submissions
from services.intake.submission import Submission, submission_id
from services.intake.writer import Writer
from shared import pii
from shared.blobs import Blob, BlobStore
from shared.channels import Channel
from shared.pii import mask
from shared.problems import Problem
from shared.receipts import without_secrets
from shared.refusals import Refused
from shared.sealing import SealingKey
from shared.settings import Settings
from shared.text import visible

T = TypeVar("T")

NEW_CONVERSATION_WORDS = frozenset({"BARU", "#BARU", "/BARU", "LAPOR BARU"})
"""What a chat sender writes to close their conversation, so the next message opens a case."""


class UnknownSubmission(Refused):
    """No submission with this id."""

    def __init__(self) -> None:
        super().__init__("Pengaduan tidak ditemukan.", code="unknown-submission")


class Erased(Refused):
    """The submission's personal data was erased: nothing can be added to it."""

    def __init__(self) -> None:
        super().__init__("Data pengaduan ini sudah dihapus.", code="erased")


class KeyReused(Refused):
    """An idempotency key sent again with another submission's content."""

    def __init__(self) -> None:
        detail = "Idempotency-Key ini sudah dipakai untuk pengaduan dengan isi yang berbeda."
        super().__init__(detail, code="idempotency-key-reused")


class NotTheSender(Refused):
    """An edit or a withdrawal of a message that another account sent."""

    def __init__(self) -> None:
        detail = "Pesan ini dikirim oleh pengirim lain; perubahan atau penarikannya ditolak."
        super().__init__(detail, code="not-the-sender")


@dataclass
class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    _locks: dict[str, tuple[asyncio.Lock, int]] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the key's lock for the block."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


LONG_TEXT = 20_000
"""Characters of a text past which finding its personal data is worth a thread of its own."""


@dataclass
class Inbox:
    """The intake's front desk for every channel."""

    settings: Settings
    writer: Writer
    submissions: Submissions
    pseudonyms: Pseudonyms
    blobs: BlobStore
    agencies: Agencies
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    committed: Callable[[], None] = lambda: None  # a delivery may be due: wake the dispatcher
    receipt_key: bytes | None = None  # receipt secrets are taken out of stored texts with it

    async def submit(self, draft: Draft) -> Receipt:
        """Store a draft durably; a repeat of a stored message returns the original receipt."""
        draft = replace(draft, text=self.without_secrets(draft.text))
        # Once, for the index of identifiers and the masked words; a long text (a mail of
        # megabytes) is read off the event loop, which other requests need meanwhile.
        long = len(draft.text) > LONG_TEXT
        found = await asyncio.to_thread(pii.find, draft.text) if long else pii.find(draft.text)
        mentioned = self.pseudonyms.of_found(pii.identifiers(draft.text, found))
        pending = to_pending(draft, mentioned)
        pending.rows.words = [(pending.case_id, mask(draft.text, found))]
        pending.rows.indexed = [pending.case_id]
        if not draft.anonymous and draft.contact is not None:
            hashes = self.pseudonyms.of_name(draft.contact.name)
            pending.rows.names = [(digest, pending.case_id) for digest in hashes]
        store_up()  # a slow upload overrunning is this request's 503, not the store's outage
        await self.blobs.put(pending.blobs)  # before the commit, never inside it
        pending.blobs.clear()  # stored: the sealed bytes need not wait for the commit
        outcome = await store_write(partial(self.writer.write, pending))
        row = outcome.row
        if outcome.replayed and draft.fingerprint and row.fingerprint != draft.fingerprint:
            raise KeyReused()
        if draft.receipt and not outcome.replayed:
            self.committed()
        return Receipt(row.tracking_code, str(row.case_id), outcome.replayed)

    async def converse(self, draft: Draft) -> Receipt:
        """A chat message: joins the sender's open submission, or opens a new one."""
        assert draft.message_id is not None
        assert draft.sender is not None
        async with self.locks.hold(draft.sender):
            replay, case_id = await store_call(self._lookup, draft)
            if replay is not None:
                return replay
            if case_id is None:
                return await self.submit(draft)
            return await self.add(case_id, _addition(draft))

    def _lookup(self, draft: Draft) -> tuple[Receipt | None, UUID | None]:
        """In one query: a receipt if the message was handled, else the open conversation."""
        assert draft.message_id is not None
        window = timedelta(minutes=self.settings.conversation_window_minutes)
        rows = self.submissions.query(
            "SELECT 'new' AS found, case_id, tracking_code FROM {s}.submission_index "
            "WHERE case_id = %(new)s UNION ALL "
            "SELECT 'part', p.case_id, i.tracking_code FROM {s}.processed_messages p "
            "LEFT JOIN {s}.submission_index i ON i.case_id = p.case_id "
            "WHERE p.channel = %(channel)s AND p.message_id = %(id)s UNION ALL "
            "SELECT 'open', case_id, NULL FROM {s}.conversations "
            "WHERE channel = %(channel)s AND sender = %(sender)s AND last_at > %(since)s",
            {
                "new": submission_id(draft.channel, draft.message_id),
                "channel": draft.channel.value,
                "id": draft.message_id,
                "sender": draft.sender,
                "since": draft.received_at - window,
            },
        )
        found = {row["found"]: row for row in rows}
        for kind in ("new", "part"):
            if kind in found:
                row = found[kind]
                code = row["tracking_code"] or ""
                return Receipt(code, str(row["case_id"]), True, added=kind == "part"), None
        return None, found["open"]["case_id"] if "open" in found else None

    async def add(self, case_id: UUID, addition: Addition) -> Receipt:
        """Add a later message to a stored submission (once per message id)."""
        addition = replace(addition, text=self.without_secrets(addition.text))
        files = await store_call(self._seal_files, case_id, addition)
        store_up()  # a slow upload overrunning is this request's 503, not the store's outage
        await self.blobs.put(files.blobs)  # before the write, never inside it (as submit does)
        async with self.locks.hold(f"case:{case_id}"):  # one part at a time: none conflicts
            receipt = await self.write(partial(self._add, case_id, addition, files))
        if addition.notify and addition.refused and not receipt.replayed:
            self.committed()  # a notice naming the refused files is due
        return receipt

    def without_secrets(self, text: str) -> str:
        """The text without a receipt secret of a code it names (a reply quoting its receipt)."""
        return without_secrets(self.receipt_key, text) if self.receipt_key else text

    async def write(self, write: Callable[[float], T]) -> T:
        """A blocking write other than a submission's (a part, a survey, an erasure), under the
        write guard: `write(due)` saves with that deadline, rolling back once past it."""
        guard = self.writer.guard
        return await store_write(lambda: guard.run(partial(write, guard.due())))

    async def client_key(self, key: str | None, *, agency: str, channel: Channel) -> str | None:
        """The message id of a client's key at an agency (services/intake/agencies.py
        `scoped_key`); a home agency's key kept as typed, before every agency's keys were
        scoped, is still found, if the submission it names is the home agency's."""
        if key is None:
            return None
        if agency != self.settings.agency:
            return scoped_key(key, agency=agency)
        return await store_call(self._home_key, key, channel)

    def _home_key(self, key: str, channel: Channel) -> str:
        scoped = scoped_key(key, agency=self.settings.agency)
        if self.submissions.find(submission_id(channel, scoped)) is not None:
            return scoped
        typed = self.submissions.submission(submission_id(channel, key))
        return key if typed is not None and typed.agency == self.settings.agency else scoped

    def replay(self, channel: Channel, message_id: str) -> Receipt | None:
        """The receipt of a message handled before, if it was."""
        row = self.submissions.find(submission_id(channel, message_id))
        if row is not None:
            return Receipt(row.tracking_code, str(row.case_id), replayed=True)
        rows = self.submissions.query(
            "SELECT p.case_id, i.tracking_code FROM {s}.processed_messages p "
            "LEFT JOIN {s}.submission_index i ON i.case_id = p.case_id "
            "WHERE p.channel = %s AND p.message_id = %s",
            (channel.value, message_id),
        )
        if not rows:
            return None
        found = rows[0]
        return Receipt(found["tracking_code"] or "", str(found["case_id"]), True, added=True)

    async def amend(self, amendment: Amendment, *, account: str) -> Receipt | None:
        """Edit or withdraw an earlier message that `account` sent, found by its id in whichever
        submission holds it (once per amendment id); None when no stored message has that id.
        NotTheSender when another account sent it: nothing is changed."""
        found = await store_call(self.replay, amendment.channel, amendment.amends)
        if found is None or found.case_id == "None":
            return None
        change = partial(self._amend, UUID(found.case_id), amendment, account)
        try:
            async with self.locks.hold(f"case:{found.case_id}"):
                return await self.write(change)
        except (Erased, ValueError):  # erased, or the id is not a message of it (an amendment)
            return None

    def _amend(
        self, case_id: UUID, amendment: Amendment, account: str, due: float | None = None
    ) -> Receipt:
        def change(submission: Submission, key: SealingKey) -> Rows:
            if not _sent_by(submission, key, amendment.channel, account):
                raise NotTheSender()
            text = amendment.text
            submission.amend(
                message_id=amendment.message_id,
                amends=amendment.amends,
                received_at=amendment.received_at,
                sealed=None if text is None else key.seal({"text": text}),
            )
            rows = Rows(processed=[(amendment.channel.value, amendment.message_id, case_id)])
            if text is not None:  # new words: found by search, and by erasure's identifiers
                rows.words = [(case_id, mask(text))]
                mentioned = self.pseudonyms.of_text(text)
                rows.mentions = [(digest, case_id) for digest in mentioned]
            return rows

        return self._save_part(case_id, amendment.channel, amendment.message_id, change, due)

    def acknowledge(self, messages: list[tuple[Channel, str]]) -> None:
        """Messages received and kept as nothing (a reaction, a kind not shown): their ids are
        remembered, so an edit or a deletion of one of them is not taken for an amendment
        that came before its message (it waited, answered 409, for ten minutes)."""
        self.submissions.execute(
            "INSERT INTO {s}.processed_messages (channel, message_id) "
            "SELECT * FROM unnest(%s::text[], %s::text[]) ON CONFLICT DO NOTHING",
            ([channel.value for channel, _ in messages], [id_ for _, id_ in messages]),
        )

    def undelivered(self, channel: Channel, failures: list[tuple[str, str]]) -> None:
        """Messages of ours the platform accepted and then could not deliver (by its id of
        them, with why): failed, as a delivery it refused at once is; an officer sees it and
        may send it again (it counted as sent). A report that overtook the answer to its send
        (no delivery has the id yet) is kept until the send is recorded, which applies it."""
        ids, reasons = [id_ for id_, _ in failures], [why for _, why in failures]
        self.submissions.execute_all(
            (
                "SELECT " + PLATFORM_LOCK.format(channel="%s", id="f.id") + " "
                "FROM unnest(%s::text[]) AS f(id) ORDER BY f.id",
                (channel.value, ids),
            ),
            (
                "UPDATE {s}.deliveries d SET sent_at = NULL, gave_up_at = now(), "
                "last_error = f.reason FROM unnest(%s::text[], %s::text[]) AS f(id, reason) "
                "WHERE d.channel = %s AND d.platform_id = f.id AND d.sent_at IS NOT NULL",
                (ids, reasons, channel.value),
            ),
            (
                "INSERT INTO {s}.early_failures (channel, platform_id, reason) "
                "SELECT %s, f.id, f.reason FROM unnest(%s::text[], %s::text[]) AS f(id, reason) "
                "WHERE NOT EXISTS (SELECT 1 FROM {s}.deliveries d "
                "WHERE d.channel = %s AND d.platform_id = f.id) ON CONFLICT DO NOTHING",
                (channel.value, ids, reasons, channel.value),
            ),
            ("DELETE FROM {s}.early_failures WHERE reported_at < now() - interval '1 day'", ()),
        )

    def end_conversation(self, channel: Channel, sender: str, message_id: str) -> None:
        """The sender asked to start afresh: their next message opens a new submission."""
        self.submissions.execute(
            "WITH fresh AS (INSERT INTO {s}.processed_messages (channel, message_id) "
            "VALUES (%(channel)s, %(id)s) ON CONFLICT DO NOTHING RETURNING 1) "
            "DELETE FROM {s}.conversations WHERE channel = %(channel)s "
            "AND sender = %(sender)s AND EXISTS (SELECT 1 FROM fresh)",
            {"channel": channel.value, "id": message_id, "sender": sender},
        )

    def _key(self, case_id: UUID) -> tuple[Submission, SealingKey]:
        """The stored submission and its personal key (refused: unknown, or erased)."""
        submission = self.submissions.submission(case_id)
        if submission is None:
            raise UnknownSubmission()
        key = self.submissions.personal_key(submission.received.personal_ref)
        if key is None or submission.erased_at is not None:
            raise Erased()
        return submission, key

    def _seal_files(self, case_id: UUID, addition: Addition) -> SealedFiles:
        """A later message's files sealed with the submission's personal key."""
        _, key = self._key(case_id)
        return SealedFiles(*seal_attachments(key, case_id, addition.attachments))

    def _add(
        self, case_id: UUID, addition: Addition, files: SealedFiles, due: float | None = None
    ) -> Receipt:
        listed, stored = files.listed, files.stored

        def change(submission: Submission, key: SealingKey) -> Rows:
            sealed = content(addition.text, listed, addition.refused, addition.data)
            # The complainant writing to their open case, on any channel, replies to the office
            # as on the tracking page (workflow: the information asked for, else a note).
            reply = addition.reply or self.submissions.closed_at(case_id) is None
            submission.add_message(
                message_id=addition.message_id,
                received_at=addition.received_at,
                sealed=key.seal(sealed | addition.extra),
                attachments=len(listed),
                reply=reply,
            )
            rows = _rows_of(addition, case_id, stored)
            mentioned = self.pseudonyms.of_text(addition.text)
            rows.mentions = [(digest, case_id) for digest in mentioned]
            if addition.notify:  # tell the sender which files were not kept
                rows.deliveries = refusal_deliveries(
                    key, case_id, addition.channel, addition.message_id, addition.refused
                )
            return rows

        return self._save_part(case_id, addition.channel, addition.message_id, change, due)

    def _save_part(
        self,
        case_id: UUID,
        channel: Channel,
        message_id: str,
        change: Callable[[Submission, SealingKey], Rows],
        due: float | None,
    ) -> Receipt:
        """Apply `change` to the stored submission and save it with the rows it returns. A part
        saved meanwhile by another writer (the save's conflict: another process; this one's
        parts come one at a time, `Inbox.add`) reloads and applies again; a replay of this very
        message answers as the first time did."""
        for _ in range(5):
            submission, key = self._key(case_id)
            rows = change(submission, key)
            try:
                self.submissions.save(submission, rows=rows, deadline=due)
            except IntegrityError:
                replay = self.replay(channel, message_id)
                if replay is not None:
                    return replay
                continue
            code = submission.received.tracking_code
            return Receipt(code, str(case_id), replayed=False, added=True)
        raise Problem(  # other processes' parts won each time: asked again, it goes in
            503,
            "Pengaduan ini sedang diperbarui; kirim lagi sebentar lagi.",
            code="submission-busy",
            headers={"Retry-After": "1"},
        )


@dataclass(frozen=True)
class SealedFiles:
    """A later message's files sealed: as the payload lists them, their rows, their bytes."""

    listed: list[dict[str, Any]]
    stored: list[StoredAttachment]
    blobs: list[Blob]


def _sent_by(submission: Submission, key: SealingKey, channel: Channel, account: str) -> bool:
    """Whether `account` on `channel` sent the submission's chat messages: its contact's, the
    account stored with its first message (a later one joins only its own sender's chat)."""
    contact = key.open(submission.received.sealed).get("contact") or {}
    return contact.get("account_channel") == channel.value and contact.get("account") == account


def _rows_of(addition: Addition, case_id: UUID, stored: list[StoredAttachment]) -> Rows:
    """The message recorded as processed, its files, the conversation's new last moment."""
    rows = Rows(
        processed=[(addition.channel.value, addition.message_id, case_id)],
        attachments=stored,
        words=[(case_id, mask(addition.text))],
    )
    if addition.sender:
        channel = addition.channel.value
        rows.conversations = [Conversation(channel, addition.sender, case_id, addition.received_at)]
    return rows


def _addition(draft: Draft) -> Addition:
    assert draft.message_id is not None
    return Addition(
        channel=draft.channel,
        message_id=draft.message_id,
        text=draft.text,
        received_at=draft.received_at,
        attachments=draft.attachments,
        sender=draft.sender,
        refused=draft.refused,
        data=draft.data,
        notify=draft.receipt,
        extra=draft.extra,
    )


def is_new_conversation_request(text: str) -> bool:
    """Whether a chat message asks to close the current conversation."""
    return " ".join(visible(text).split()).upper() in NEW_CONVERSATION_WORDS

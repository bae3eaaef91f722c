"""The delivery loop: due rows of intake.deliveries are sent, then marked sent, or retried.

Only the channels whose outbound is configured are claimed: the others' rows wait, unsent,
until the office configures them.

Rows are written in the transaction that commits the submission (or by the consumer of
workflow's events), so a message goes out only after the commit, and a crash between sending
and marking repeats at most that one message. A row is claimed by moving its `next_at` ahead
(a lease), so several intake processes never send the same row at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import asyncpg
from prometheus_client import Counter

from services.intake.agencies import (
    Agencies,
    conversation_sender,
    origin_address,
    sending_address,
)
from services.intake.outbound.mail_thread import reply_chain
from services.intake.outbound.messages import (
    PRIVATE,
    PURPOSES,
    QUOTED,
    Outgoing,
    compose,
    happened,
    in_clear,
    recipient,
)
from services.intake.outbound.senders import DeliveryFailed, Sender
from services.intake.pseudonyms import Pseudonyms
from services.intake.reach import STORE
from services.intake.records import PLATFORM_LOCK
from services.intake.store import Submissions
from services.intake.submission import Submission
from shared.channels import Channel
from shared.db import Pool, read
from shared.feed import service_credential
from shared.office_texts import OfficeTexts, clear_texts
from shared.outages import OUTAGES, Unavailable, server_of
from shared.receipts import receipt_key, secret_for
from shared.settings import Settings

log = logging.getLogger(__name__)

SENT = Counter(
    "aduan_deliveries", "Messages to complainants: sent, retried, failed", ["channel", "outcome"]
)
LEASE_SECONDS = 120
ERASED_REASON = "erased"  # as an erasure marks the deliveries it cancels (records.py)
CHAT_WINDOW = timedelta(hours=24)  # Meta's customer-service window for free-form messages
CHATS = frozenset({Channel.WHATSAPP, Channel.INSTAGRAM})  # the channels that window binds
CLAIM = (
    "UPDATE intake.deliveries SET next_at = now() + make_interval(secs => $2), "
    "attempts = attempts + 1 WHERE id IN (SELECT id FROM intake.deliveries "
    "WHERE channel = ANY($3::text[]) AND sent_at IS NULL AND gave_up_at IS NULL "
    "AND next_at <= now() ORDER BY next_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
    "RETURNING id, case_id, channel, purpose, sealed, attempts"
)


SENT_UNLESS_REPORTED = (
    "WITH early AS (DELETE FROM intake.early_failures e USING intake.deliveries d "
    "WHERE d.id = $1 AND e.channel = d.channel AND e.platform_id = $2 RETURNING e.reason) "
    "UPDATE intake.deliveries SET platform_id = $2, "
    "sent_at = CASE WHEN EXISTS (SELECT 1 FROM early) THEN NULL ELSE now() END, "
    "gave_up_at = CASE WHEN EXISTS (SELECT 1 FROM early) THEN now() END, "
    "last_error = (SELECT reason FROM early LIMIT 1), "
    "sealed = CASE WHEN $2::text IS NULL THEN NULL ELSE sealed END WHERE id = $1 "
    "RETURNING gave_up_at IS NOT NULL"
)
"""A message sent (its platform id recorded): failed instead, with the platform's reason, if
a report of its failure came first (intake.early_failures, Inbox.undelivered). What it said
is dropped once sent, unless the platform may still report it failed (it names the message
by its id): an officer then sends it again, whole."""


class Dispatcher:
    """Sends what is due; `wake()` after a commit sends without waiting for the poll."""

    def __init__(
        self,
        settings: Settings,
        submissions: Submissions,
        pool: Pool,
        senders: dict[Channel, Sender],
        pseudonyms: Pseudonyms | None = None,
        agencies: Agencies | None = None,
    ) -> None:
        self.settings, self.submissions, self.pool, self.senders = (
            settings,
            submissions,
            pool,
            senders,
        )
        self.pseudonyms = pseudonyms  # finds the sender's open chat (their last message)
        self.agencies = agencies  # an agency with its own number or mailbox sends from it
        self._wake = asyncio.Event()
        self._receipt_key: bytes | None = None
        self._credential: str | None = None

    def wake(self) -> None:
        """Something was committed for delivery."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled; an unreachable database is retried."""
        while True:
            self._wake.clear()
            try:
                if not OUTAGES.is_down(STORE) and await self.dispatch_due():
                    continue
            except Unavailable:
                pass  # the store's outage is known (said once); the watch ends it
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                if server_of(error) == STORE or isinstance(error, OSError):
                    OUTAGES.down(STORE, error)  # one line per outage; the watch ends it
                else:
                    log.warning("deliveries: %s", error)
            except Exception:
                log.exception("deliveries failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.delivery_poll_seconds)

    async def dispatch_due(self, limit: int = 20) -> int:
        """Claim and deliver up to `limit` due rows; how many were claimed."""
        if not self.senders:
            return 0
        if self._receipt_key is None:  # made under the deployment's secret, once
            self._credential = await read(self.pool, partial(service_credential, self.settings))
            self._receipt_key = receipt_key(self._credential)
        channels = [channel.value for channel in self.senders]
        rows = await self.pool.fetch(CLAIM, limit, float(LEASE_SECONDS), channels)
        await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def _deliver(self, row: asyncpg.Record) -> None:
        texts = await self._clear_texts(row)
        try:
            outgoing = await asyncio.to_thread(self._compose, row, texts)
        except Exception:
            log.exception("cannot compose delivery %s", row["id"])
            await self._retry(row, "compose failed")
            return
        if isinstance(outgoing, Outgoing):
            outgoing = await self._from_agency(outgoing)
        sender = self.senders.get(outgoing.channel) if isinstance(outgoing, Outgoing) else None
        if not isinstance(outgoing, Outgoing) or sender is None:
            reason = outgoing if isinstance(outgoing, str) else "channel not configured"
            await self.pool.execute(
                "UPDATE intake.deliveries SET gave_up_at = now(), last_error = $2 WHERE id = $1",
                row["id"],
                reason,
            )
            return
        try:
            platform_id = await sender.send(outgoing)
        except DeliveryFailed as failure:
            log.warning("delivery %s failed: %s", row["id"], failure.reason)
            await self._retry(row, failure.reason)
            return
        async with self.pool.acquire() as conn, conn.transaction():
            if platform_id is not None:
                await conn.execute(
                    "SELECT " + PLATFORM_LOCK.format(channel="$1::text", id="$2::text"),
                    row["channel"],
                    platform_id,
                )
            failed = await conn.fetchval(SENT_UNLESS_REPORTED, row["id"], platform_id)
        SENT.labels(row["channel"], "failed" if failed else "sent").inc()

    async def _from_agency(self, outgoing: Outgoing) -> Outgoing:
        """The message as sent from its agency's own address, where the agency has one."""
        if self.agencies is None:
            return outgoing
        agency = await self.agencies.origin(outgoing.agency, outgoing.channel)
        if agency is None:
            return outgoing
        address = origin_address(agency, outgoing.channel)
        return replace(outgoing, origin=address, origin_name=agency.name)

    async def _retry(self, row: asyncpg.Record, reason: str) -> None:
        attempts = int(row["attempts"])
        delay = min(self.settings.delivery_backoff_seconds * 2 ** (attempts - 1), 3600.0)
        give_up = attempts >= self.settings.delivery_max_attempts
        await self.pool.execute(
            "UPDATE intake.deliveries SET next_at = now() + make_interval(secs => $2), "
            "last_error = $3, gave_up_at = CASE WHEN $4 THEN now() END WHERE id = $1",
            row["id"],
            delay,
            reason[:200],
            give_up,
        )
        SENT.labels(row["channel"], "failed" if give_up else "retried").inc()

    async def _clear_texts(self, row: asyncpg.Record) -> OfficeTexts | None:
        """The office's text a message to the complainant's own channel quotes, in clear
        (None: not such a message, or workflow could not say: the masked text is quoted)."""
        if Channel(row["channel"]) not in PRIVATE or row["purpose"] not in QUOTED:
            return None
        if self._credential is None:
            return None
        return await clear_texts(self.settings, self._credential, row["case_id"])

    def _compose(self, row: asyncpg.Record, texts: OfficeTexts | None = None) -> Outgoing | str:
        """The message, or why there is none (the person erased, no address)."""
        submission = self.submissions.submission(row["case_id"])
        if submission is None:
            return "no submission"
        key = self.submissions.personal_key(submission.received.personal_ref)
        if key is None or submission.erased_at is not None:
            return ERASED_REASON
        opened = key.open(submission.received.sealed)
        channel = Channel(row["channel"])
        to = recipient(channel, submission, opened.get("contact"))
        if to is None:
            return "no recipient"
        details: dict[str, Any] = key.open(row["sealed"]) if row["sealed"] else {}
        if channel in PRIVATE:  # only the complainant reads it: the office's words as written
            details = in_clear(row["purpose"], details, texts)
        holder = self.submissions.holder(submission)  # a moved case speaks as its new agency
        outgoing = self._outgoing(row, submission, channel, to, details, opened, holder)
        if submission.received.channel == channel == Channel.EMAIL:  # threads on their mail
            in_reply_to, references = reply_chain(self.submissions, submission, key, opened)
            outgoing = replace(outgoing, in_reply_to=in_reply_to, references=references)
        return outgoing

    def _outgoing(
        self,
        row: asyncpg.Record,
        submission: Submission,
        channel: Channel,
        to: str,
        details: Mapping[str, Any],
        submitted: Mapping[str, Any],
        holder: tuple[str, datetime | None],
    ) -> Outgoing:
        code, purpose = submission.received.tracking_code, row["purpose"]
        secret = None
        if channel in PRIVATE and self._receipt_key is not None:
            secret = secret_for(self._receipt_key, code)
        text, link = compose(self.settings, submission, purpose, details, secret, submitted)
        told = PURPOSES.get(purpose, PURPOSES["follow_up"])
        domain = self.settings.mail_from.rsplit("@", 1)[-1].lower()
        return Outgoing(
            channel=channel,
            case_id=submission.id,
            tracking_code=code,
            to=to,
            subject=f"[{code}] {told.subject}",
            text=text,
            closed=told.closes,
            message_id=f"<aduan.{submission.id}.{purpose}.{row['id'].hex[:8]}@{domain}>",
            in_reply_to=None,
            link=link,
            happened=happened(purpose, details),
            free_text=channel not in CHATS or self._in_window(submission, channel, to, holder),
            agency=holder[0],
        )

    def _in_window(
        self,
        submission: Submission,
        channel: Channel,
        account: str,
        holder: tuple[str, datetime | None],
    ) -> bool:
        """Whether the complainant wrote on this chat within the last 24 hours: to this case,
        or to the conversation they have open now. A case moved to an agency that sends from
        another number or account counts only what they wrote since (that one's window)."""
        agency, since = holder
        times = [submission.received.received_at]
        times += [
            event.received_at
            for event in self.submissions.events.get(submission.id)
            if isinstance(event, Submission.MessageAdded) and event.channel == channel
        ]
        if self.pseudonyms is not None:
            rows = self.submissions.query(
                "SELECT last_at FROM {s}.conversations WHERE channel = %s AND sender = %s",
                (channel.value, self._conversation(agency, channel, account)),
            )
            times += [row["last_at"] for row in rows]
        if since is not None and self._sent_elsewhere(submission.agency, agency, channel):
            times = [at for at in times if at > since]
        return bool(times) and datetime.now(UTC) - max(times) < CHAT_WINDOW

    def _sent_elsewhere(self, received: str, agency: str, channel: Channel) -> bool:
        """Whether the agency that has the case sends on the channel from another address than
        the one the case was received at (unknown: assumed so)."""
        known = self.agencies.last() if self.agencies is not None else {}
        if known is None:
            return received != agency
        return sending_address(known, received, channel) != sending_address(known, agency, channel)

    def _conversation(self, agency: str, channel: Channel, account: str) -> str:
        assert self.pseudonyms is not None
        return conversation_sender(
            self.pseudonyms,
            home=self.settings.agency,
            channel=channel.value,
            account=account,
            agency=agency,
        )

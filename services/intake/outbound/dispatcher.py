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
from typing import Any

import asyncpg

from services.intake.outbound.mail_thread import reply_chain
from services.intake.outbound.messages import Outgoing, recipient, text_of
from services.intake.outbound.senders import DeliveryFailed, Sender
from services.intake.reach import STORE
from services.intake.store import Submissions
from shared.channels import Channel
from shared.db import Pool
from shared.outages import OUTAGES, server_of
from shared.settings import Settings

log = logging.getLogger(__name__)

LEASE_SECONDS = 120
SUBJECTS = {
    "receipt": "Pengaduan Anda telah kami terima",
    "closure": "Pengaduan Anda telah selesai",
    "follow_up": "Perkembangan pengaduan Anda",
    "refusal": "Lampiran Anda tidak dapat kami terima",
}
CLAIM = (
    "UPDATE intake.deliveries SET next_at = now() + make_interval(secs => $2), "
    "attempts = attempts + 1 WHERE id IN (SELECT id FROM intake.deliveries "
    "WHERE channel = ANY($3::text[]) AND sent_at IS NULL AND gave_up_at IS NULL "
    "AND next_at <= now() ORDER BY next_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
    "RETURNING id, case_id, purpose, sealed, attempts"
)


class Dispatcher:
    """Sends what is due; `wake()` after a commit sends without waiting for the poll."""

    def __init__(
        self,
        settings: Settings,
        submissions: Submissions,
        pool: Pool,
        senders: dict[Channel, Sender],
    ) -> None:
        self.settings, self.submissions, self.pool, self.senders = (
            settings,
            submissions,
            pool,
            senders,
        )
        self._wake = asyncio.Event()

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
        channels = [channel.value for channel in self.senders]
        rows = await self.pool.fetch(CLAIM, limit, float(LEASE_SECONDS), channels)
        await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def _deliver(self, row: asyncpg.Record) -> None:
        try:
            outgoing = await asyncio.to_thread(self._compose, row)
        except Exception:
            log.exception("cannot compose delivery %s", row["id"])
            await self._retry(row, "compose failed")
            return
        sender = self.senders.get(outgoing.channel) if outgoing else None
        if outgoing is None or sender is None:
            reason = "no recipient" if outgoing is None else "channel not configured"
            await self.pool.execute(
                "UPDATE intake.deliveries SET gave_up_at = now(), last_error = $2 WHERE id = $1",
                row["id"],
                reason,
            )
            return
        try:
            await sender.send(outgoing)
        except DeliveryFailed as failure:
            log.warning("delivery %s failed: %s", row["id"], failure.reason)
            await self._retry(row, failure.reason)
            return
        await self.pool.execute(
            "UPDATE intake.deliveries SET sent_at = now(), last_error = NULL, sealed = NULL "
            "WHERE id = $1",
            row["id"],
        )

    async def _retry(self, row: asyncpg.Record, reason: str) -> None:
        attempts = int(row["attempts"])
        delay = min(5.0 * 2 ** (attempts - 1), 3600.0)
        give_up = attempts >= self.settings.delivery_max_attempts
        await self.pool.execute(
            "UPDATE intake.deliveries SET next_at = now() + make_interval(secs => $2), "
            "last_error = $3, gave_up_at = CASE WHEN $4 THEN now() END WHERE id = $1",
            row["id"],
            delay,
            reason[:200],
            give_up,
        )

    def _compose(self, row: asyncpg.Record) -> Outgoing | None:
        submission = self.submissions.submission(row["case_id"])
        if submission is None or submission.erased_at is not None:
            return None
        key = self.submissions.personal_key(submission.received.personal_ref)
        if key is None:
            return None
        opened = key.open(submission.received.sealed)
        to = recipient(submission, opened.get("contact"))
        if to is None:
            return None
        details: dict[str, Any] = key.open(row["sealed"]) if row["sealed"] else {}
        text, closed = text_of(self.settings, submission, row["purpose"], details, opened)
        code = submission.received.tracking_code
        domain = self.settings.mail_from.rsplit("@", 1)[-1].lower()
        in_reply_to: str | None = None
        references: tuple[str, ...] = ()
        if submission.received.channel == Channel.EMAIL:
            in_reply_to, references = reply_chain(self.submissions, submission, key, opened)
        return Outgoing(
            channel=Channel(submission.received.channel),
            case_id=submission.id,
            tracking_code=code,
            to=to,
            subject=f"[{code}] {SUBJECTS.get(row['purpose'], SUBJECTS['follow_up'])}",
            text=text,
            closed=closed,
            message_id=f"<aduan.{submission.id}.{row['purpose']}.{row['id'].hex[:8]}@{domain}>",
            in_reply_to=in_reply_to,
            references=references,
        )

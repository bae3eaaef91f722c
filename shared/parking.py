"""Parking a message: what a consumer writes on a message it gives up on, and when it does.

A consumer parks a message itself: it publishes a copy to the dead-letter exchange (confirmed),
then acknowledges the original. The copy carries `x-aduan-parking`: how often consumers tried
the message, when it failed first and last, and why. A consumer parks at once a message it
cannot decode, and one an operator re-queued (`x-aduan-requeued`): that one spent its
attempts before it was parked. Any other failure is retried in place (never requeued: on a
quorum queue that puts the message behind later events of its case) until its attempts, the
broker's deliveries included, reach the queue's delivery limit; the last one parks it. The
queue's own limit stays as the backstop (a consumer that dies on a message every time): the
broker then dead-letters it with `x-death`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage

from shared.metrics import EVENTS_CONSUMED

log = logging.getLogger(__name__)

PARKING = "x-aduan-parking"
"""Header of a parked message: its `Parking`, as a table."""
REQUEUED = "x-aduan-requeued"
"""Header of a message an operator re-queued: the letter (first parking's id) it belongs to."""
REASON_LENGTH = 500


@dataclass(frozen=True)
class Parking:
    """Why a message was parked and after how many deliveries."""

    id: str
    letter: str  # the first parking's id: every parking of one message shares it
    deliveries: int | None
    first_failure: datetime | None
    last_failure: datetime | None
    reason: str | None

    def header(self) -> dict[str, Any]:
        """The parking as an AMQP table (times as ISO 8601 text)."""
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}

    @classmethod
    def of(cls, headers: Mapping[str, Any], *, fallback_id: str, delivery_limit: int) -> Parking:
        """The parking a parked message's headers tell; the broker's `x-death` if no consumer
        parked it (its limit spent: one delivery more than the limit, the count it leaves)."""
        table = headers.get(PARKING)
        if isinstance(table, Mapping):
            return cls(
                id=str(table["id"]),
                letter=str(table["letter"]),
                deliveries=table.get("deliveries"),
                first_failure=_time(table.get("first_failure")),
                last_failure=_time(table.get("last_failure")),
                reason=table.get("reason"),
            )
        death = (headers.get("x-death") or [{}])[0]
        why = death.get("reason")
        return cls(
            id=fallback_id,
            letter=str(headers.get(REQUEUED) or fallback_id),
            deliveries=delivery_limit + 1 if why == "delivery_limit" else None,
            first_failure=None,
            last_failure=death.get("time"),
            reason=why,
        )


def persistent_copy(message: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
    """A received message sent on again as it was (body, id, type, time), persistent, with
    these headers."""
    return aio_pika.Message(
        body=message.body,
        content_type=message.content_type,
        message_id=message.message_id,
        type=message.type,
        timestamp=message.timestamp,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers=headers,
    )


def own_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """A message's own headers, without the broker's and parking's (`x-*`)."""
    return {key: value for key, value in headers.items() if not key.startswith("x-")}


def _time(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


class Failures:
    """When each message being retried first failed (in memory: a consumer restarted while
    retrying counts times afresh; the delivery count is the broker's and survives)."""

    def __init__(self, size: int = 10_000) -> None:
        self._first: dict[str, datetime] = {}
        self.size = size

    def failed(self, key: str, at: datetime) -> datetime:
        """Note a failure; when the message first failed."""
        if key not in self._first and len(self._first) >= self.size:
            del self._first[next(iter(self._first))]
        return self._first.setdefault(key, at)

    def forget(self, key: str) -> None:
        """The message left the queue."""
        self._first.pop(key, None)


@dataclass
class Settler:
    """Settles the messages of one consuming channel: ack, or park. Never a requeue: a failed
    message is retried in place by the consumer (shared/messaging.py), so its case keeps its
    order."""

    service: str
    dead: AbstractExchange
    delivery_limit: int
    failures: Failures
    _below: int = 1  # every delivery tag of the channel below this one is settled …
    _settled: set[int] = field(default_factory=set)  # … and these above it

    async def handled(self, message: AbstractIncomingMessage) -> None:
        """Acknowledge a handled message."""
        self.failures.forget(_key(message))
        await self._settle(message, "handled", message.ack())

    async def handled_all(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        """Acknowledge handled messages: with one `ack(multiple=True)` when they and the
        channel's deliveries settled before them are every delivery up to the last (a batch
        taken from the head of the channel's deliveries), else one by one. A multiple ack
        never settles a delivery this consumer has not handled."""
        tags = {message.delivery_tag for message in messages}
        last = max(messages, key=lambda message: message.delivery_tag or 0)
        whole = last.delivery_tag is not None and all(
            tag in tags or tag in self._settled for tag in range(self._below, last.delivery_tag)
        )
        if not whole:
            for message in messages:
                await self.handled(message)
            return
        for message in messages:
            self.failures.forget(_key(message))
        await self._settle(last, "handled", last.ack(multiple=True), count=len(messages))

    async def failed(
        self, message: AbstractIncomingMessage, error: BaseException, *, attempt: int
    ) -> bool:
        """Note a failed attempt; park the message at its last allowed attempt or after a
        re-queue (True: parked, else the consumer tries it again in place)."""
        now = datetime.now(UTC)
        first = self.failures.failed(_key(message), now)
        if attempt < self.delivery_limit and REQUEUED not in _headers(message):
            EVENTS_CONSUMED.labels(self.service, "failed").inc()
            return False
        await self.park(message, reason(error), first=first, last=now, attempts=attempt)
        return True

    async def park(
        self,
        message: AbstractIncomingMessage,
        why: str,
        *,
        first: datetime | None = None,
        last: datetime | None = None,
        attempts: int | None = None,
    ) -> None:
        """Publish a copy with its parking to the parking queue, then ack the original."""
        log.error("%s: parking message %s: %s", self.service, message.message_id, why)
        self.failures.forget(_key(message))
        now = datetime.now(UTC)
        parking_id = str(uuid4())
        parking = Parking(
            id=parking_id,
            letter=str(_headers(message).get(REQUEUED) or parking_id),
            deliveries=attempts or deliveries(message),
            first_failure=first or now,
            last_failure=last or now,
            reason=why[:REASON_LENGTH],
        )
        await self._settle(message, "parked", self._park(message, parking))

    async def _park(self, message: AbstractIncomingMessage, parking: Parking) -> None:
        copy = persistent_copy(
            message, own_headers(_headers(message)) | {PARKING: parking.header()}
        )
        try:
            await self.dead.publish(copy, routing_key=self.service, mandatory=True)
        except aio_pika.exceptions.DeliveryError:  # not parked: the broker dead-letters it
            await message.reject(requeue=False)
            raise
        await message.ack()

    async def _settle(
        self,
        message: AbstractIncomingMessage,
        outcome: str,
        settling: Awaitable[Any],
        *,
        count: int | None = None,
    ) -> None:
        """Await the settling of a message (`count`: of every delivery up to it, that many of
        them handled), and note what is settled. A message delivered on a channel that has
        since closed cannot be settled: the broker delivers it again, and the idempotent
        handler makes that harmless."""
        try:
            await settling
        except (
            aio_pika.exceptions.AMQPError,
            aio_pika.exceptions.ChannelInvalidStateError,
        ) as error:
            log.info("%s: could not settle %s (%s)", self.service, message.message_id, error)
            return
        if count is not None:  # every delivery up to this one
            self._settled = {tag for tag in self._settled if tag > (message.delivery_tag or 0)}
            self._below = max(self._below, (message.delivery_tag or 0) + 1)
        elif message.delivery_tag is not None:
            self._settled.add(message.delivery_tag)
            while self._below in self._settled:
                self._settled.remove(self._below)
                self._below += 1
        EVENTS_CONSUMED.labels(self.service, outcome).inc(1 if count is None else count)


def deliveries(message: AbstractIncomingMessage) -> int:
    """How many times this message has been delivered, this time included."""
    return int(_headers(message).get("x-delivery-count") or 0) + 1


def reason(error: BaseException) -> str:
    """An error as a parking reason."""
    return f"{type(error).__name__}: {error}"


def _headers(message: AbstractIncomingMessage) -> Mapping[str, Any]:
    return message.headers or {}


def _key(message: AbstractIncomingMessage) -> str:
    return message.message_id or str(hash(message.body))

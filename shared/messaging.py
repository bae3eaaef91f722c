"""The RabbitMQ side: topology as data, confirmed publishing, and the consumer loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage
from pamqp.common import FieldTable

from shared.broker import RECONNECT_PAUSES, BrokerLink, connect, on_broker
from shared.events import (
    CONTENT_TYPE,
    ComplainantReplied,
    ComplaintImported,
    ComplaintReceived,
    ConsultationImported,
    ConsultationReceived,
    Contract,
    Envelope,
    InvalidMessage,
    PersonalDataErased,
    ResolutionDisputed,
    decode,
    encode,
)
from shared.events.workflow import CaseReopened
from shared.outages import OUTAGES, Unavailable
from shared.parking import Failures, Settler, reason
from shared.settings import Settings
from shared.vocabulary import CLOSING_EVENTS, NOTIFIED, PROGRESS_EVENTS

log = logging.getLogger(__name__)


def _topic(contract: type[Contract]) -> str:
    """A binding key for every version of a contract."""
    return f"{contract.producer}.{contract.name}.*"


# Which events each consuming service receives: binding keys on the topic exchange.
# Intake tells the complainant of the events NOTIFIED names (information request, answer,
# reopening) and (SP4N-LAPOR! follow-ups) of each step; it tracks each case's step. Workflow
# takes the complainant's replies and disputes from their tracking page.
BINDINGS: dict[str, tuple[str, ...]] = {
    "workflow": tuple(
        _topic(contract)
        for contract in (
            ComplaintReceived,
            ConsultationReceived,
            ComplaintImported,
            ConsultationImported,
            PersonalDataErased,
            ComplainantReplied,
            ResolutionDisputed,
        )
    ),
    "reporting": ("#",),
    "intake": tuple(
        f"{CaseReopened.producer}.{name}.*"
        for name in dict.fromkeys((*CLOSING_EVENTS, *PROGRESS_EVENTS, *NOTIFIED))
    ),
}


def queue_name(service: str) -> str:
    """The quorum queue a service consumes from."""
    return f"aduan.{service}"


def parking_queue(service: str) -> str:
    """Where a service's dead letters wait for an operator."""
    return f"aduan.{service}.parking"


def dead_letter_exchange(settings: Settings) -> str:
    """The exchange dead letters are routed through, keyed by service."""
    return f"{settings.exchange}.dead"


def queue_arguments(settings: Settings, service: str) -> FieldTable:
    """Quorum queue, one active consumer, explicit delivery limit, safe dead-lettering."""
    return {
        "x-queue-type": "quorum",
        "x-single-active-consumer": True,
        "x-delivery-limit": settings.delivery_limit,
        "x-dead-letter-exchange": dead_letter_exchange(settings),
        "x-dead-letter-routing-key": service,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


async def declare_topology(channel: AbstractChannel, settings: Settings) -> AbstractExchange:
    """Declare the exchanges, every service's queue and parking queue; idempotent."""
    exchange = await channel.declare_exchange(
        settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    dead = await channel.declare_exchange(
        dead_letter_exchange(settings), aio_pika.ExchangeType.DIRECT, durable=True
    )
    for service, keys in BINDINGS.items():
        parking = await channel.declare_queue(
            parking_queue(service), durable=True, arguments={"x-queue-type": "quorum"}
        )
        await parking.bind(dead, routing_key=service)
        queue = await channel.declare_queue(
            queue_name(service), durable=True, arguments=queue_arguments(settings, service)
        )
        for key in keys:
            await queue.bind(exchange, routing_key=key)
    return exchange


def to_message(envelope: Envelope) -> aio_pika.Message:
    """A persistent AMQP message carrying one structured CloudEvent."""
    return aio_pika.Message(
        body=encode(envelope),
        content_type=CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=envelope.id,
        type=envelope.type,
        timestamp=envelope.time,
        headers={"agency": envelope.agency},
    )


async def publish_confirmed(exchange: AbstractExchange, envelopes: Sequence[Envelope]) -> None:
    """Publish in order on one channel; return once the broker confirmed every one."""
    await asyncio.gather(
        *(
            exchange.publish(to_message(envelope), envelope.data.routing_key(), mandatory=True)
            for envelope in envelopes
        )
    )


BatchHandler = Callable[[Sequence[Envelope]], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    """How a service handles its queue: a batch handler and what counts as an outage.

    The handler must be idempotent and all-or-nothing per call. An exception listed in
    `transient` means the infrastructure is down: the batch is retried in place, without
    spending deliveries. Any other exception retries message by message; a message that
    keeps failing is parked on its last allowed delivery (shared/parking.py).
    """

    service: str
    handle: BatchHandler
    transient: tuple[type[BaseException], ...] = (OSError,)
    max_batch: int = 200


class ConnectionLost(Exception):
    """The broker connection (or the consuming channel) closed under a running consumer."""


async def run_consumer(settings: Settings, consumer: Consumer, link: BrokerLink) -> None:
    """Consume until cancelled, reconnecting after every outage (logged once, by OUTAGES);
    `link` holds the connection while it consumes."""
    pause = RECONNECT_PAUSES[0]
    failures = Failures()  # across reconnects: a message's first failure is remembered
    while True:
        try:
            await _consume(settings, consumer, link, failures)
        except ConnectionLost as lost:
            OUTAGES.down("rabbitmq", lost)
            pause = RECONNECT_PAUSES[0]
        except (Unavailable, aio_pika.exceptions.AMQPConnectionError, OSError) as error:
            OUTAGES.down("rabbitmq", error)  # logged once per outage, however many attempts
        except Exception:
            log.exception("%s consumer failed; starting again", consumer.service)
        await asyncio.sleep(pause)
        pause = min(pause * 2, RECONNECT_PAUSES[1])


async def _consume(
    settings: Settings, consumer: Consumer, link: BrokerLink, failures: Failures
) -> None:
    """Consume on one connection until it closes (ConnectionLost)."""
    deadline = settings.broker_deadline_seconds
    inbox: asyncio.Queue[AbstractIncomingMessage | None] = asyncio.Queue()
    reasons: list[BaseException | None] = []
    connection = await on_broker(connect(settings, f"aduan-{consumer.service}-consumer"), deadline)

    def closed(_: object, reason: BaseException | None) -> None:
        reasons.append(reason)
        inbox.put_nowait(None)

    connection.close_callbacks.add(closed)
    try:
        channel = await on_broker(
            connection.channel(publisher_confirms=True, on_return_raises=True), deadline
        )
        channel.close_callbacks.add(closed)  # a channel error alone also ends this round
        await on_broker(channel.set_qos(prefetch_count=settings.prefetch), deadline)
        await on_broker(declare_topology(channel, settings), deadline)
        dead = await on_broker(channel.get_exchange(dead_letter_exchange(settings)), deadline)
        settler = Settler(consumer.service, dead, settings.delivery_limit, failures)
        queue = await on_broker(channel.get_queue(queue_name(consumer.service)), deadline)
        await on_broker(queue.consume(inbox.put), deadline)
        link.connection = connection
        while batch := await _next_batch(inbox, consumer.max_batch):
            await _handle_batch(consumer, settler, batch)
    finally:
        link.connection = None
        await connection.close()
    raise ConnectionLost(reasons[0] if reasons and reasons[0] else "connection closed")


async def _next_batch(
    inbox: asyncio.Queue[AbstractIncomingMessage | None], limit: int
) -> list[AbstractIncomingMessage]:
    """The next deliveries (at least one); none once the connection has closed."""
    first = await inbox.get()
    if first is None:
        return []
    batch = [first]
    while len(batch) < limit and not inbox.empty():
        message = inbox.get_nowait()
        if message is None:  # closed: handle what came before, stop at the next call
            inbox.put_nowait(None)
            break
        batch.append(message)
    return batch


async def _handle_batch(
    consumer: Consumer, settler: Settler, messages: list[AbstractIncomingMessage]
) -> None:
    parsed: list[tuple[AbstractIncomingMessage, Envelope]] = []
    for message in messages:
        try:
            parsed.append((message, decode(message.body)))
        except InvalidMessage as error:
            await settler.park(message, reason(error))
    if len(parsed) == 1:  # a batch of one is its message: no second attempt in the same delivery
        await _handle_one(consumer, settler, *parsed[0])
        return
    if not parsed:
        return
    try:
        await _with_outage_retry(consumer, [envelope for _, envelope in parsed])
    except Exception:  # noqa: BLE001 - find the failing one: retry them one at a time
        for message, envelope in parsed:
            await _handle_one(consumer, settler, message, envelope)
        return
    for message, _ in parsed:
        await settler.handled(message)


async def _handle_one(
    consumer: Consumer, settler: Settler, message: AbstractIncomingMessage, envelope: Envelope
) -> None:
    try:
        await _with_outage_retry(consumer, [envelope])
    except InvalidMessage as error:
        await settler.park(message, reason(error))
    except Exception as error:
        log.exception("%s: %s %s failed", consumer.service, envelope.type, envelope.id)
        await settler.failed(message, error)
    else:
        await settler.handled(message)


async def _with_outage_retry(consumer: Consumer, envelopes: list[Envelope]) -> None:
    """Handle the batch, retrying in place through an outage: one log line when it starts,
    one when the batch gets through (never one per attempt)."""
    delay, since = 0.2, None
    while True:
        try:
            await consumer.handle(envelopes)
        except consumer.transient as error:
            if since is None:
                since = time.monotonic()
                log.warning(
                    "%s: infrastructure unavailable (%s: %s); retrying until it is back",
                    consumer.service,
                    type(error).__name__,
                    error,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        if since is not None:
            log.warning(
                "%s: handled again after %.1f s", consumer.service, time.monotonic() - since
            )
        return

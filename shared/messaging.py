"""The RabbitMQ side: topology as data, confirmed publishing, and the consumer loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)
from pamqp.common import FieldTable

from shared.events import CONTENT_TYPE, Envelope, InvalidMessage, decode, encode
from shared.parking import Failures, Settler, reason
from shared.settings import Settings

log = logging.getLogger(__name__)

# Which events each consuming service receives: binding keys on the topic exchange.
# Workflow events intake tells the complainant about: the case closed, or (SP4N-LAPOR!
# follow-ups) it moved on a step.
CLOSING_EVENTS = (
    "ResolvedDirectly",
    "FollowUpArchived",
    "FacilitationCompleted",
    "CaseRejected",
    "CaseMerged",
)
PROGRESS_EVENTS = (
    "Escalated",
    "ComplaintVerified",
    "DisposisiIssued",
    "InvestigationReported",
    "BapRecorded",
    "ConsultationFormAccepted",
    "EscalatedToBkpm",
    "BkpmAnswered",
)

BINDINGS: dict[str, tuple[str, ...]] = {
    "workflow": (
        "intake.ComplaintReceived.*",
        "intake.ConsultationReceived.*",
        "intake.ComplaintImported.*",
        "intake.ConsultationImported.*",
        "intake.PersonalDataErased.*",
    ),
    "reporting": ("#",),
    "intake": tuple(
        f"workflow.{name}.*" for name in (*CLOSING_EVENTS, *PROGRESS_EVENTS, "CaseReopened")
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


async def connect(settings: Settings, name: str) -> AbstractRobustConnection:
    """A robust connection named for the management UI."""
    return await aio_pika.connect_robust(
        settings.rabbitmq_url,
        client_properties={"connection_name": name},
        timeout=10,
    )


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


async def run_consumer(settings: Settings, consumer: Consumer, ready: asyncio.Event) -> None:
    """Consume until cancelled; `ready` is set while the broker delivers to us."""
    delay = 0.5
    failures = Failures()
    while True:
        try:
            connection = await connect(settings, f"aduan-{consumer.service}-consumer")
        except (OSError, aio_pika.exceptions.AMQPError) as error:
            log.warning("%s consumer: broker unreachable (%s); retrying", consumer.service, error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            continue
        connection.close_callbacks.add(lambda *_: ready.clear())
        connection.reconnect_callbacks.add(lambda *_: ready.set())
        try:
            await _consume(connection, settings, consumer, ready, failures)
        except (OSError, aio_pika.exceptions.AMQPError) as error:
            log.warning("%s consumer: %s; reconnecting", consumer.service, error)
        finally:
            ready.clear()
            await connection.close()


async def _consume(
    connection: AbstractRobustConnection,
    settings: Settings,
    consumer: Consumer,
    ready: asyncio.Event,
    failures: Failures,
) -> None:
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    await channel.set_qos(prefetch_count=settings.prefetch)
    await declare_topology(channel, settings)
    dead = await channel.get_exchange(dead_letter_exchange(settings))
    settler = Settler(consumer.service, dead, settings.delivery_limit, failures)
    queue = await channel.get_queue(queue_name(consumer.service))
    inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
    await queue.consume(inbox.put)
    ready.set()
    while True:
        batch = [await inbox.get()]
        while len(batch) < consumer.max_batch and not inbox.empty():
            batch.append(inbox.get_nowait())
        await _handle_batch(consumer, settler, batch)


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

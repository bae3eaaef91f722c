"""The RabbitMQ side: confirmed publishing and the consumer loop (topology: shared/topology.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
)

from shared.broker import RECONNECT_PAUSES, BrokerLink, connect, on_broker
from shared.events import Envelope, InvalidMessage, decode
from shared.outages import OUTAGES, Unavailable
from shared.parking import Failures, Settler, deliveries, reason
from shared.partitions import retire_legacy_queue
from shared.settings import Settings
from shared.topology import (
    dead_letter_exchange,
    declare_topology,
    own_partitions,
    partition_queue,
    to_message,
)

log = logging.getLogger(__name__)

RETRY_PAUSES = (0.1, 2.0)
"""A failing message's first pause before it is tried again in place, and the longest."""


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
    spending attempts. Any other exception retries message by message, in place (never
    requeued: that would put it behind later events of its case); a message that keeps
    failing is parked at its last allowed attempt (shared/parking.py).
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
        await _prepare(settings, consumer.service, connection, channel)
        dead = await on_broker(channel.get_exchange(dead_letter_exchange(settings)), deadline)
        settler = Settler(consumer.service, dead, settings.delivery_limit, failures)
        owned, others = own_partitions(settings)
        await on_broker(_subscribe(channel, consumer.service, owned, inbox.put), deadline)
        standby = asyncio.create_task(_stand_by(settings, channel, consumer.service, others, inbox))
        link.connection = connection
        try:
            while batch := await _next_batch(inbox, consumer.max_batch):
                await _handle_batch(consumer, settler, batch)
        finally:
            standby.cancel()
    finally:
        link.connection = None
        await connection.close()
    raise ConnectionLost(reasons[0] if reasons and reasons[0] else "connection closed")


async def _prepare(
    settings: Settings, service: str, connection: AbstractConnection, channel: AbstractChannel
) -> None:
    """Set the prefetch, declare the topology, and retire the service's queue of before
    (moved in rounds: what one round moved stays moved)."""
    deadline = settings.broker_deadline_seconds
    await on_broker(channel.set_qos(prefetch_count=settings.prefetch), deadline)
    await on_broker(declare_topology(channel, settings), deadline)
    await on_broker(retire_legacy_queue(connection, settings, service), 12 * deadline)


Deliver = Callable[[AbstractIncomingMessage], Awaitable[None]]


async def _subscribe(
    channel: AbstractChannel, service: str, partitions: list[int], deliver: Deliver
) -> None:
    """Register as a consumer of these partitions: the active one where none was before,
    the next in line (single active consumer) where one is."""
    for partition in partitions:
        queue = await channel.get_queue(partition_queue(service, partition))
        await queue.consume(deliver)


async def _stand_by(
    settings: Settings,
    channel: AbstractChannel,
    service: str,
    partitions: list[int],
    inbox: asyncio.Queue[AbstractIncomingMessage | None],
) -> None:
    """After a pause (processes started together each take their own partitions first),
    register for the other processes' partitions too: if one of them dies, the broker hands
    its partitions to the next consumer in line."""
    if not partitions:
        return
    await asyncio.sleep(settings.standby_delay_seconds)
    try:
        await on_broker(
            _subscribe(channel, service, partitions, inbox.put), settings.broker_deadline_seconds
        )
    except (Unavailable, aio_pika.exceptions.AMQPError, OSError) as error:
        log.warning("%s: could not stand by for other partitions: %s", service, error)
        inbox.put_nowait(None)  # a fresh round registers again


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
    await settler.handled_all([message for message, _ in parsed])


async def _handle_one(
    consumer: Consumer, settler: Settler, message: AbstractIncomingMessage, envelope: Envelope
) -> None:
    """Handle one message, retrying it in place with a growing pause (a requeue would put it
    behind later events of its case) until its attempts are spent: then it is parked."""
    attempt, pause = deliveries(message), RETRY_PAUSES[0]
    while True:
        try:
            await _with_outage_retry(consumer, [envelope])
        except InvalidMessage as error:
            await settler.park(message, reason(error))
            return
        except Exception as error:
            log.exception("%s: %s %s failed", consumer.service, envelope.type, envelope.id)
            if await settler.failed(message, error, attempt=attempt):
                return  # parked
            attempt += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_PAUSES[1])
            continue
        await settler.handled(message)
        return


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

"""Talking to the test's RabbitMQ vhost directly: publish as a relay would, read queues."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage

from shared.events import Envelope
from shared.messaging import publish_confirmed
from shared.parking import PARKING, Parking
from shared.settings import Settings
from shared.topology import declare_topology, parking_queue, to_message


@dataclass
class Bus:
    """A channel on the test vhost with the topology declared."""

    channel: AbstractChannel
    exchange: AbstractExchange

    async def publish(self, *envelopes: Envelope) -> None:
        """Publish envelopes exactly as the relay does."""
        await publish_confirmed(self.exchange, envelopes)

    async def publish_raw(self, body: bytes, routing_key: str, message_id: str) -> None:
        """Publish any bytes, e.g. a broken body."""
        message = aio_pika.Message(body=body, message_id=message_id)
        await self.exchange.publish(message, routing_key, mandatory=True)

    async def take(
        self, queue: str, count: int, within: float = 10
    ) -> list[AbstractIncomingMessage]:
        """The next `count` messages of a queue, consumed and acknowledged, in queue order."""
        source = await self.channel.get_queue(queue)
        taken: list[AbstractIncomingMessage] = []
        async with asyncio.timeout(within), source.iterator() as messages:
            async for message in messages:
                await message.ack()
                taken.append(message)
                if len(taken) == count:
                    break
        return taken

    async def depth(self, queue: str) -> int:
        """How many messages wait in a queue."""
        declared = await self.channel.declare_queue(queue, passive=True)
        count = declared.declaration_result.message_count
        return int(count or 0)


@contextlib.asynccontextmanager
async def bus(settings: Settings) -> AsyncIterator[Bus]:
    """A Bus on the settings' vhost."""
    connection = await aio_pika.connect(settings.rabbitmq_url)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await declare_topology(channel, settings)
        yield Bus(channel, exchange)
    finally:
        await connection.close()


async def park(
    settings: Settings, envelope: Envelope, service: str, parking: Parking | None = None
) -> None:
    """Put an event straight into a service's parking queue, as if it had failed there (as
    an old consumer or the broker's own limit parks it; with `parking`, as a consumer does)."""
    message = to_message(envelope)
    if parking is not None:
        message.headers[PARKING] = parking.header()
    connection = await aio_pika.connect(settings.rabbitmq_url)
    try:
        channel = await connection.channel()
        await channel.default_exchange.publish(message, routing_key=parking_queue(service))
    finally:
        await connection.close()

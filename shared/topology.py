"""The RabbitMQ topology as data: which events each service receives, and how its share is cut.

Producers publish to one topic exchange. Each consuming service has an inbox: a
consistent-hash exchange (plugin `rabbitmq_consistent_hash_exchange`) bound to the topic
exchange with the service's binding keys, hashing the `case` header over a fixed number of
partition queues. A partition is a quorum queue with a single active consumer, so every event
of one case reaches one consumer, in order, however many processes consume the service.
Changing the number of partitions re-routes cases: drain first (docs/partitions.md).
"""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange
from pamqp.common import FieldTable

from shared.events import (
    CONTENT_TYPE,
    ComplainantReplied,
    ComplaintImported,
    ComplaintReceived,
    ConsultationImported,
    ConsultationReceived,
    Contract,
    Envelope,
    PersonalDataErased,
    ResolutionDisputed,
    encode,
)
from shared.events.workflow import CaseDeclined, CaseReopened, CaseTransferred
from shared.settings import Settings
from shared.vocabulary import CLOSING_EVENTS, NOTIFIED, PROGRESS_EVENTS

HASH_PLUGIN = "rabbitmq_consistent_hash_exchange"
"""The broker plugin the inboxes need (shipped with RabbitMQ, off until enabled)."""
CASE_HEADER = "case"
"""The header every event carries its case in (its subject): what the inboxes hash on."""


def _topic(contract: type[Contract]) -> str:
    """A binding key for every version of a contract."""
    return f"{contract.producer}.{contract.name}.*"


MOVED = (CaseTransferred.name, CaseDeclined.name)
"""The events that move a case to another agency (shared/sop.py MOVES)."""

# Which events each consuming service receives: binding keys on the topic exchange.
# Intake tells the complainant of the events NOTIFIED names (information request, answer,
# reopening) and (SP4N-LAPOR! follow-ups) of each step; it tracks each case's step and, as the
# case moves between agencies (MOVED), the agency whose officers may read it. Workflow
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
        for name in dict.fromkeys((*CLOSING_EVENTS, *PROGRESS_EVENTS, *NOTIFIED, *MOVED))
    ),
}


def inbox(service: str) -> str:
    """The consistent-hash exchange that spreads a service's events over its partitions."""
    return f"aduan.{service}"


def partition_queue(service: str, partition: int) -> str:
    """One partition of a service's events: a quorum queue with one active consumer."""
    return f"aduan.{service}.{partition}"


def partition_queues(settings: Settings, service: str) -> list[str]:
    """Every partition queue of a service, in partition order."""
    return [partition_queue(service, p) for p in range(settings.partitions)]


def own_partitions(settings: Settings) -> tuple[list[int], list[int]]:
    """The partitions this process consumes first, and those it stands by for: partition p
    belongs to process p mod consumer_count."""
    count, index = settings.consumer_count, settings.consumer_index
    owned = [p for p in range(settings.partitions) if p % count == index]
    return owned, [p for p in range(settings.partitions) if p % count != index]


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
        # On a cluster, the partitions' leaders spread over the nodes (not all on the node
        # the first consumer happened to declare them on).
        "x-queue-leader-locator": "balanced",
    }


async def declare_topology(channel: AbstractChannel, settings: Settings) -> AbstractExchange:
    """Declare the exchanges, every service's inbox, partitions and parking queue; idempotent."""
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
        hashing = await channel.declare_exchange(
            inbox(service),
            aio_pika.ExchangeType.X_CONSISTENT_HASH,
            durable=True,
            arguments={"hash-header": CASE_HEADER},
        )
        for key in keys:
            await hashing.bind(exchange, routing_key=key)
        for name in partition_queues(settings, service):
            queue = await channel.declare_queue(
                name, durable=True, arguments=queue_arguments(settings, service)
            )
            await queue.bind(hashing, routing_key="1")  # the weight: every partition alike
    return exchange


def to_message(envelope: Envelope) -> aio_pika.Message:
    """A persistent AMQP message carrying one structured CloudEvent and its case."""
    return aio_pika.Message(
        body=encode(envelope),
        content_type=CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=envelope.id,
        type=envelope.type,
        timestamp=envelope.time,
        headers={"agency": envelope.agency, CASE_HEADER: str(envelope.subject)},
    )

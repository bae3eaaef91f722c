"""Operating the partitions: retiring the single queue of before, and changing their number.

`python -m shared.partitions check` lists every consuming service's partition queues found on
the broker with their depth, and exits 1 unless all are empty. `python -m shared.partitions
resize N` changes the number of partitions to N, only when all are empty: it deletes the
partition queues N and above and declares the topology with N (docs/partitions.md: stop the
producers first, wait for `check`, resize, then start every process with ADUAN_PARTITIONS=N).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import aiormq.exceptions
from aio_pika.abc import AbstractConnection, AbstractExchange, AbstractQueue

from shared.broker import connect
from shared.events import InvalidMessage, decode
from shared.parking import persistent_copy
from shared.settings import MOST_PARTITIONS, Settings
from shared.topology import (
    BINDINGS,
    CASE_HEADER,
    declare_topology,
    inbox,
    partition_queue,
)

log = logging.getLogger(__name__)


def legacy_queue(service: str) -> str:
    """The one queue a service consumed before its events were partitioned."""
    return f"aduan.{service}"


async def _depth(connection: AbstractConnection, name: str) -> int | None:
    """How many messages wait in a queue; None when there is no such queue."""
    channel = await connection.channel()  # a passive miss closes the channel
    try:
        queue = await channel.declare_queue(name, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity:
        return None
    depth = queue.declaration_result.message_count or 0
    await channel.close()
    return depth


async def retire_legacy_queue(
    connection: AbstractConnection, settings: Settings, service: str
) -> int:
    """Move what still waits in the service's queue of before into its inbox (each message to
    its case's partition, behind what is there already), then delete that queue; how many moved.
    """
    if await _depth(connection, legacy_queue(service)) is None:
        return 0
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    try:
        queue = await channel.get_queue(legacy_queue(service))
        topic = await channel.get_exchange(settings.exchange)
        for key in BINDINGS[service]:  # it takes no more events
            await queue.unbind(topic, key)
        moved = await _move(queue, await channel.get_exchange(inbox(service)), service)
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await channel.close()
    log.warning("%s: retired queue %s, %d messages moved", service, legacy_queue(service), moved)
    return moved


async def _move(queue: AbstractQueue, target: AbstractExchange, service: str) -> int:
    """Publish every message of the queue to the inbox (confirmed), then ack it; how many."""
    moved = 0
    while (message := await queue.get(no_ack=False, fail=False)) is not None:
        headers = dict(message.headers or {})
        headers.setdefault(CASE_HEADER, _case(message.body, str(message.message_id)))
        await target.publish(persistent_copy(message, headers), routing_key=service, mandatory=True)
        await message.ack()
        moved += 1
    return moved


def _case(body: bytes, fallback: str) -> str:
    """The case a message of before is about (its subject); undecodable: any partition."""
    try:
        return str(decode(body).subject)
    except InvalidMessage:
        return fallback


async def partition_depths(settings: Settings) -> dict[str, int]:
    """Every partition queue found on the broker, with its depth."""
    connection = await connect(settings, "aduan-partitions")
    try:
        found: dict[str, int] = {}
        for service in BINDINGS:
            for partition in range(MOST_PARTITIONS):
                depth = await _depth(connection, partition_queue(service, partition))
                if depth is None:
                    break
                found[partition_queue(service, partition)] = depth
        return found
    finally:
        await connection.close()


async def resize(settings: Settings, partitions: int) -> list[str]:
    """Change the number of partitions (every partition queue empty, or nothing changes);
    the queues deleted."""
    depths = await partition_depths(settings)
    if any(depths.values()):
        raise NotDrained(depths)
    resized = settings.model_copy(update={"partitions": partitions})
    extra = {partition_queue(s, p) for s in BINDINGS for p in range(partitions, MOST_PARTITIONS)}
    connection = await connect(resized, "aduan-partitions")
    try:
        channel = await connection.channel()
        for name in sorted(extra & set(depths)):
            await channel.queue_delete(name)
        await declare_topology(channel, resized)
    finally:
        await connection.close()
    return sorted(extra & set(depths))


class NotDrained(Exception):
    """Some partition still holds messages: changing their number now would re-route cases."""

    def __init__(self, depths: dict[str, int]) -> None:
        waiting = ", ".join(f"{name}: {n}" for name, n in depths.items() if n)
        super().__init__(f"partitions not drained ({waiting})")


def main(argv: list[str]) -> int:
    """The command line: check | resize N."""
    parser = argparse.ArgumentParser(prog="python -m shared.partitions")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="list the partition queues; exit 1 unless all are empty")
    resizing = commands.add_parser("resize", help="change the number of partitions (drained)")
    resizing.add_argument(
        "partitions", type=int, choices=range(1, MOST_PARTITIONS + 1), metavar="N"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "check":
        depths = asyncio.run(partition_depths(settings))
        for name, depth in depths.items():
            print(f"{name}\t{depth}")
        return 1 if any(depths.values()) else 0
    try:
        deleted = asyncio.run(resize(settings, args.partitions))
    except NotDrained as error:
        print(f"{error}: stop the producers and wait until `check` passes", file=sys.stderr)
        return 1
    print(f"{args.partitions} partitions per service; deleted: {', '.join(deleted) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

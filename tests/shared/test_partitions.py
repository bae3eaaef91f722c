"""Consumers partitioned by case, against a real broker: every event of a case reaches one
partition in order, several consumer processes share the partitions, and a process killed
mid-load loses nothing and counts nothing twice."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from pathlib import Path
from uuid import UUID

import aio_pika
import pytest

from shared.broker import BrokerLink, connect
from shared.messaging import Consumer, run_consumer
from shared.partitions import (
    NotDrained,
    legacy_queue,
    partition_depths,
    resize,
    retire_legacy_queue,
)
from shared.service import background
from shared.settings import Settings
from shared.topology import (
    BINDINGS,
    CASE_HEADER,
    own_partitions,
    partition_queue,
    partition_queues,
    to_message,
)
from tests.bus import bus
from tests.partitions import handled, interleaved, prepare, recorded, workers
from tests.polling import eventually
from tests.samples import complaint_received
from tests.shared.test_messaging import Recorder

log = logging.getLogger(__name__)


@pytest.fixture
def partitioned(settings: Settings) -> Settings:
    return settings.model_copy(update={"partitions": 6, "standby_delay_seconds": 1.0})


async def test_every_event_of_a_case_lands_in_one_partition_in_order(
    partitioned: Settings,
) -> None:
    events = interleaved(cases=40, notes=3)
    async with bus(partitioned) as connected:
        await connected.publish(*events)
        landed: dict[UUID, set[str]] = defaultdict(set)
        order: dict[UUID, list[str]] = defaultdict(list)
        for name in partition_queues(partitioned, "reporting"):
            depth = await connected.depth(name)
            for message in await connected.take(name, depth) if depth else []:
                case = UUID(str(message.headers["case"]))
                landed[case].add(name)
                order[case].append(str(message.message_id))
        for service in BINDINGS:  # every service's inbox is declared with its partitions
            for name in partition_queues(partitioned, service):
                await connected.depth(name)
    assert sum(len(ids) for ids in order.values()) == len(events)
    assert {len(queues) for queues in landed.values()} == {1}
    assert len(set().union(*landed.values())) > 1  # the cases are spread
    for case, ids in order.items():
        assert ids == [e.id for e in events if e.subject == case]


async def test_three_processes_share_the_partitions_and_keep_each_case_in_order(
    partitioned: Settings, tmp_path: Path
) -> None:
    await prepare(partitioned)
    events = interleaved(cases=60, notes=8)
    began = time.monotonic()
    with workers(partitioned, 3, tmp_path):
        async with bus(partitioned) as connected:
            await connected.publish(*events)

        async def all_handled() -> bool:
            return await handled(partitioned) == len(events)

        assert await eventually(all_handled, within=60, interval=0.2)
    log.warning("3 processes: %d events in %.1f s", len(events), time.monotonic() - began)
    outcome = await recorded(partitioned)
    assert outcome.violations == []
    assert outcome.gaps == 0
    assert outcome.duplicates == 0
    assert outcome.consumers_per_case == 1
    assert sorted(outcome.by_consumer) == [0, 1, 2]  # each took its own partitions


async def test_a_consumer_killed_mid_load_loses_nothing_and_counts_nothing_twice(
    partitioned: Settings, tmp_path: Path
) -> None:
    await prepare(partitioned)
    events = interleaved(cases=100, notes=18)  # 2,000 events
    began = time.monotonic()
    with workers(partitioned, 3, tmp_path) as running:
        async with bus(partitioned) as connected:
            await connected.publish(*events)

        async def some_handled(count: int) -> bool:
            return await handled(partitioned) >= count

        assert await eventually(lambda: some_handled(len(events) // 5), within=60, interval=0.05)
        running.kill(0)
        killed_at = await handled(partitioned)
        # Beyond the two thirds the live processes own: the killed one's partitions moved.
        assert await eventually(lambda: some_handled(len(events) * 85 // 100), within=60)
        running.start(0)
        assert await eventually(lambda: some_handled(len(events)), within=90, interval=0.2)
    outcome = await recorded(partitioned)
    log.warning(
        "kill mid-load: %d events in %.1f s, killed at %d handled, %d deliveries seen twice",
        len(events),
        time.monotonic() - began,
        killed_at,
        outcome.duplicates,
    )
    assert outcome.handled == len(events)
    assert outcome.violations == []
    assert outcome.gaps == 0


async def test_the_queue_of_before_is_moved_into_the_partitions_and_retired(
    partitioned: Settings,
) -> None:
    """A broker upgraded from the single queue per service: what waits there is consumed in
    each case's order, and the old queue goes."""
    events = interleaved(cases=4, notes=2)
    connection = await aio_pika.connect(partitioned.rabbitmq_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        topic = await channel.declare_exchange(
            partitioned.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        old = await channel.declare_queue(
            legacy_queue("reporting"), durable=True, arguments={"x-queue-type": "quorum"}
        )
        await old.bind(topic, routing_key="#")
        for envelope in events:  # as published before: no case header
            message = to_message(envelope)
            del message.headers[CASE_HEADER]
            await topic.publish(message, envelope.data.routing_key())
    finally:
        await connection.close()
    recorder = Recorder()
    async with background(run_consumer(partitioned, Consumer("reporting", recorder), BrokerLink())):

        async def all_handled() -> bool:
            return set(recorder.handled) >= {e.id for e in events}

        assert await eventually(all_handled, within=20)
    for case in {e.subject for e in events}:
        mine = [e.id for e in events if e.subject == case]
        assert [i for i in recorder.handled if i in mine] == mine
    again = await connect(partitioned, "aduan-test")
    try:
        assert await retire_legacy_queue(again, partitioned, "reporting") == 0  # gone
    finally:
        await again.close()


async def test_the_number_of_partitions_changes_only_when_they_are_drained(
    partitioned: Settings,
) -> None:
    async with bus(partitioned) as connected:
        await connected.publish(complaint_received())
        with pytest.raises(NotDrained):
            await resize(partitioned, 2)
        assert len(await partition_depths(partitioned)) == 6 * len(BINDINGS)  # nothing changed
        for name, depth in (await partition_depths(partitioned)).items():
            if depth:
                await connected.take(name, depth)
    deleted = await resize(partitioned, 2)
    assert deleted == sorted(partition_queue(s, p) for s in BINDINGS for p in range(2, 6))
    left = await partition_depths(partitioned)
    assert sorted(left) == sorted(partition_queue(s, p) for s in BINDINGS for p in range(2))


def test_each_partition_belongs_to_one_process_and_every_process_stands_by_for_the_rest() -> None:
    owners: list[int] = []
    for index in range(3):
        owned, others = own_partitions(
            Settings(partitions=8, consumer_count=3, consumer_index=index)
        )
        assert sorted(owned + others) == list(range(8))
        owners += owned
    assert sorted(owners) == list(range(8))
    second = Settings(partitions=8, consumer_index=1, consumer_count=3)
    assert own_partitions(second)[0] == [1, 4, 7]
    with pytest.raises(ValueError, match="consumer_index"):
        Settings(consumer_index=3, consumer_count=3)

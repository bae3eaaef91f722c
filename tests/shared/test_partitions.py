"""Consumers partitioned by case, against a real broker: every event of a case reaches one
partition in order, several consumer processes share the partitions, and a process killed
mid-load loses nothing and counts nothing twice."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from pathlib import Path
from uuid import UUID

import pytest

from shared.settings import Settings
from shared.topology import BINDINGS, partition_queues
from tests.bus import bus
from tests.partitions import handled, interleaved, prepare, recorded, workers
from tests.polling import eventually

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

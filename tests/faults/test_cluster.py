"""The partitioned consumers on a three-node RabbitMQ cluster of the test's own: one node
stopped and started again mid-load loses nothing, and every case stays in order (checked
by the versions the consumer processes record in PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.settings import Settings
from shared.topology import partition_queues
from tests.bus import bus
from tests.faults.rabbitmq_cluster import ClusterNode, rabbitmq_cluster
from tests.partitions import handled, interleaved, prepare, recorded, workers
from tests.polling import eventually

pytestmark = pytest.mark.fault
log = logging.getLogger(__name__)


@pytest.fixture
def cluster() -> Iterator[list[ClusterNode]]:
    with rabbitmq_cluster(3) as nodes:
        log.warning("three-node cluster up in %.1f s", nodes[0].start_seconds)
        yield nodes


async def members(node: ClusterNode, queue: str) -> int:
    """How many nodes hold a replica of a quorum queue."""
    api = f"http://127.0.0.1:{node.management_port}/api/queues/%2F/{queue}"
    async with httpx.AsyncClient(auth=("guest", "guest"), timeout=10) as http:
        return len((await http.get(api)).json().get("members", []))


async def test_a_node_stopped_and_restarted_mid_load_loses_nothing_and_keeps_each_case_in_order(
    settings: Settings, cluster: list[ClusterNode], tmp_path: Path
) -> None:
    first, stopped = cluster[0], cluster[1]
    on_cluster = settings.model_copy(
        update={
            "rabbitmq_url": first.url,
            "rabbitmq_management_url": first.management_url,
            "partitions": 6,
            "standby_delay_seconds": 1.0,
        }
    )
    await prepare(on_cluster)
    events = interleaved(cases=150, notes=18)  # 3,000 events
    half = len(events) // 2
    began = time.monotonic()
    urls = tuple(node.url for node in cluster)  # consumer process i talks to node i
    with workers(on_cluster, 3, tmp_path, urls):
        async with bus(on_cluster) as connected:
            await connected.publish(*events[:half])
            for queue in partition_queues(on_cluster, "reporting"):
                assert await members(first, queue) == 3  # replicated on every node

            async def some_handled(count: int) -> bool:
                return await handled(on_cluster) >= count

            assert await eventually(lambda: some_handled(len(events) // 5), within=120)
            stopping = time.monotonic()
            await asyncio.to_thread(stopped.stop)
            stop_seconds = time.monotonic() - stopping
            await connected.publish(*events[half:])  # a majority of two takes them
        assert await eventually(lambda: some_handled(len(events) * 7 // 10), within=120)
        starting = time.monotonic()
        await asyncio.to_thread(stopped.start)
        start_seconds = time.monotonic() - starting
        assert await eventually(lambda: some_handled(len(events)), within=180, interval=0.2)
    outcome = await recorded(on_cluster)
    log.warning(
        "cluster: %d events in %.1f s; node stopped in %.1f s, started in %.1f s; "
        "%d deliveries seen twice; by process %s",
        len(events),
        time.monotonic() - began,
        stop_seconds,
        start_seconds,
        outcome.duplicates,
        outcome.by_consumer,
    )
    assert outcome.handled == len(events)
    assert outcome.violations == []
    assert outcome.gaps == 0

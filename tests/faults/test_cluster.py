"""The partitioned consumers on a three-node RabbitMQ cluster of the test's own: one node
stopped and started again mid-load loses nothing, and every case stays in order (checked
by the versions the consumer processes record in PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared.channels import Channel
from shared.events import ComplainantReplied, Envelope, seal
from shared.settings import Settings
from shared.topology import partition_queues
from tests.bus import bus
from tests.faults.rabbitmq_cluster import ClusterNode
from tests.partitions import handled, interleaved, prepare, recorded, workers
from tests.polling import eventually
from tests.samples import complaint_received
from tests.system import System, with_free_ports

pytestmark = pytest.mark.fault
log = logging.getLogger(__name__)


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


def replied(received: Envelope) -> Envelope:
    """The complainant's reply to a received complaint (intake's second event of the case)."""
    data = ComplainantReplied(
        case_id=received.subject, channel=Channel.WEB, received_at=datetime.now(UTC)
    )
    return seal(
        data, subject=received.subject, version=2, time=datetime.now(UTC), agency=received.agency
    )


async def versions(settings: Settings, producer: str = "workflow") -> Counter[int]:
    """How many cases reporting holds at each version of a producer's stream."""
    conn = await asyncpg.connect(settings.postgres_dsn())
    try:
        rows = await conn.fetch(
            "SELECT version, count(*) AS n FROM reporting.stream_positions "
            "WHERE source = $1 GROUP BY version",
            f"/aduan/{producer}",
        )
    except asyncpg.UndefinedTableError:
        return Counter()
    finally:
        await conn.close()
    return Counter({row["version"]: row["n"] for row in rows})


async def test_workflow_and_reporting_in_two_processes_each_ride_out_a_node_restart(
    settings: Settings, cluster: list[ClusterNode], tmp_path: Path
) -> None:
    """The real handlers: workflow opens a case per submission and notes the reply that
    follows it (a reply before its case is dropped: order matters); reporting projects both.
    Process pair 0 talks to node 0, pair 1 to node 1, which is stopped and started again."""
    base = with_free_ports(settings).model_copy(
        update={
            "rabbitmq_management_url": cluster[0].management_url,
            "partitions": 4,
            "consumer_count": 2,
            "standby_delay_seconds": 1.0,
        }
    )
    pairs = [
        System(
            with_free_ports(base).model_copy(
                update={"rabbitmq_url": cluster[i].url, "consumer_index": i, "clock": i == 0}
            ),
            tmp_path / str(i),
        )
        for i in range(2)
    ]
    received = [complaint_received() for _ in range(200)]
    began = time.monotonic()
    try:
        for system in pairs:
            system.logs.mkdir()
            await asyncio.gather(system.start("workflow"), system.start("reporting"))
        started = time.monotonic() - began
        async with bus(pairs[0].settings) as connected:
            await connected.publish(*[e for r in received[:100] for e in (r, replied(r))])
            await asyncio.to_thread(cluster[1].stop)
            await connected.publish(*[e for r in received[100:] for e in (r, replied(r))])
        await asyncio.to_thread(cluster[1].start)

        async def all_noted() -> bool:
            return (await versions(base))[2] == len(received)

        assert await eventually(all_noted, within=180, interval=0.5)
    finally:
        for system in pairs:
            for service in list(system.processes):
                await system.stop(service)
    log.warning(
        "system on the cluster: 4 processes ready in %.1f s; %d cases opened and noted in %.1f s",
        started,
        len(received),
        time.monotonic() - began,
    )
    assert await versions(base) == Counter({2: len(received)})  # each reply noted, once
    assert await versions(base, "intake") == Counter({2: len(received)})

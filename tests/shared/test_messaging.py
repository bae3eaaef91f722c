"""The consumer loop against a real broker: poison is parked, outages are waited out."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import aiormq.exceptions
import pytest

from shared.broker import BrokerLink, connect
from shared.events import Envelope
from shared.messaging import Consumer, run_consumer
from shared.metrics import EVENTS_CONSUMED
from shared.parking import REQUEUED, Failures, Parking, Settler
from shared.service import background
from shared.settings import Settings
from shared.topology import parking_queue, partition_queue, to_message
from tests.bus import Bus, bus
from tests.infrastructure import free_port
from tests.polling import eventually
from tests.samples import complaint_received


@pytest.fixture
def limited(settings: Settings) -> Settings:
    return settings.model_copy(update={"delivery_limit": 3})


@pytest.fixture
async def test_bus(limited: Settings) -> AsyncIterator[Bus]:
    async with bus(limited) as connected:
        yield connected


class Recorder:
    """A handler that records what it saw and fails on demand."""

    def __init__(self, *, poison: frozenset[str] = frozenset(), outages: int = 0) -> None:
        self.handled: list[str] = []
        self.attempts: Counter[str] = Counter()
        self.poison, self.outages = poison, outages

    async def __call__(self, envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            self.attempts[envelope.id] += 1
            if envelope.id in self.poison:
                raise RuntimeError("cannot handle this one")
        if self.outages:
            self.outages -= 1
            raise ConnectionRefusedError("database down")
        self.handled.extend(envelope.id for envelope in envelopes)


async def test_a_failing_message_is_parked_after_the_delivery_limit_and_the_rest_flow(
    limited: Settings, test_bus: Bus
) -> None:
    poison, *good = [complaint_received() for _ in range(6)]
    recorder = Recorder(poison=frozenset({poison.id}))
    await test_bus.publish(poison, *good)
    consumer = Consumer("reporting", recorder, max_batch=10)
    async with background(run_consumer(limited, consumer, BrokerLink())):

        async def parked() -> bool:
            return await test_bus.depth(parking_queue("reporting")) == 1

        assert await eventually(parked, within=15)
        assert await eventually(lambda: _all(recorder.handled, good), within=5)
    assert recorder.attempts[poison.id] >= limited.delivery_limit
    [dead] = await test_bus.take(parking_queue("reporting"), 1)
    assert dead.message_id == poison.id
    parking = Parking.of(dead.headers, fallback_id="-", delivery_limit=limited.delivery_limit)
    assert parking.deliveries == limited.delivery_limit
    assert parking.reason == "RuntimeError: cannot handle this one"
    assert parking.first_failure is not None
    assert parking.last_failure is not None
    assert parking.first_failure < parking.last_failure
    assert parking.letter == parking.id
    assert dead.headers["agency"] == poison.agency  # the message's own headers travel with it


async def test_a_message_an_operator_requeued_is_parked_at_its_first_failure(
    limited: Settings, test_bus: Bus
) -> None:
    poison = complaint_received()
    recorder = Recorder(poison=frozenset({poison.id}))
    message = to_message(poison)
    message.headers[REQUEUED] = "letter-1"
    await test_bus.exchange.publish(message, poison.data.routing_key(), mandatory=True)
    async with background(run_consumer(limited, Consumer("reporting", recorder), BrokerLink())):

        async def parked() -> bool:
            return await test_bus.depth(parking_queue("reporting")) == 1

        assert await eventually(parked, within=15)
    assert recorder.attempts[poison.id] == 1
    [dead] = await test_bus.take(parking_queue("reporting"), 1)
    parking = Parking.of(dead.headers, fallback_id="-", delivery_limit=limited.delivery_limit)
    assert (parking.letter, parking.deliveries) == ("letter-1", 1)


async def test_broken_and_unknown_messages_are_parked_without_reaching_the_handler(
    limited: Settings, test_bus: Bus
) -> None:
    recorder = Recorder()
    good = complaint_received()
    await test_bus.publish_raw(b"{not json", "intake.ComplaintReceived.v1", "broken")
    unknown = b'{"specversion":"1.0","id":"u1","source":"/x","type":"aduan.Nope.v1","data":{}}'
    await test_bus.publish_raw(unknown, "intake.Nope.v1", "unknown")
    await test_bus.publish(good)
    async with background(run_consumer(limited, Consumer("reporting", recorder), BrokerLink())):
        assert await eventually(lambda: _all(recorder.handled, [good]), within=10)

        async def both_parked() -> bool:
            return await test_bus.depth(parking_queue("reporting")) == 2

        assert await eventually(both_parked, within=10)
    parked = {message.message_id for message in await test_bus.take(parking_queue("reporting"), 2)}
    assert parked == {"broken", "unknown"}
    assert recorder.attempts == Counter({good.id: 1})


async def test_an_outage_is_retried_in_place_without_spending_deliveries(
    limited: Settings, test_bus: Bus
) -> None:
    recorder = Recorder(outages=limited.delivery_limit + 2)
    envelope = complaint_received()
    await test_bus.publish(envelope)
    async with background(run_consumer(limited, Consumer("reporting", recorder), BrokerLink())):
        assert await eventually(lambda: _all(recorder.handled, [envelope]), within=20)
    assert await test_bus.depth(parking_queue("reporting")) == 0


async def test_a_run_of_messages_is_acknowledged_as_a_whole_and_none_comes_back(
    limited: Settings, test_bus: Bus
) -> None:
    """Batches are acknowledged with one multiple ack each: once the consumer is gone, every
    message has left its queue (none was left unacknowledged) and each was handled once."""
    envelopes = [complaint_received() for _ in range(300)]
    await test_bus.publish(*envelopes)
    recorder = Recorder()
    handled = EVENTS_CONSUMED.labels("reporting", "handled")
    before = handled._value.get()
    async with background(run_consumer(limited, Consumer("reporting", recorder), BrokerLink())):
        assert await eventually(lambda: _all(recorder.handled, envelopes), within=20)
        assert await eventually(lambda: _counted(handled, before + 300), within=5)
    queues = [partition_queue("reporting", p) for p in range(limited.partitions)]
    assert [await test_bus.depth(queue) for queue in queues] == [0] * limited.partitions
    assert Counter(recorder.handled) == Counter({envelope.id: 1 for envelope in envelopes})


async def _counted(counter: Any, wanted: float) -> bool:
    return bool(counter._value.get() == wanted)


class Delivered:
    """What the settler reads and calls of a delivered message (its tag, its acks)."""

    def __init__(self, tag: int, acks: list[tuple[int, bool]]) -> None:
        self.delivery_tag, self.message_id, self.body = tag, f"m{tag}", b""
        self.headers: dict[str, Any] = {}
        self._acks = acks

    async def ack(self, multiple: bool = False) -> None:
        self._acks.append((self.delivery_tag, multiple))


async def test_a_multiple_ack_never_settles_a_delivery_not_yet_handled() -> None:
    acks: list[tuple[int, bool]] = []
    settler = Settler("reporting", cast(Any, None), 3, Failures())
    one, two, three, four, five, six = (cast(Any, Delivered(tag, acks)) for tag in range(1, 7))
    await settler.handled_all([one, two])  # the head of the deliveries: one ack for both
    assert acks == [(2, True)]
    await settler.handled_all([four, five])  # three not yet settled: each alone
    assert acks[1:] == [(4, False), (5, False)]
    await settler.handled(three)
    await settler.handled_all([six])  # one to six are all settled now
    assert acks[3:] == [(3, False), (6, True)]


async def _all(handled: list[str], expected: list[Envelope]) -> bool:
    return set(handled) >= {envelope.id for envelope in expected}


async def test_a_failed_connection_attempt_leaves_no_close_for_the_garbage_collector(
    settings: Settings,
) -> None:
    """aio_pika drops a connection whose handshake failed without closing it; collected in a
    worker thread, its `__del__` made a `close()` coroutine nobody awaited."""
    url = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    refused = settings.model_copy(update={"rabbitmq_url": url})
    gc.disable()  # the collector runs where it is triggered: here, in a worker thread
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                with pytest.raises(aiormq.exceptions.AMQPConnectionError):
                    await connect(refused, "aduan-test")
            await asyncio.to_thread(gc.collect)
            await asyncio.sleep(0)
    finally:
        gc.enable()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []

"""A server known away: a request's call to it is a short probe, not a full deadline."""

from __future__ import annotations

import asyncio
import time

import pytest

from shared.outages import AWAY_SECONDS, DEADLINE_SECONDS, OUTAGES, Outages, Unavailable, within


def test_a_request_waits_the_full_deadline_only_while_no_outage_is_on() -> None:
    outages = Outages()
    assert outages.deadline("rabbitmq") == DEADLINE_SECONDS
    outages.down("rabbitmq", "no answer within 1.5 s")
    assert outages.deadline("rabbitmq") == AWAY_SECONDS
    assert outages.deadline("rabbitmq", 0.2) == 0.2  # a shorter deadline stays
    assert outages.deadline("postgres") == DEADLINE_SECONDS  # only the server away
    outages.up("rabbitmq")
    assert outages.deadline("rabbitmq") == DEADLINE_SECONDS


async def test_a_silent_call_during_an_outage_gives_up_after_the_short_deadline() -> None:
    outages = Outages()
    outages.down("rabbitmq", "frozen")
    silent = asyncio.get_running_loop().create_future()  # a call that never answers
    began = time.monotonic()
    try:
        with pytest.raises(Unavailable):
            await within("rabbitmq", silent, outages.deadline("rabbitmq"))
    finally:
        OUTAGES.up("rabbitmq")  # `within` told this process's outages; other tests share them
    waited = time.monotonic() - began
    assert AWAY_SECONDS <= waited < DEADLINE_SECONDS
    assert silent.cancelled()

"""Wire contracts: CloudEvents 1.0 out, validated contracts in, anything else refused."""

from __future__ import annotations

import json

import pytest

from shared.events import ComplaintReceived, InvalidMessage, decode, encode
from shared.feed import decode_page
from tests.samples import case_opened, complaint_received


def test_an_envelope_survives_the_wire() -> None:
    received = complaint_received()
    assert decode(encode(received)) == received
    opened = case_opened(received)
    assert decode(encode(opened)) == opened


def test_the_wire_form_is_a_structured_cloudevent() -> None:
    received = complaint_received()
    body = json.loads(encode(received))
    assert body["specversion"] == "1.0"
    assert body["type"] == "aduan.ComplaintReceived.v1"
    assert body["source"] == "/aduan/intake"
    assert body["subject"] == str(received.subject)
    assert body["agency"] == received.agency
    assert body["streamversion"] == 1
    assert set(body["data"]) >= {"case_id", "tracking_code", "kind", "channel", "received_at"}


def test_a_republished_event_keeps_its_id() -> None:
    received = complaint_received()
    again = complaint_received(received.subject, received_at=received.time)
    assert again.id == received.id


def test_fields_a_newer_producer_adds_are_ignored() -> None:
    body = json.loads(encode(complaint_received()))
    body["data"]["added_later"] = "ok"
    assert isinstance(decode(json.dumps(body).encode()).data, ComplaintReceived)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b"\xff\xfe",
        b'{"specversion":"1.0","id":"1","source":"/x","type":"aduan.Unknown.v1"}',
        b'{"specversion":"1.0","id":"1","source":"/x","type":"aduan.CaseOpened.v1","data":{}}',
    ],
)
def test_what_is_not_a_valid_event_is_invalid(body: bytes) -> None:
    with pytest.raises(InvalidMessage):
        decode(body)


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("specversion", "0.3"),
        ("id", ""),
        ("source", ""),
        ("time", "2026-12-06T09:00:00"),  # no offset: no moment
        ("subject", "bukan-uuid"),
        ("streamversion", "satu"),
        ("agency", None),
    ],
)
def test_a_well_formed_event_with_one_bad_attribute_is_invalid(
    attribute: str, value: object
) -> None:
    body = json.loads(encode(complaint_received()))
    decode(json.dumps(body).encode())  # as it is, it is valid
    body[attribute] = value
    with pytest.raises(InvalidMessage):
        decode(json.dumps(body).encode())


def _page(*events: bytes, following: int = 7) -> bytes:
    return b'{"next":%d,"events":[%s]}' % (following, b",".join(events))


def test_a_feed_page_reads_as_its_events_one_by_one_do() -> None:
    received = complaint_received()
    opened = case_opened(received)
    assert decode_page(_page(encode(received), encode(opened))) == ([received, opened], 7)
    assert decode_page(_page(following=0)) == ([], 0)


@pytest.mark.parametrize(
    "event",
    [
        b"[]",
        b"1",
        b'{"specversion":"1.0","id":"1","source":"/x","type":"aduan.Unknown.v1"}',
        b'{"specversion":"1.0","id":"1","source":"/x","type":"aduan.CaseOpened.v1","data":{}}',
    ],
)
def test_a_feed_page_with_an_event_that_is_not_valid_is_invalid(event: bytes) -> None:
    with pytest.raises(InvalidMessage):
        decode_page(_page(encode(complaint_received()), event))


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("specversion", "0.3"),
        ("id", ""),
        ("time", "2026-12-06T09:00:00"),
        ("subject", "bukan-uuid"),
        ("agency", None),
    ],
)
def test_a_feed_page_checks_each_attribute_as_decode_does(attribute: str, value: object) -> None:
    body = json.loads(encode(complaint_received()))
    body[attribute] = value
    with pytest.raises(InvalidMessage):
        decode_page(_page(json.dumps(body).encode()))


@pytest.mark.parametrize("body", [b"", b"{", b'{"events":[]}', b'{"next":"x","events":[]}'])
def test_what_is_not_a_feed_page_is_invalid(body: bytes) -> None:
    with pytest.raises(InvalidMessage):
        decode_page(body)

"""Acceptance: Open311 GeoReport v2 at /open311/v2/ through both front doors, read by the
`georeport` client from PyPI; a POST becomes a case in the rekap under the `open311` channel;
no GET answer carries personal data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from xml.etree import ElementTree

import georeport  # type: ignore[import-untyped]
import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from shared.categories import CATEGORIES
from shared.open311 import CONSULTATION
from tests.front_door import DOORS, FrontDoors, front_doors
from tests.infrastructure import base_settings, create_isolated, destroy_isolated
from tests.polling import eventually
from tests.system import with_free_ports

pytestmark = pytest.mark.asyncio(loop_scope="module")

KEY = "kunci-mitra-uji"
FORMATS = ("json", "xml")
PERSON = {
    "first_name": "Siti",
    "last_name": "Rahmawati",
    "email": "siti.rahma@example.id",
    "phone": "0812-3456-7890",
}
PLACE = {"address_string": "Jl. Melati No. 7, Kebomas", "lat": "-7.161367", "long": "112.651"}
WORDS = "Izin usaha saya belum terbit setelah tiga minggu menunggu di loket."
# Every spelling of the person and the place an answer could carry.
PERSONAL = (
    "Siti",
    "Rahmawati",
    "siti.rahma",
    "example.id",
    "81234567890",
    "0812-",
    "Melati",
    "-7.16",
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def office(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FrontDoors]:
    """One office for the module with one partner key, behind the gateway and nginx."""
    settings = await create_isolated(
        base_settings().model_copy(
            update={"open311_api_keys": SecretStr(KEY), "rate_ip_per_minute": 500}
        )
    )
    try:
        logs = tmp_path_factory.mktemp("open311")
        async with front_doors(with_free_ports(settings), logs) as doors:
            yield doors
    finally:
        await destroy_isolated(settings)


@pytest.fixture(params=DOORS)
def origin(request: pytest.FixtureRequest, office: FrontDoors) -> str:
    """The base URL of one front door."""
    return office.origin(request.param)


def georeport_client(origin: str, agency: str, fmt: str) -> Any:
    """The outside client, pointed at our endpoint."""
    return georeport.GeoReport(f"{origin}/open311/v2", jurisdiction=agency, output_format=fmt)


async def post(origin: str, fmt: str, fields: dict[str, str]) -> httpx.Response:
    """POST requests.{fmt} as a form, as the spec has it."""
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(f"{origin}/open311/v2/requests.{fmt}", data=fields)


def first_request(fmt: str, response: httpx.Response) -> dict[str, Any]:
    """The first <request> of an answer, in either format."""
    if fmt == "json":
        row: dict[str, Any] = response.json()[0]
        return row
    root = ElementTree.fromstring(response.content)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert request is not None
    return {child.tag: child.text for child in request}


def errors(fmt: str, response: httpx.Response) -> list[dict[str, Any]]:
    """The spec's error list, in either format."""
    if fmt == "json":
        listed: list[dict[str, Any]] = response.json()
        return listed
    root = ElementTree.fromstring(response.content)
    assert root.tag == "errors"
    return [
        {"code": int(e.findtext("code") or 0), "description": e.findtext("description")}
        for e in root.findall("error")
    ]


def complaint(office: FrontDoors, **extra: str) -> dict[str, str]:
    """A complete POST: key, jurisdiction, service, words, the person and the place."""
    agency = office.system.settings.agency
    fields = {"api_key": KEY, "jurisdiction_id": agency, "service_code": "waktu_layanan"}
    return (
        fields
        | {"description": WORDS, "media_url": "https://mitra.example/foto/1.jpg"}
        | (PERSON | PLACE | extra)
    )


@pytest.mark.parametrize("fmt", FORMATS)
async def test_georeport_lists_our_services_and_their_definitions(
    office: FrontDoors, origin: str, fmt: str
) -> None:
    client = georeport_client(origin, office.system.settings.agency, fmt)
    listed = await asyncio.to_thread(client.get_service_list)
    assert [row["service_code"] for row in listed] == [*CATEGORIES, CONSULTATION]
    assert listed[0]["service_name"] == CATEGORIES[listed[0]["service_code"]]
    definition = await asyncio.to_thread(client.get_service_definition, "pungli")
    assert definition["service_code"] == "pungli"


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_post_becomes_a_case_in_the_rekap_under_open311_and_georeport_reads_it(
    office: FrontDoors, origin: str, fmt: str
) -> None:
    agency = office.system.settings.agency
    rekap = f"{origin}/reporting/v1/rekap"
    async with httpx.AsyncClient(timeout=10) as http:
        before = (await http.get(rekap, params={"channel": "open311"})).json()["total"]
    created = await post(origin, fmt, complaint(office))
    assert created.status_code == 201, created.text
    code = first_request(fmt, created)["service_request_id"]
    assert first_request(fmt, created)["token"] == code

    async with httpx.AsyncClient(base_url=origin, timeout=10) as http:

        async def in_rekap() -> bool:
            counted = await http.get(rekap, params={"channel": "open311", "group_by": "channel"})
            tracked = await http.get(f"/reporting/v1/track/{code}")
            opened = tracked.status_code == 200 and tracked.json()["deadline_at"] is not None
            return counted.json()["total"] == before + 1 and opened

        await eventually(in_rekap, within=30)

    client = georeport_client(origin, agency, fmt)
    read = await asyncio.to_thread(client.get_service_request, code)
    assert read["service_request_id"] == code
    assert read["status"] == "open"
    assert read["service_code"] == "waktu_layanan"
    assert read["agency_responsible"] == agency
    assert read["expected_datetime"] > read["requested_datetime"]
    found = await asyncio.to_thread(
        client.get_service_requests, service_code="waktu_layanan", status="open"
    )
    found = found if isinstance(found, list) else [found]  # xmltodict: one <request> is a dict
    assert code in [row["service_request_id"] for row in found]
    async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
        closed = await http.get(f"/open311/v2/requests.{fmt}", params={"status": "closed"})
    assert closed.status_code == 200
    assert code not in closed.text


@pytest.mark.parametrize("fmt", FORMATS)
async def test_no_get_answer_carries_personal_data(
    office: FrontDoors, origin: str, fmt: str
) -> None:
    created = await post(origin, fmt, complaint(office))
    code = first_request(fmt, created)["service_request_id"]
    paths = [
        f"/open311/v2/requests/{code}.{fmt}",
        f"/open311/v2/requests.{fmt}",
        f"/open311/v2/requests.{fmt}?service_request_id={code}",
        f"/open311/v2/tokens/{code}.{fmt}",
    ]
    async with httpx.AsyncClient(base_url=origin, timeout=10) as http:

        async def listed() -> bool:
            return code in (await http.get(f"/open311/v2/requests.{fmt}")).text

        await eventually(listed, within=30)
        for path in paths:
            answer = await http.get(path)
            assert answer.status_code == 200, (path, answer.text)
            assert code in answer.text
            for personal in (*PERSONAL, WORDS[:20], "mitra.example"):
                assert personal not in answer.text, (path, personal)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_confidential_case_shows_its_status_only_and_is_never_listed(
    office: FrontDoors, origin: str, fmt: str
) -> None:
    form = {"text": WORDS, "confidential": True, "category": "petugas"}
    async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
        submitted = await http.post("/intake/v1/complaints", json=form)
        code = submitted.json()["tracking_code"]

        async def tracked() -> httpx.Response | None:
            answer = await http.get(f"/open311/v2/requests/{code}.{fmt}")
            return answer if answer.status_code == 200 else None

        answer = await eventually(tracked, within=30)
        assert answer is not None
        shown = first_request(fmt, answer)
        assert set(shown) == {"service_request_id", "status", "status_notes"}
        listed = await http.get(f"/open311/v2/requests.{fmt}", params={"service_code": "petugas"})
        assert code not in listed.text


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("key", [None, "", "kunci-salah", KEY + "x"])
async def test_a_post_without_a_valid_api_key_is_refused_in_the_spec_format(
    office: FrontDoors, origin: str, fmt: str, key: str | None
) -> None:
    fields = complaint(office)
    if key is None:
        del fields["api_key"]
    else:
        fields["api_key"] = key
    refused = await post(origin, fmt, fields)
    assert refused.status_code == 403
    assert errors(fmt, refused) == [
        {"code": 403, "description": "api_key tidak sah atau tidak ada."}
    ]


@pytest.mark.parametrize("fmt", FORMATS)
async def test_another_jurisdiction_is_refused_in_the_spec_format(
    office: FrontDoors, origin: str, fmt: str
) -> None:
    async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
        read = await http.get(f"/open311/v2/services.{fmt}", params={"jurisdiction_id": "lain"})
    assert read.status_code == 404
    assert errors(fmt, read)[0]["code"] == 404
    posted = await post(origin, fmt, complaint(office, jurisdiction_id="lain"))
    assert posted.status_code == 404
    assert errors(fmt, posted)[0]["code"] == 404
    # Reading and filing say the same, and neither names the agencies served.
    assert errors(fmt, read)[0]["description"] == errors(fmt, posted)[0]["description"]
    assert office.system.settings.agency not in errors(fmt, read)[0]["description"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"service_code": "jalan_berlubang"}, "service_code"),
        ({"description": ""}, "description"),
        ({"email": "bukan-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"lat": "91"}, "lat"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
    ],
)
async def test_an_invalid_post_is_a_400_naming_the_field(
    office: FrontDoors, origin: str, change: dict[str, str], named: str
) -> None:
    refused = await post(origin, "json", complaint(office, **change))
    assert refused.status_code == 400, refused.text
    [error] = errors("json", refused)
    assert error["code"] == 400
    assert named in error["description"]


async def test_an_unknown_request_or_token_is_a_404_in_the_spec_format(origin: str) -> None:
    async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
        for path in ("requests/ZZZZ-ZZZZ.json", "tokens/nope.xml", "services/nope.json"):
            answer = await http.get(f"/open311/v2/{path}")
            assert answer.status_code == 404, path
            fmt = path.rsplit(".", 1)[1]
            assert errors(fmt, answer)[0]["code"] == 404, path
        wide = await http.get(
            "/open311/v2/requests.json",
            params={"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
        )
        assert wide.status_code == 400
        assert json.loads(wide.text)[0]["code"] == 400


@pytest.mark.parametrize(
    "query",
    [
        {"start_date": "9999-12-31T23:59:59Z"},
        {"end_date": "0001-01-01T00:00:00Z"},
        {"start_date": "0001-01-01T00:00:00+14:00"},
        {"service_request_id": "\x00"},
        {"status": "open\x1b"},
        {"nonsense": "1"},
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_a_read_the_spec_refuses_is_a_400_in_its_format(
    origin: str, query: dict[str, str], fmt: str
) -> None:
    async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
        answer = await http.get(f"/open311/v2/requests.{fmt}", params=query)
    assert answer.status_code == 400, answer.text
    [error] = errors(fmt, answer)
    assert error["code"] == 400

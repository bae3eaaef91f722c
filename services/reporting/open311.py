"""Open311 GeoReport v2, every GET: services, definitions, requests and tokens.

The front door sends GET /open311/v2/... here (POST requests goes to intake). A request is a
case as public tracking shows it (shared/access.py, the public row): its status open/closed,
its service, dates and deadline, the public answer masked (`shared.pii.mask`) as status_notes.
Never personal data, never the complainant's words or location. A confidential case answers by
its code with its status only, and is never listed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from services.reporting.last_good import FRESH_SECONDS, LastGood
from services.reporting.queries import PRIVACY
from services.reporting.tenancy import Scope, agencies, read_as
from shared import db
from shared.access import Facet, Privacy, privacy_of, visible
from shared.categories import CATEGORIES
from shared.db import Connection
from shared.limits import PublicReadLimit
from shared.open311 import (
    CONSULTATION,
    NO_CATEGORY,
    PREFIX,
    Extension,
    Format,
    Open311Error,
    answer,
    documented,
    fmt_of,
    service_names,
    service_of,
    services,
    single,
    unknown_jurisdiction,
)
from shared.pii import mask
from shared.problems import Problem
from shared.receipt_guard import Lookup, ReceiptGuard
from shared.service import client_address
from shared.settings import Settings
from shared.tracking_code import normalize
from shared.vocabulary import STATUS_LABELS, Group, Status, is_in, statuses

router = APIRouter(prefix=PREFIX, tags=["open311"])

MAX_DAYS = 90  # the spec's default and widest range of requested_datetime
MAX_ROWS = 1000  # the spec's most requests in one answer
MAX_IDS = 50
SPEC_STATUSES = (Group.OPEN, Group.CLOSED)  # the spec's "open" and "closed" are these groups
LISTED = [p.value for p in Privacy if Facet.CASE in visible(None, p)]
Text = Annotated[str | None, Query(max_length=2000)]
Case = asyncpg.Record | Mapping[str, Any]  # a case_summary row


async def _checked(
    request: Request, _limited: PublicReadLimit, jurisdiction_id: Text = None
) -> Settings:
    settings: Settings = request.app.state.settings
    if jurisdiction_id is not None and jurisdiction_id != settings.agency:
        known = await agencies(request)  # another agency of the deployment: its own cases
        if jurisdiction_id not in known:
            raise unknown_jurisdiction()
    return settings


async def _served(request: Request, jurisdiction_id: Text = None) -> Scope:
    """The agency a request reads as: the jurisdiction it names (the home agency by default)."""
    return Scope.of(jurisdiction_id or request.app.state.settings.agency)


Office = Annotated[Settings, Depends(_checked)]
Served = Annotated[Scope, Depends(_served)]


@router.get("/services.{fmt}", responses=documented(404, 503))
async def get_services(fmt: Extension, settings: Office) -> Response:
    """GET Service List: one service per complaint category, and consultations."""
    return answer(fmt_of(fmt), "services", "service", services())


@router.get("/services/{code}.{fmt}", responses=documented(404, 503))
async def get_definition(code: str, fmt: Extension, settings: Office) -> Response:
    """GET Service Definition: our services ask for no attributes."""
    chosen = fmt_of(fmt)
    if code not in service_names():
        raise Open311Error(404, "service_code tidak dikenal.")
    return single(chosen, "service_definition", {"service_code": code, "attributes": []})


@router.get("/requests.{fmt}", responses=documented(400, 404, 503))
async def get_requests(
    fmt: Extension,
    request: Request,
    settings: Office,
    served: Served,
    service_request_id: Text = None,
    service_code: Text = None,
    start_date: Text = None,
    end_date: Text = None,
    status: Text = None,
) -> Response:
    """GET Service Requests: by id (comma-separated), or filtered, newest first."""
    chosen = fmt_of(fmt)
    asked_codes: list[str] = []
    if service_request_id is not None:
        asked_codes = _codes(service_request_id)
        query = partial(_by_codes, agencies=served.ids, codes=asked_codes)
    else:
        start, end = _range(start_date, end_date)
        query = partial(
            _listed,
            agencies=served.ids,
            start=start,
            end=end,
            services=_split(service_code, "service_code", set(service_names())),
            statuses=_statuses(status),
        )

    async def fresh() -> list[dict[str, Any]]:
        records = await _read(request, served, query)
        shown = [r for r in records if Facet.STATUS in visible(None, _privacy(r))]
        await _missed(request, len(set(asked_codes) - {r["tracking_code"] for r in shown}))
        return [request_of(record, settings) for record in shown]

    asked = (service_request_id, service_code, start_date, end_date, status)
    async with _looking_up(request, codes=bool(asked_codes)):
        return await _kept(request, chosen, ("requests", served.label, *asked), fresh)


@router.get("/requests/{code}.{fmt}", responses=documented(404, 503))
async def get_request(
    code: str, fmt: Extension, request: Request, settings: Office, served: Served
) -> Response:
    """GET Service Request: one case by its tracking code."""
    chosen = fmt_of(fmt)

    async def fresh() -> list[dict[str, Any]]:
        return [request_of(await _tracked(request, served, code), settings)]

    async with _looking_up(request):
        return await _kept(request, chosen, ("request", served.label, code), fresh)


@router.get("/tokens/{token}.{fmt}", responses=documented(404, 503))
async def get_token(
    token: str, fmt: Extension, request: Request, settings: Office, served: Served
) -> Response:
    """GET request_id from a token: our token is the tracking code itself."""
    chosen = fmt_of(fmt)

    async def fresh() -> list[dict[str, Any]]:
        record = await _tracked(request, served, token)
        return [{"service_request_id": record["tracking_code"], "token": token}]

    async with _looking_up(request):
        return await _kept(request, chosen, ("token", served.label, token), fresh)


class Rows(BaseModel):
    """An answer's requests, as the last good copy keeps them."""

    rows: list[dict[str, Any]]


async def _kept(
    request: Request,
    fmt: Format,
    key: tuple[str | None, ...],
    fresh: Callable[[], Awaitable[list[dict[str, Any]]]],
) -> Response:
    """The fresh answer, or while the read model is away the last good copy (marked), as public
    tracking keeps it: under "track", which an erasure forgets, and never shared."""
    kept: LastGood = request.app.state.last_good

    async def rows() -> Rows:
        return Rows(rows=await fresh())

    try:
        copy = await kept.read("track", json.dumps(["open311", *key]), Rows, rows, shared=False)
    except Problem as problem:  # away, and no copy: 503 in the spec's format
        raise Open311Error.of(problem) from None
    response = answer(fmt, "service_requests", "request", copy.value.rows)
    response.headers.update(copy.headers())
    return response


@contextlib.asynccontextmanager
async def _looking_up(request: Request, *, codes: bool = True) -> AsyncIterator[None]:
    """As public tracking: a lookup of codes counts as a miss ahead, settled to the codes not
    found (`_missed`) when it ends; an address that asked for too many unknown codes is
    stopped. Nothing for a list asked by its filters (`codes` False)."""
    if not codes:
        yield
        return
    guard: ReceiptGuard = request.app.state.receipt_guard
    async with contextlib.AsyncExitStack() as stack:
        try:
            looking = guard.looking_up(client_address(request))
            request.state.lookup = await stack.enter_async_context(looking)
        except Problem as stopped:
            raise Open311Error.of(stopped) from None
        yield


async def _missed(request: Request, codes: int) -> None:
    lookup: Lookup | None = getattr(request.state, "lookup", None)
    if lookup is not None:
        lookup.missed(codes)


async def _tracked(request: Request, served: Scope, code: str) -> asyncpg.Record:
    """A case the public may know of, by its tracking code; Open311Error 404 otherwise."""
    canonical = normalize(code) if len(code) <= 32 else None
    query = partial(_by_codes, agencies=served.ids, codes=[canonical or ""])
    records = await _read(request, served, query)
    if not records or Facet.STATUS not in visible(None, _privacy(records[0])):
        await _missed(request, 1)
        raise Open311Error(404, "service_request_id tidak ditemukan.")
    record: asyncpg.Record = records[0]
    return record


def request_of(record: Case, settings: Settings) -> dict[str, Any]:
    """A case as the spec's request, with only what the public row of the policy shows."""
    state = Status(record["status"])
    row: dict[str, Any] = {
        "service_request_id": record["tracking_code"],
        "status": (Group.CLOSED if is_in(state, Group.CLOSED) else Group.OPEN).value,
        "status_notes": STATUS_LABELS[state],
    }
    facets = visible(None, _privacy(record))
    if Facet.CASE not in facets:
        return row
    code = service_of(record["kind"], record["category"])
    moments = [record["received_at"], record["waiting_since"], record["closed_at"]]
    if Facet.ANSWER in facets and record["public_answer"]:
        row["status_notes"] = f"{STATUS_LABELS[state]}. {mask(record['public_answer'])}"
    return row | {
        "service_name": service_names()[code],
        "service_code": code,
        "description": None,  # the complainant's words: never public
        "agency_responsible": record.get("agency") or settings.agency,
        "service_notice": None,
        "requested_datetime": _w3c(record["received_at"]),
        "updated_datetime": _w3c(max(m for m in moments if m is not None)),
        "expected_datetime": _w3c(record["deadline_at"]),
        "address": None,  # kept sealed with the words: it may point at the complainant
        "lat": None,
        "long": None,
        "media_url": None,
    }


def _w3c(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _privacy(record: Case) -> Privacy:
    return privacy_of(anonymous=record["anonymous"], confidential=record["confidential"])


async def _read(request: Request, served: Scope, query: Any) -> list[asyncpg.Record]:
    reads: db.Source = request.app.state.reads
    records: list[asyncpg.Record] = await read_as(reads, served, query, FRESH_SECONDS)
    return records


def _split(value: str | None, name: str, known: set[str]) -> list[str] | None:
    if value is None:
        return None
    parts = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [part for part in parts if part not in known]
    if unknown or not parts or len(parts) > MAX_IDS:
        raise Open311Error(400, f"{name} tidak dikenal: {', '.join(unknown)[:200]}.")
    return parts


def _codes(value: str) -> list[str]:
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not parts or len(parts) > MAX_IDS:
        raise Open311Error(400, f"service_request_id: 1 sampai {MAX_IDS} nomor tiket.")
    return [normalize(part) or "" for part in parts if len(part) <= 32]


def _statuses(value: str | None) -> list[str] | None:
    groups = {group.value: group for group in SPEC_STATUSES}
    chosen = _split(value, "status", set(groups))
    return None if chosen is None else [s for name in chosen for s in statuses(groups[name])]


EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Open311Error(400, f"{name} harus tanggal-waktu W3C, mis. 2026-01-01T00:00:00Z.")
    try:  # a year-1 or year-9999 moment: its day in UTC, or 90 days on, is no date at all
        if not EARLIEST <= moment <= LATEST:
            raise OverflowError(moment)
    except OverflowError:
        raise Open311Error(400, f"{name} di luar rentang tahun 1900–9000.") from None
    return moment


def _range(start_date: str | None, end_date: str | None) -> tuple[datetime, datetime]:
    """The requested_datetime range: at most 90 days, the last 90 by default."""
    start, end = _moment(start_date, "start_date"), _moment(end_date, "end_date")
    span = timedelta(days=MAX_DAYS)
    end = end or (start + span if start else datetime.now(UTC))
    start = start or end - span
    if end < start or end - start > span:
        raise Open311Error(400, f"Rentang start_date–end_date paling lama {MAX_DAYS} hari.")
    return start, end


async def _by_codes(conn: Connection, *, agencies: list[str], codes: Sequence[str]) -> list[Any]:
    """Cases by tracking code, in these agencies only."""
    return list(
        await conn.fetch(
            "SELECT * FROM case_summary WHERE agency = ANY($1::text[]) AND tracking_code = ANY($2) "
            "ORDER BY received_at DESC",
            agencies,
            list(codes),
        )
    )


SERVICE_SQL = (
    f"(CASE WHEN kind = 'consultation' THEN '{CONSULTATION}' "
    f"WHEN category = ANY($7) THEN category ELSE '{NO_CATEGORY}' END)"
)


async def _listed(
    conn: Connection,
    *,
    agencies: list[str],
    start: datetime,
    end: datetime,
    services: list[str] | None,
    statuses: list[str] | None,
) -> list[Any]:
    """The cases the public may see whole, received in the range, newest first."""
    return list(
        await conn.fetch(
            f"SELECT * FROM case_summary WHERE agency = ANY($1::text[]) AND {PRIVACY} = ANY($2) "
            "AND received_at >= $3 AND received_at <= $4 "
            f"AND ($5::text[] IS NULL OR {SERVICE_SQL} = ANY($5)) "
            "AND ($6::text[] IS NULL OR status = ANY($6)) "
            "ORDER BY received_at DESC LIMIT $8",
            agencies,
            LISTED,
            start,
            end,
            services,
            statuses,
            list(CATEGORIES),
            MAX_ROWS,
        )
    )

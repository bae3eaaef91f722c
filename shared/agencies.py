"""The agencies a deployment serves, as data: one for a regency's office, forty for a province.

Each agency has its name and units, office hours, SOP reading, letterhead and the addresses of
its channels. The deployment's own agency (ADUAN_AGENCY and the ADUAN_OFFICE_* settings) is
always there; a provincial administrator registers the others. Every service reads the one
table, `aduan_internal.agencies`, in the database the services of a deployment share.
"""

from __future__ import annotations

import json
import time as clock
from datetime import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.db import Connection, ensure_internal_schema
from shared.settings import Settings
from shared.sop import Kind
from shared.working_time import OfficeHours, WorkingCalendar

TABLE = "aduan_internal.agencies"

AgencyId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
"""An agency's id: lower-case letters, digits and dashes; part of addresses, never renamed."""


class Letterhead(BaseModel):
    """How the agency's published documents name it (the ADUAN_OFFICE_* settings' fields)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    government: str = ""
    name: str = ""
    address: str = ""
    contact: str = ""
    city: str = ""
    head_title: str = "Kepala Dinas"
    head_name: str = ""
    head_rank: str = ""
    head_nip: str = ""


class Channels(BaseModel):
    """Which incoming addresses belong to the agency: each maps to exactly one agency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    whatsapp_numbers: tuple[str, ...] = ()  # WhatsApp Cloud API phone_number_id values
    instagram_accounts: tuple[str, ...] = ()  # Instagram account ids (the webhook's entry id)
    mailboxes: tuple[str, ...] = ()  # e-mail addresses the agency receives complaints at


class Agency(BaseModel):
    """One agency: dinas, badan or kecamatan."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: AgencyId
    name: str = Field(min_length=1, max_length=200)
    units: tuple[str, ...] = ()  # bidang
    hours: dict[int, tuple[time, time]] = Field(
        default_factory=lambda: {day: (time(8, 0), time(16, 0)) for day in range(5)}
    )  # weekday (0 = Monday) -> opening, closing
    # Which reading of the SOP tables its new cases follow, per kind; empty: the current one.
    sop_versions: dict[Kind, str] = Field(default_factory=dict)
    letterhead: Letterhead = Letterhead()
    channels: Channels = Channels()

    def calendar(self, timezone: str) -> WorkingCalendar:
        """The agency's working calendar (without its administrator's day corrections)."""
        return WorkingCalendar(timezone, OfficeHours(dict(self.hours)))


def home_agency(settings: Settings) -> Agency:
    """The deployment's own agency, from its settings."""
    return Agency(
        id=settings.agency,
        name=settings.office_name,
        hours=dict(settings.office_hours),
        letterhead=Letterhead(
            government=settings.office_government,
            name=settings.office_name,
            address=settings.office_address,
            contact=settings.office_contact,
            city=settings.office_city,
            head_title=settings.office_head_title,
            head_name=settings.office_head_name,
            head_rank=settings.office_head_rank,
            head_nip=settings.office_head_nip,
        ),
    )


async def ensure_table(conn: Connection) -> None:
    """Create the agencies table if missing (idempotent, safe from several services at once)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('aduan.agencies'))")
        await ensure_internal_schema(conn)
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id text PRIMARY KEY, document jsonb NOT NULL, "
            "updated_at timestamptz NOT NULL DEFAULT now())"
        )


async def save(conn: Connection, agency: Agency) -> None:
    """Register an agency or replace its data."""
    await ensure_table(conn)
    await conn.execute(
        f"INSERT INTO {TABLE} (id, document) VALUES ($1, $2::jsonb) ON CONFLICT (id) DO UPDATE "
        "SET document = EXCLUDED.document, updated_at = now()",
        agency.id,
        agency.model_dump_json(),
    )


async def load(conn: Connection, settings: Settings) -> dict[str, Agency]:
    """Every agency by id; the home agency from the settings unless registered otherwise."""
    await ensure_table(conn)
    rows = await conn.fetch(f"SELECT document FROM {TABLE} ORDER BY id")
    agencies = {settings.agency: home_agency(settings)}
    for row in rows:
        agency = Agency.model_validate(json.loads(row["document"]))
        agencies[agency.id] = agency
    return agencies


class Registry:
    """The agencies, cached for a few seconds: every request may ask, the table is read rarely."""

    def __init__(self, settings: Settings, ttl_seconds: float = 5.0) -> None:
        self.settings = settings
        self.ttl_seconds = ttl_seconds
        self._agencies: dict[str, Agency] = {settings.agency: home_agency(settings)}
        self._read_at = -float("inf")

    async def all(self, conn: Connection) -> dict[str, Agency]:
        """Every agency by id (read again once the cache is older than the ttl)."""
        if clock.monotonic() - self._read_at > self.ttl_seconds:
            self._agencies = await load(conn, self.settings)
            self._read_at = clock.monotonic()
        return self._agencies

    def forget(self) -> None:
        """Read the table again at the next question (after a change in this process)."""
        self._read_at = -float("inf")

    async def by_channel(self, conn: Connection, kind: str, address: str) -> Agency:
        """The agency an incoming address belongs to (`kind`: a field of Channels); the home
        agency for an address no agency names."""
        for agency in (await self.all(conn)).values():
            if address in getattr(agency.channels, kind):
                return agency
        return self._agencies[self.settings.agency]

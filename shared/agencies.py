"""The agencies a deployment serves, as data: one for a regency's office, forty for a province.

Each agency has its name and units, office hours, SOP reading, letterhead and the addresses of
its channels. The deployment's own agency (ADUAN_AGENCY and the ADUAN_OFFICE_* settings) is
always there; a provincial administrator registers the others. Every service reads the one
table, `aduan_internal.agencies`, in the database the services of a deployment share.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time as clock
from collections.abc import Awaitable, Callable, Collection, Iterable
from datetime import time
from functools import partial
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.db import Connection, Pool, ensure_internal_schema, read
from shared.outages import Unavailable
from shared.settings import NumberPattern, Settings
from shared.sop import Kind
from shared.working_time import OfficeHours, WorkingCalendar

TABLE = "aduan_internal.agencies"
log = logging.getLogger(__name__)

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
    number_pattern: NumberPattern = ""  # the recap letter's number; empty: the deployment's


def normal_address(address: str) -> str:
    """A channel address as kept and as compared, when saved and when a message names it:
    without the spaces around it, in lower case (a mailbox's letter case names no other)."""
    return address.strip().lower()


Address = Annotated[str, AfterValidator(normal_address)]
"""An address of an agency's channel, kept as compared (`normal_address`)."""


def is_mailbox(address: str) -> bool:
    """Whether the text is one e-mail address, nothing around it."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return address.isascii() and address.isprintable()


ADDRESS_FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    "whatsapp_numbers": (str.isdecimal, "ID nomor WhatsApp (phone_number_id) hanya angka."),
    "instagram_accounts": (str.isdecimal, "ID akun Instagram hanya angka."),
    "mailboxes": (is_mailbox, "Alamat email tidak sah."),
}
"""What each kind of address is (a Graph API path segment, a mail's From) and the reason given
for one that is not."""


class Channels(BaseModel):
    """Which incoming addresses belong to the agency: each maps to exactly one agency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    whatsapp_numbers: tuple[Address, ...] = ()  # WhatsApp Cloud API phone_number_id values
    instagram_accounts: tuple[Address, ...] = ()  # Instagram account ids (the webhook's entry id)
    mailboxes: tuple[Address, ...] = ()  # e-mail addresses the agency receives complaints at

    def invalid(self) -> list[tuple[str, str]]:
        """Each (kind, reason) of an address that is no address of its kind."""
        return [
            (kind, reason)
            for kind, (valid, reason) in ADDRESS_FORMATS.items()
            if not all(address.isascii() and valid(address) for address in getattr(self, kind))
        ]


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
            number_pattern=settings.recap_number_pattern,
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


class AddressTaken(Exception):
    """Addresses of the agency's channels that another agency already receives at."""

    def __init__(self, addresses: list[str]) -> None:
        super().__init__(", ".join(addresses))
        self.addresses = addresses


def addresses_of(agency: Agency) -> set[str]:
    """Every address the agency receives at, as compared: "kind:address" (an address belongs
    to one agency only)."""
    return {
        f"{kind}:{normal_address(address)}"
        for kind in ADDRESS_FORMATS
        for address in getattr(agency.channels, kind)
    }


def configured_addresses(settings: Settings) -> set[str]:
    """The home agency's own addresses, from the settings (its number, account and mailbox),
    as `addresses_of` gives them: no other agency may receive at them."""
    configured = {
        "whatsapp_numbers": settings.whatsapp_phone_number_id,
        "instagram_accounts": settings.instagram_account_id,
        "mailboxes": settings.mail_from,
    }
    return {f"{kind}:{normal_address(value)}" for kind, value in configured.items() if value}


async def save(conn: Connection, agency: Agency, settings: Settings | None = None) -> None:
    """Register an agency or replace its data; AddressTaken (nothing saved) when one of its
    addresses is another agency's, or (given the settings) the home agency's configured one.
    Saves happen one at a time, so two agencies never claim one address at once."""
    await ensure_table(conn)
    home = configured_addresses(settings) if settings and settings.agency != agency.id else set()
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('aduan.agencies.save'))")
        rows = await conn.fetch(f"SELECT document FROM {TABLE} WHERE id <> $1", agency.id)
        others = (Agency.model_validate(json.loads(row["document"])) for row in rows)
        held = home.union(*(addresses_of(other) for other in others))
        taken = addresses_of(agency) & held
        if taken:
            raise AddressTaken(sorted(address.split(":", 1)[1] for address in taken))
        await conn.execute(
            f"INSERT INTO {TABLE} (id, document) VALUES ($1, $2::jsonb) ON CONFLICT (id) "
            "DO UPDATE SET document = EXCLUDED.document, updated_at = now()",
            agency.id,
            agency.model_dump_json(),
        )


def served(settings: Settings, documents: Iterable[Any]) -> dict[str, Agency]:
    """Every agency by id, from the table's documents: the home agency from the settings
    unless registered otherwise."""
    agencies = {settings.agency: home_agency(settings)}
    for document in documents:
        agency = Agency.model_validate(
            json.loads(document) if isinstance(document, str) else document
        )
        agencies[agency.id] = agency
    return agencies


async def load(conn: Connection, settings: Settings) -> dict[str, Agency]:
    """Every agency by id, read from the table."""
    await ensure_table(conn)
    rows = await conn.fetch(f"SELECT document FROM {TABLE} ORDER BY id")
    return served(settings, (row["document"] for row in rows))


AGAIN_SECONDS = 1.0
"""How soon the table may be read again, waited for, for an agency named but not known."""

Served = Callable[[bool], Awaitable[Collection[str]]]
"""The ids of the agencies a deployment serves; called with True when one was named that is not
among those known (read again, as `Registry.all(again=True)`)."""


class Registry:
    """The agencies, cached for a few seconds: every request may ask, the table is read rarely,
    by one request at a time (a small pool is never held by every request), and never in a
    request's way once read: a due cache answers as it is while it is read again beside it, so
    a database away slows no request that needs only the agencies."""

    def __init__(self, settings: Settings, pool: Pool, ttl_seconds: float = 5.0) -> None:
        self.settings = settings
        self.pool = pool
        self.ttl_seconds = ttl_seconds
        self._agencies: dict[str, Agency] = {settings.agency: home_agency(settings)}
        self._read_at = -float("inf")
        self._stale_ok = False  # whether a due cache may answer while it is read again
        self._again_at = -float("inf")  # the last read for an agency named but not known
        self._reading = asyncio.Lock()
        self._refreshing: asyncio.Task[None] | None = None

    @property
    def home(self) -> str:
        """The deployment's own agency id."""
        return self.settings.agency

    async def all(self, again: bool = False) -> dict[str, Agency]:
        """Every agency by id. The first read (and the one after `forget`) waits for the table
        (Unavailable within the read deadline while the database is away); later ones answer
        at once and read the table again beside the request once the cache is due. `again`:
        an agency was named that is not known yet (just registered by another process): the
        table is read now, waited for, unless that was done within the last second."""
        if again and clock.monotonic() - self._again_at > AGAIN_SECONDS:
            async with self._reading:
                if clock.monotonic() - self._again_at > AGAIN_SECONDS:
                    self._again_at = clock.monotonic()
                    await self._refresh()
            return self._agencies
        if self.fresh() is not None:
            return self._agencies
        if self._stale_ok:
            if self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.create_task(self._refresh_quietly())
            return self._agencies
        async with self._reading:
            if self.fresh() is None:  # not read meanwhile by the request this one waited on
                await self._refresh()
        return self._agencies

    async def _refresh(self) -> None:
        self._agencies = await read(self.pool, partial(load, settings=self.settings))
        self._read_at, self._stale_ok = clock.monotonic(), True

    async def _refresh_quietly(self) -> None:
        try:
            await self._refresh()
        except Unavailable:
            pass  # the database is away: the agencies read last stand until it is back
        except Exception:
            log.exception("cannot read the agencies; those read last stand")

    def fresh(self) -> dict[str, Agency] | None:
        """The agencies as read last, while still within the ttl (None: read them again)."""
        due = clock.monotonic() - self._read_at > self.ttl_seconds
        return None if due else self._agencies

    def last(self) -> dict[str, Agency] | None:
        """The agencies as read last, however long ago (None: never read yet)."""
        return self._agencies if self._stale_ok or self._read_at > -float("inf") else None

    def forget(self) -> None:
        """Read the table again, waiting for it, at the next question (after a change made in
        this process, which the next request must see)."""
        self._read_at, self._stale_ok = -float("inf"), False

"""Which agency a submission belongs to: the form's address, the number, account or mailbox
written to (shared/agencies.py `Agency.channels`), the agency an officer records in.

An address no agency names is the home agency's (the deployment's own, from its settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from services.intake.pseudonyms import Pseudonyms
from shared.agencies import Agency, Registry, normal_address
from shared.channels import Channel
from shared.db import Pool
from shared.problems import Problem
from shared.settings import Settings

ChannelKind = Literal["whatsapp_numbers", "instagram_accounts", "mailboxes"]
"""A field of `shared.agencies.Channels`: the kind of address an agency receives at."""
ADDRESSED: dict[Channel, ChannelKind] = {
    Channel.WHATSAPP: "whatsapp_numbers",
    Channel.INSTAGRAM: "instagram_accounts",
    Channel.EMAIL: "mailboxes",
}
"""The channels whose messages are written to an address an agency may own."""


class UnknownAgency(Problem):
    """No agency with this id: 404."""

    def __init__(self) -> None:
        super().__init__(404, "Instansi tidak dikenal.", code="unknown-agency")


@dataclass
class Agencies:
    """The deployment's agencies, read from the shared table (cached by the registry)."""

    registry: Registry

    @classmethod
    def of(cls, settings: Settings, pool: Pool) -> Agencies:
        """The agencies of this deployment, read through the pool."""
        return cls(Registry(settings, pool))

    @property
    def home(self) -> str:
        """The deployment's own agency id."""
        return self.registry.home

    async def all(self, again: bool = False) -> dict[str, Agency]:
        """Every agency by id; a connection is taken only when the cache is due (or, `again`,
        for an agency named but not known yet: shared/agencies.py)."""
        return await self.registry.all(again)

    def forget(self) -> None:
        """Read the table again at the next question."""
        self.registry.forget()

    async def serves(self, agency_id: str) -> bool:
        """Whether the deployment serves this agency (the table read again, at most once a
        second, for one named but not known yet: registered by another process meanwhile)."""
        return agency_id in await self.all() or agency_id in await self.all(again=True)

    async def get(self, agency_id: str) -> Agency:
        """One agency; UnknownAgency (404) when no agency has this id."""
        if not await self.serves(agency_id):
            raise UnknownAgency()
        return (await self.all())[agency_id]

    async def by_channel(self, kind: ChannelKind, *addresses: str) -> Agency:
        """The agency whose channels name the first of the addresses any agency names; the
        home agency when none does."""
        agencies = await self.all()
        for address in addresses:
            for agency in agencies.values():
                if normal_address(address) in _addresses(agency, kind):
                    return agency
        return agencies[self.home]

    async def is_ours(self, kind: ChannelKind, address: str) -> bool:
        """Whether an agency of the deployment receives on this address (its own mailbox)."""
        agencies = await self.all()
        return any(normal_address(address) in _addresses(a, kind) for a in agencies.values())

    async def origin(self, agency_id: str, channel: Channel) -> Agency | None:
        """The agency a message to the complainant goes out from, if it has its own address on
        this channel (its first): None, the deployment's configured number, account, mailbox."""
        agencies = await self.all()
        return agencies[agency_id] if sending_address(agencies, agency_id, channel) else None

    def last(self) -> dict[str, Agency] | None:
        """The agencies as read last, without waiting (None: never read yet)."""
        return self.registry.last()


def sending_address(agencies: Mapping[str, Agency], agency_id: str, channel: Channel) -> str:
    """The address the agency's messages on the channel go out from: its own (its first), or
    "" for the deployment's configured number, account or mailbox."""
    agency, kind = agencies.get(agency_id), ADDRESSED.get(channel)
    addresses: tuple[str, ...] = getattr(agency.channels, kind) if agency and kind else ()
    return addresses[0] if addresses else ""


def origin_address(agency: Agency, channel: Channel) -> str:
    """The agency's own address on the channel (its first)."""
    addresses: tuple[str, ...] = getattr(agency.channels, ADDRESSED[channel])
    return addresses[0]


def _addresses(agency: Agency, kind: ChannelKind) -> set[str]:
    """The agency's addresses of a kind as compared (shared/agencies.py `normal_address`)."""
    return {normal_address(address) for address in getattr(agency.channels, kind)}


def conversation_sender(
    pseudonyms: Pseudonyms, *, home: str, channel: str, account: str, agency: str
) -> str:
    """The key a chat sender's conversation is kept under: one per agency written to, so a
    message to another agency's number opens that agency's case, never joins this one's."""
    scope = channel if agency == home else f"{channel}@{agency}"
    return pseudonyms.sender(scope, account)


def scoped_key(key: str, *, agency: str) -> str:
    """A client's key (an Idempotency-Key, a letter's number) within its agency, for every
    agency the home one too: "agency:key" (an agency id holds no ':'), so the same key at two
    agencies is two submissions and no key of one agency spells another's."""
    return f"{agency}:{key}"

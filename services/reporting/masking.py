"""The access policy on event bodies: the live stream and dead letters show each reader only
the events of cases they may see, without the fields of facets they may not, and free text in
them as they may read it (shared/access.py).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any
from uuid import UUID

from shared.access import (
    ALL,
    EVENT_FIELDS,
    EVENT_TEXTS,
    Facet,
    Privacy,
    privacy_of,
    readable,
    step_of,
    visible,
)
from shared.db import Pool, read
from shared.outages import Unavailable
from shared.sop import Officer, Role, Step

HIDDEN = "disembunyikan"


class CaseAccess:
    """Each case's privacy and current step, from the read model (privacy is kept: it never
    changes; the step is read again for a confidential case, whose step rule depends on it)."""

    REMEMBERED = 10_000
    """Cases whose privacy a stream remembers, the latest seen: a stream watched for days
    meets every case of those days, and must not keep them all."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self._privacy: OrderedDict[str, Privacy] = OrderedDict()

    async def of(self, case_id: str, data: dict[str, Any]) -> tuple[Privacy, Step | None]:
        """A case's privacy and step; an unknown case counts as confidential at no step."""
        privacy = self._privacy.get(case_id)
        if privacy is Privacy.NORMAL or privacy is Privacy.ANONYMOUS:
            self._privacy.move_to_end(case_id)
            return privacy, None
        row = await read(
            self.pool,
            lambda conn: conn.fetchrow(
                "SELECT anonymous, confidential, kind, sop_version, current_step "
                "FROM case_summary WHERE case_id = $1",
                _uuid(case_id),
            ),
        )
        if row is None:  # not projected: what the event itself says, else the strictest
            flags = {"anonymous": False, "confidential": True}
            if "confidential" in data:
                flags = {key: bool(data.get(key)) for key in flags}
            return privacy_of(**flags), None
        privacy = privacy_of(anonymous=row["anonymous"], confidential=row["confidential"])
        self.remember(case_id, privacy)
        return privacy, step_of(row["kind"], row["sop_version"], row["current_step"])

    def remember(self, case_id: str, privacy: Privacy) -> None:
        """Keep a case's privacy (it never changes), forgetting the longest unseen beyond
        `REMEMBERED`."""
        self._privacy[case_id] = privacy
        self._privacy.move_to_end(case_id)
        while len(self._privacy) > self.REMEMBERED:
            self._privacy.popitem(last=False)

    def remembered(self) -> int:
        """How many cases' privacy is kept."""
        return len(self._privacy)


RolesIn = Callable[[str | None], Iterable[Role]]
"""A reader's roles in an agency (None: an event that names none): an officer of several
agencies reads each event with the roles held in the event's own agency."""


def acting(officer: Officer) -> RolesIn:
    """An officer's roles in each agency; in the agency acted in for an event naming none."""
    return lambda agency: officer.roles if agency is None else officer.roles_in(agency)


def everywhere(*roles: Role) -> RolesIn:
    """The same roles in every agency (a reader of one agency, in the tests)."""
    return lambda agency: roles


def _agency(event: Any) -> str | None:
    agency = event.get("agency") if isinstance(event, dict) else None
    return agency if isinstance(agency, str) else None


async def masked(body: str, roles_in: RolesIn, cases: CaseAccess) -> str | None:
    """The event as the reader may see it, with the roles held in its agency; None when they
    may not see its case at all."""
    try:
        event = json.loads(body)
        data = event.get("data")
        case_id = data.get("case_id") if isinstance(data, dict) else None
    except (ValueError, AttributeError):
        return body if _sees_everything(roles_in(None)) else HIDDEN
    if not case_id:
        return body  # not about a case: the calendar, the monthly recap
    facets = visible(roles_in(_agency(event)), *await cases.of(str(case_id), data))
    if Facet.STATUS not in facets:
        return None
    hidden = [f for f, facet in EVENT_FIELDS.items() if facet not in facets and f in data]
    texts = {f: _readable(data[f], facets) for f in EVENT_TEXTS if f not in hidden and f in data}
    changed = {f: text for f, text in texts.items() if text != data[f]}
    if not hidden and not changed:
        return body
    event["data"] = data | dict.fromkeys(hidden) | changed
    return json.dumps(event, ensure_ascii=False)


def _readable(value: Any, facets: frozenset[Facet]) -> Any:
    """A text field as this reader may read it (a list of texts: each)."""
    if isinstance(value, str):
        return readable(value, facets)
    if isinstance(value, list):
        return [readable(item, facets) if isinstance(item, str) else item for item in value]
    return value


async def reasons_visible(body: str, roles_in: RolesIn, cases: CaseAccess) -> bool:
    """Whether the reader may read why this event failed: an error may quote personal data,
    so only those who see its case's identity (or, not about a case, everything) in the
    event's agency read it."""
    event: Any = None
    try:
        event = json.loads(body)
        data = event.get("data")
        case_id = data.get("case_id") if isinstance(data, dict) else None
    except (ValueError, AttributeError):
        case_id = None
    if not case_id:
        return _sees_everything(roles_in(_agency(event)))
    return Facet.IDENTITY in visible(roles_in(_agency(event)), *await cases.of(str(case_id), data))


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def _sees_everything(roles: Iterable[Role]) -> bool:
    return all(visible(roles, privacy) >= ALL for privacy in Privacy)


async def permitted(
    events: AsyncIterator[dict[str, str]], roles_in: RolesIn, cases: CaseAccess
) -> AsyncIterator[dict[str, str]]:
    """The server-sent events the reader may see, masked; the stream ends when the read model
    cannot say what they may see (the client reconnects with Last-Event-ID)."""
    async for event in events:
        try:
            data = await masked(event["data"], roles_in, cases)
        except Unavailable:
            return  # the outage is logged once (shared.outages)
        if data is not None:
            yield event | {"data": data}

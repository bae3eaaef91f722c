"""What reporting asks intake for a search: the cases found by the complainant's phone, e-mail,
NIK or name, a letter's number or the words of the text, and excerpts of texts.

Reporting holds none of these: intake answers on its internal routes, to the service
credential (services/intake/lookup.py), and reporting applies the access policy to what comes
back. Intake away is a 503 of the search, never a search that silently found nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

import httpx
from fastapi import Depends, Request

from shared import db
from shared.feed import CREDENTIAL_HEADER, service_credential
from shared.outages import RETRY_AFTER_SECONDS
from shared.problems import Problem
from shared.settings import Settings

TIMEOUT_SECONDS = 5.0
AWAY = (
    "Pencarian menurut data pelapor, nomor surat atau isi pengaduan sedang tidak dapat "
    "dilayani; silakan coba lagi beberapa saat lagi."
)

TOO_MANY = (
    "Kriteria ini cocok dengan terlalu banyak kasus; tambahkan kata atau kriteria lain "
    "yang lebih khusus."
)


@dataclass
class IntakeLookup:
    """Intake's internal search routes, with the service credential (read once)."""

    settings: Settings
    pool: db.Pool
    _credential: str | None = field(default=None, repr=False)

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        if self._credential is None:
            self._credential = await db.read(
                self.pool, lambda conn: service_credential(self.settings, conn)
            )
        url = f"{self.settings.service_url('intake')}/internal/v1/{path}"
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as http:
                answer = await http.post(
                    url, json=body, headers={CREDENTIAL_HEADER: self._credential}
                )
        except httpx.HTTPError as error:
            raise _away() from error
        if answer.status_code != 200:
            raise _away()
        return answer.json()

    async def cases(self, criteria: dict[str, str], agencies: list[str] | None) -> list[UUID]:
        """The cases intake finds by these criteria (every one must match), of these agencies
        (None: of every one); 422 when they are more than intake answers at once (a list cut
        short would hide cases)."""
        found = await self._post("lookup", criteria | {"agencies": agencies})
        if found["more"]:
            raise Problem(422, TOO_MANY, code="too-many-matches")
        return [UUID(case_id) for case_id in found["case_ids"]]

    async def excerpts(self, case_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """The start of each case's text, `clear` and `masked` (masked before it was cut): the
        caller shows each reader the one it may read. Nothing while intake is away: the list
        of cases still answers, without excerpts."""
        ids = list(dict.fromkeys(case_ids))
        if not ids:
            return {}
        try:
            found: dict[str, dict[str, str]] = await self._post("excerpts", {"case_ids": ids})
        except Problem:
            return {}
        return found


def _away() -> Problem:
    return Problem(
        503, AWAY, code="intake-unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


async def _intake(request: Request) -> IntakeLookup:
    state = request.app.state
    if getattr(state, "intake_lookup", None) is None:
        state.intake_lookup = IntakeLookup(state.settings, state.pool)
    lookup: IntakeLookup = state.intake_lookup
    return lookup


Intake = Annotated[IntakeLookup, Depends(_intake)]

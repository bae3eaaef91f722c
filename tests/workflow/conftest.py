"""A service desk for workflow tests: the app in this process, tokens, cases to work on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from services.workflow.app import create_app
from services.workflow.case import Case
from services.workflow.cases import Cases
from services.workflow.issuer import Issuer
from shared.settings import Settings
from shared.sop import PROVINCE, PROVINCE_ROLES, Kind, Role
from shared.tracking_code import new_code
from tests.bodies import as_sent
from tests.conftest import serving


@dataclass
class Desk:
    """The workflow API and what a test needs around it."""

    http: httpx.AsyncClient
    cases: Cases
    issuer: Issuer

    def headers(self, *roles: Role, officer: str = "") -> dict[str, str]:
        """A bearer token for an officer holding these roles."""
        subject = officer or f"{roles[0].value}-test"
        if PROVINCE_ROLES.isdisjoint(roles):
            token = self.issuer.mint(subject=subject, name=subject, roles=list(roles))
        else:  # the coordinator's roles are held in the province's membership alone
            token = self.issuer.mint(
                subject=subject, name=subject, roles=list(roles), agency=PROVINCE
            )
        return {"Authorization": f"Bearer {token}"}

    async def open(
        self, kind: Kind = Kind.COMPLAINT, received_at: datetime | None = None, **flags: Any
    ) -> UUID:
        """A case as workflow opens it from intake's event."""
        case = Case.open(
            case_id=uuid4(),
            agency=self.cases.settings.agency,
            kind=kind,
            tracking_code=new_code(),
            channel="web",
            category=None,
            received_at=received_at or datetime.now(UTC),
            anonymous=flags.get("anonymous", False),
            confidential=flags.get("confidential", False),
            complainant_ref=None,
            calendar=self.cases.calendar(),
        )
        await asyncio.to_thread(self.cases.open, [lambda: case])
        return case.id

    async def erase(self, case_id: UUID) -> None:
        """The complainant's data erased, as workflow hears intake's erasure: the key shredded."""

        def erase() -> None:
            case = self.cases.get_case(case_id)
            assert case.erase_data(at=datetime.now(UTC))
            self.cases.store(case, erased=[case.id])

        await asyncio.to_thread(erase)

    async def view(self, case_id: UUID, role: Role = Role.TIM_PENGADUAN) -> dict[str, Any]:
        """The case as an officer of this role sees it."""
        answer = await self.http.get(f"/workflow/v1/cases/{case_id}", headers=self.headers(role))
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def act(
        self, case_id: UUID, path: str, role: Role, *, version: int | None = None, **body: Any
    ) -> httpx.Response:
        """Run a command as an officer of this role, on the current version unless given."""
        if version is None and path != "notes":
            version = (await self.view(case_id))["version"]
        payload = body if path == "notes" else {"version": version, **as_sent(path, body)}
        return await self.http.post(
            f"/workflow/v1/cases/{case_id}/{path}", json=payload, headers=self.headers(role)
        )

    async def attach(
        self,
        case_id: UUID,
        content: bytes,
        name: str = "surat.pdf",
        role: Role = Role.TIM_PENGADUAN,
    ) -> httpx.Response:
        """Upload a PDF to the case as an officer of this role."""
        return await self.http.post(
            f"/workflow/v1/cases/{case_id}/attachments",
            files={"file": (name, content, "application/pdf")},
            headers=self.headers(role),
        )

    async def step(self, case_id: UUID, path: str, role: Role, **body: Any) -> dict[str, Any]:
        """Run a command that must succeed; the case view after it."""
        answer = await self.act(case_id, path, role, **body)
        assert answer.status_code == 200, answer.text
        view: dict[str, Any] = answer.json()
        return view


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Desk]:
    app = create_app(settings.model_copy(update={"relay": False, "clock": False}))
    async with serving(app) as http:
        yield Desk(http, app.state.cases, app.state.issuer)

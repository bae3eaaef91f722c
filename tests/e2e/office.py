"""The whole office in this process: intake (with every channel wired to local stand-ins),
workflow and reporting, on one test's database, vhost and key prefix."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from services.intake.app import create_app as create_intake
from services.reporting.app import create_app as create_reporting
from services.workflow.app import create_app as create_workflow
from shared.settings import Settings
from shared.sop import Role
from tests.conftest import serving
from tests.intake.conftest import Desk
from tests.intake.standins import ImapServer, SmtpSink, http_standin, imap_server, smtp_sink
from tests.intake.test_email import mail_settings
from tests.polling import eventually


@dataclass
class Office:
    """The three services and the stand-ins around them."""

    intake: Desk
    workflow: httpx.AsyncClient
    reporting: httpx.AsyncClient
    imap: ImapServer
    smtp: SmtpSink

    @property
    def settings(self) -> Settings:
        """The test's settings."""
        return self.intake.settings

    async def rekap(self) -> dict[str, Any]:
        """This year's rekap."""
        year = datetime.now(ZoneInfo(self.settings.timezone)).year
        answer = await self.reporting.get(f"/reporting/v1/rekap?year={year}")
        body: dict[str, Any] = answer.json()
        return body

    async def counted(self, channel: str, total: int = 1) -> dict[str, Any]:
        """Wait until the rekap holds `total` cases, all of them by `channel`."""

        async def probe() -> dict[str, Any] | None:
            rekap = await self.rekap()
            channels = {row["channel"] for row in rekap["rows"]}
            return rekap if rekap["total"] == total and channels == {channel} else None

        rekap = await eventually(probe, within=15, interval=0.1)
        assert rekap is not None
        return rekap

    def officer(self, *roles: Role) -> dict[str, str]:
        """Authorization for an officer with these roles (both services accept it)."""
        return self.intake.officer(*roles)


@contextlib.asynccontextmanager
async def office(settings: Settings) -> AsyncIterator[Office]:
    """Everything running, until the block ends."""
    async with imap_server() as imap, http_standin() as graph:
        with smtp_sink() as smtp:
            configured = mail_settings(settings, imap, smtp, graph.url).model_copy(
                update={"relay": True, "clock": False}
            )
            intake_app = create_intake(configured)
            async with (
                serving(intake_app) as intake,
                serving(create_workflow(configured)) as workflow,
                serving(create_reporting(configured)) as reporting,
            ):
                desk = Desk(intake, intake_app, configured, graph)
                yield Office(desk, workflow, reporting, imap, smtp)

"""The office's texts for the complainant, in clear, for their own view and their own channel.

What workflow publishes of the answer and of the information requests is masked (wire.py):
the public reads it. The complainant's own view (reporting, with the receipt secret) and the
messages sent to their own channel (intake) read the texts as the officer wrote them, from
here: an internal route, to the service credential only, never reachable from outside.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from services.workflow.api import CaseId, CasesDep
from services.workflow.case import Case
from services.workflow.cases import Cases
from shared.feed import require_service_credential
from shared.problems import problems
from shared.sealing import ERASED

router = APIRouter(
    prefix="/internal/v1",
    include_in_schema=False,
    dependencies=[Depends(require_service_credential)],
)


class PublicTexts(BaseModel):
    """The answer and the latest message to the complainant, in clear (None: none, erased)."""

    answer: str | None = None
    message: str | None = None


def _opened(cases: Cases, case_id: UUID, sealed: str | None) -> str | None:
    opened: Any = cases.unseal(case_id, sealed) if sealed else None
    return opened if isinstance(opened, str) and opened and opened != ERASED else None


def public_texts(cases: Cases, case_id: UUID) -> PublicTexts:
    """The case's answer (while it stands) and its latest information request's message."""
    case = cases.get_case(case_id)
    asked = [
        event.message
        for event in cases.events.get(case_id)
        if isinstance(event, Case.InformationRequested) and event.message
    ]
    return PublicTexts(
        answer=_opened(cases, case_id, case.answer),
        message=_opened(cases, case_id, asked[-1] if asked else None),
    )


@router.get("/cases/{case_id}/public-texts", responses=problems(403, 404, 503))
async def get_public_texts(case_id: CaseId, cases: CasesDep) -> PublicTexts:
    """The answer and the latest message to the complainant, in clear (services only)."""
    return await cases.guard.call(lambda: public_texts(cases, case_id))

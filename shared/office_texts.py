"""The office's texts for the complainant in clear, asked of workflow (its internal route).

Workflow publishes the answer and the information requests masked: the public reads them.
Only the complainant's own view (reporting, with the receipt secret) and the messages sent to
their own channel (intake) show them as the officer wrote them, asked here each time, never
kept. Workflow away (or slow): None, and the caller shows the masked text it has.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

import httpx

from shared.feed import CREDENTIAL_HEADER
from shared.settings import Settings

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class OfficeTexts:
    """The answer and the latest message to the complainant, in clear (None: none, erased)."""

    answer: str | None
    message: str | None


def path(case_id: UUID) -> str:
    """Workflow's internal route for a case's texts."""
    return f"/internal/v1/cases/{case_id}/public-texts"


async def clear_texts(settings: Settings, credential: str, case_id: UUID) -> OfficeTexts | None:
    """The case's texts in clear; None when workflow cannot say now (the caller falls back)."""
    url = settings.service_url("workflow") + path(case_id)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as http:
            answer = await http.get(url, headers={CREDENTIAL_HEADER: credential})
        if answer.status_code != 200:
            log.warning("office texts of %s: workflow answered %s", case_id, answer.status_code)
            return None
        found = answer.json()
        return OfficeTexts(_text(found.get("answer")), _text(found.get("message")))
    except (httpx.HTTPError, ValueError, AttributeError) as error:
        log.warning("office texts of %s: %s", case_id, error)
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None

"""Excerpts of what complainants wrote, for officers' lists: triage without opening each case.

The text stays here, sealed (it never goes on the wire, nor into reporting's read model): a
list asks for the excerpts of the cases it shows. Each is given only to a role that may read
the text (shared/access.py); with personal data masked (shared.pii) unless the role may also
see the complainant's identity. A case the role may not read is simply left out.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.intake.api import CurrentInbox
from services.intake.inbox import Inbox
from services.intake.reach import store_call
from services.intake.submission import Submission
from shared import pii
from shared.access import Facet, privacy_of, visible
from shared.auth import CurrentOfficer, Officer
from shared.problems import problems

router = APIRouter(prefix="/v1", tags=["personal data"])

MAX_CASES = 500
LENGTH = 160  # characters of the excerpt


class ExcerptsBody(BaseModel):
    """The cases of a list."""

    model_config = ConfigDict(extra="forbid")

    case_ids: Annotated[list[UUID], Field(min_length=1, max_length=MAX_CASES)]


def shorten(text: str, length: int = LENGTH) -> str:
    """The text on one line, cut at a word within `length` characters."""
    flat = " ".join(text.split())
    if len(flat) <= length:
        return flat
    cut = flat[:length].rsplit(" ", 1)[0] or flat[:length]
    return cut + "…"


class Excerpt(BaseModel):
    """The start of a text, cut from the whole: as written, and with its personal data masked
    (masked before the cut, so a cut never leaves part of a number readable)."""

    clear: str
    masked: str


def excerpt_of(inbox: Inbox, submission: Submission) -> Excerpt | None:
    """The excerpt of one submission's text (None: erased)."""
    key = inbox.submissions.personal_key(submission.received.personal_ref)
    if key is None:
        return None  # erased
    edited = getattr(submission, "first_edit", None)  # the words as the complainant left them
    text = str(key.open(edited or submission.received.sealed).get("text", ""))
    return Excerpt(clear=shorten(text), masked=shorten(pii.mask(text)))


def excerpt_for(inbox: Inbox, case_id: UUID, officer: Officer) -> str | None:
    """The excerpt this officer may read of one case (None: not theirs to read)."""
    submissions = inbox.submissions
    submission = submissions.submission(case_id)
    agency = submissions.agency_now(submission) if submission is not None else None
    roles = officer.roles_in(agency) if agency is not None else frozenset()
    if submission is None or not roles:
        return None
    received = submission.received
    privacy = privacy_of(anonymous=received.anonymous, confidential=received.confidential)
    facets = visible(roles, privacy, submissions.current_step(submission))
    if Facet.TEXT not in facets:
        return None
    excerpt = excerpt_of(inbox, submission)
    if excerpt is None:
        return None
    return excerpt.clear if Facet.IDENTITY in facets else excerpt.masked


def excerpts(inbox: Inbox, body: ExcerptsBody, officer: Officer) -> dict[str, str]:
    """Case id -> excerpt, for the cases this officer may read."""
    found = {case_id: excerpt_for(inbox, case_id, officer) for case_id in body.case_ids}
    return {str(case_id): text for case_id, text in found.items() if text is not None}


@router.post("/submissions/excerpts", responses=problems(401, 422, 503))
async def read_excerpts(
    body: ExcerptsBody, officer: CurrentOfficer, inbox: CurrentInbox
) -> dict[str, str]:
    """Excerpts of what the complainants wrote, as far as this officer may read them."""
    return await store_call(excerpts, inbox, body, officer)

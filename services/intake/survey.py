"""The satisfaction survey (SKM) after closure: the complainant rates nine elements, 1 to 4."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from services.intake.inbox import Inbox
from services.intake.limits import PerAddressLimit
from services.intake.store import Submissions
from shared.problems import Problem, problems
from shared.survey import ELEMENTS
from shared.tracking_code import normalize

router = APIRouter(prefix="/v1", tags=["survey"])

Score = Annotated[StrictInt, Field(ge=1, le=4)]


class SurveyForm(BaseModel):
    """The tracking code of a closed case and the nine scores, in the order of ELEMENTS."""

    model_config = ConfigDict(extra="forbid")

    tracking_code: Annotated[str, Field(max_length=32)]
    scores: list[Score] = Field(min_length=len(ELEMENTS), max_length=len(ELEMENTS))


class SurveyQuestions(BaseModel):
    """What the survey asks."""

    elements: list[str]
    scale: dict[int, str]


SCALE = {1: "Tidak baik", 2: "Kurang baik", 3: "Baik", 4: "Sangat baik"}


@router.get("/surveys/questions")
async def questions() -> SurveyQuestions:
    """The nine SKM elements and the rating scale."""
    return SurveyQuestions(elements=list(ELEMENTS), scale=SCALE)


def _rate(submissions: Submissions, code: str, scores: list[int], due: float) -> None:
    row = submissions.find_by_code(code)
    submission = submissions.submission(row.case_id) if row else None
    if submission is None:
        raise Problem(404, "Nomor tiket tidak ditemukan.", code="unknown-tracking-code")
    closed = submissions.query("SELECT 1 FROM {s}.closures WHERE case_id = %s", (submission.id,))
    if not closed:
        raise Problem(409, "Survei dapat diisi setelah pengaduan selesai.", code="not-closed")
    if submission.surveyed:
        raise Problem(409, "Survei untuk tiket ini sudah diisi. Terima kasih.", code="surveyed")
    submission.rate(scores=scores, at=datetime.now(UTC))
    submissions.save(submission, deadline=due)


@router.post("/surveys", status_code=201, responses=problems(404, 409, 413, 422, 429, 503))
async def submit_survey(
    form: SurveyForm, request: Request, limited: PerAddressLimit
) -> dict[str, str]:
    """Rate the service after the case closed (once per case)."""
    code = normalize(form.tracking_code)
    if code is None:
        raise Problem(404, "Nomor tiket tidak ditemukan.", code="unknown-tracking-code")
    inbox: Inbox = request.app.state.inbox
    await inbox.write(partial(_rate, inbox.submissions, code, form.scores))
    return {"tracking_code": code, "message": "Terima kasih atas penilaian Anda."}

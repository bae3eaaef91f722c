"""The satisfaction survey (SKM, PermenPANRB 14/2017) after closure, by code + receipt secret.

Nine elements, each with its own question and four answers (scored 1 to 4), the respondent's
profile and a suggestion (sealed with the complainant's personal key). Offered only once the
case is closed (the page asks when it opens), once per case.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from services.intake.api import CurrentInbox
from services.intake.complainant import (
    GUARDED,
    HeldCode,
    SecretHeader,
    checked_and_saved,
    closed_at,
    open_with_secret,
    submission_of,
)
from services.intake.inbox import Inbox
from services.intake.reach import store_call
from services.intake.submission import Submission
from shared.limits import PerAddressLimit
from shared.problems import Problem, problems
from shared.survey import PROFILE, SKM
from shared.text import CLEAN

router = APIRouter(prefix="/v1", tags=["survey"])

Score = Annotated[StrictInt, Field(ge=1, le=4)]
Choice = Annotated[str, StringConstraints(max_length=20)]


class Profile(BaseModel):
    """The respondent's profile; each field optional, from shared/survey.py PROFILE."""

    model_config = ConfigDict(extra="forbid")

    age_group: Choice | None = None
    sex: Choice | None = None
    education: Choice | None = None
    occupation: Choice | None = None

    @model_validator(mode="after")
    def _known(self) -> Profile:
        for name, (_, options) in PROFILE.items():
            value = getattr(self, name)
            if value is not None and value not in options:
                raise ValueError(f"{name}: pilih salah satu: {', '.join(options)}")
        return self


class SurveyForm(BaseModel):
    """The tracking code of a closed case, the nine scores in SKM order, profile, suggestion."""

    model_config = ConfigDict(extra="forbid")

    tracking_code: Annotated[str, Field(max_length=32)]
    scores: list[Score] = Field(min_length=len(SKM), max_length=len(SKM))
    profile: Profile = Field(default_factory=Profile)
    suggestion: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), CLEAN] = (
        ""
    )


class Question(BaseModel):
    """One element: its id, label, question and its own four answers (scores 1 to 4)."""

    id: str
    label: str
    question: str
    answers: list[str]


class ProfileField(BaseModel):
    """One profile question and its options (id → label)."""

    id: str
    label: str
    options: dict[str, str]


class SurveyQuestions(BaseModel):
    """What the survey asks."""

    elements: list[Question]
    profile: list[ProfileField]


@router.get("/surveys/questions")
async def questions() -> SurveyQuestions:
    """The nine SKM elements with their questions and answers, and the profile's questions."""
    return SurveyQuestions(
        elements=[
            Question(id=e.id, label=e.label, question=e.question, answers=list(e.answers))
            for e in SKM
        ],
        profile=[
            ProfileField(id=name, label=label, options=options)
            for name, (label, options) in PROFILE.items()
        ],
    )


class SurveyState(BaseModel):
    """Whether the survey is open for this code now, and why not."""

    tracking_code: str
    open: bool
    reason: str | None = None
    detail: str | None = None


NOT_CLOSED = "Survei dapat diisi setelah pengaduan selesai."
SURVEYED = "Survei untuk tiket ini sudah diisi. Terima kasih."


def _state(inbox: Inbox, code: str) -> SurveyState:
    return _state_of(inbox, submission_of(inbox.submissions, code), code)


def _state_of(inbox: Inbox, submission: Submission, code: str) -> SurveyState:
    if closed_at(inbox.submissions, submission.id) is None:
        return SurveyState(tracking_code=code, open=False, reason="not-closed", detail=NOT_CLOSED)
    if submission.surveyed:
        return SurveyState(tracking_code=code, open=False, reason="surveyed", detail=SURVEYED)
    return SurveyState(tracking_code=code, open=True)


@router.get("/surveys/{code}", responses=GUARDED)
async def survey_state(code: HeldCode, inbox: CurrentInbox) -> SurveyState:
    """Whether this case may be surveyed now (code + receipt secret): the page asks on opening."""
    return await store_call(_state, inbox, code)


def _rate(inbox: Inbox, code: str, form: SurveyForm, due: float) -> None:
    checked_and_saved(partial(_rate_once, inbox, code, form, due))


def _rate_once(inbox: Inbox, code: str, form: SurveyForm, due: float) -> None:
    submission = submission_of(inbox.submissions, code)  # once: checked as it is saved
    state = _state_of(inbox, submission, code)
    if not state.open:
        raise Problem(409, state.detail or NOT_CLOSED, code=state.reason or "not-closed")
    key = inbox.submissions.personal_key(submission.received.personal_ref)
    suggestion = key.seal({"suggestion": form.suggestion}) if key and form.suggestion else ""
    profile = {k: v for k, v in form.profile.model_dump().items() if v is not None}
    submission.rate(
        scores=form.scores, at=datetime.now(UTC), profile=profile or None, suggestion=suggestion
    )
    inbox.submissions.save(submission, deadline=due)


@router.post("/surveys", status_code=201, responses=GUARDED | problems(409, 413, 422))
async def submit_survey(
    form: SurveyForm,
    request: Request,
    inbox: CurrentInbox,
    limited: PerAddressLimit,
    secret: SecretHeader = None,
) -> dict[str, str]:
    """Rate the service after the case closed (once per case; code + receipt secret)."""
    code = await open_with_secret(request, form.tracking_code, secret)
    await inbox.write(partial(_rate, inbox, code, form))
    return {"tracking_code": code, "message": "Terima kasih atas penilaian Anda."}

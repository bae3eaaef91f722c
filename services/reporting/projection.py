"""The projection as pure functions: (case row or None, event) -> (case row, effects).

The live consumer and the rebuild share these functions, so they cannot disagree. Each
stream (producer + case) is applied in version order; across streams the result does not
depend on the order (intake's events only fill in a case row that does not exist yet).
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from shared.events import (
    Contract,
    Envelope,
    StepCompleted,
    SubmissionImported,
    SubmissionReceived,
)
from shared.events import workflow as wf
from shared.events.intake import ComplainantReplied, SurveySubmitted
from shared.events.opening import Opening
from shared.sop import Role
from shared.vocabulary import IMPORTED, PUBLIC_HISTORY, Group, Status, closes_as, is_in


@dataclass(frozen=True)
class CaseRow:
    """One case as reporting sees it; the columns of case_summary. Never personal data."""

    case_id: UUID
    agency: str
    tracking_code: str
    kind: str
    channel: str
    category: str | None
    received_at: datetime
    anonymous: bool
    confidential: bool
    status: str = Status.RECEIVED.value
    current_step: str | None = None
    sop_version: str | None = None
    step_due_at: datetime | None = None
    deadline_at: datetime | None = None
    waiting_since: datetime | None = None
    closed_at: datetime | None = None
    resolution: str | None = None
    public_answer: str | None = None
    bkpm_escalated: bool = False
    bkpm_reference: str | None = None
    overdue: bool = False
    breached: bool = False
    reopened: int = 0
    merged_into: UUID | None = None
    imported: bool = False  # brought in from the office's old register
    handled_by: str | None = None  # the name of the officer who acted on it last
    replied_at: datetime | None = None  # the complainant's last reply on their tracking page

    @property
    def timeliness(self) -> str:
        """open, on_time or late (14 working days, moved by pauses); n/a for merged duplicates,
        for register cases archived here and for imported cases the register closed without
        saying when."""
        if not is_in(self.status, Group.CLOSED):
            return "open"
        if not is_in(self.status, Group.ANSWERED) or self.closed_at is None:  # no answer here
            return "n/a"
        on_time = self.deadline_at is None or self.closed_at <= self.deadline_at
        return "on_time" if on_time else "late"

    def bucket(self, tz: ZoneInfo) -> tuple[str, int, int, str, str, str, str, str]:
        """The rekap row this case counts in: the month it was received, in office time."""
        local = self.received_at.astimezone(tz)
        category = self.category or ""
        return (
            self.agency,
            local.year,
            local.month,
            self.channel,
            self.kind,
            category,
            self.status,
            self.timeliness,
        )


COLUMNS = tuple(field.name for field in dataclasses.fields(CaseRow))
row_values: Callable[[CaseRow], tuple[Any, ...]] = operator.attrgetter(*COLUMNS)
"""A row's values in COLUMNS' order (as the table's columns)."""
DIMENSIONS = ("year", "month", "channel", "kind", "category", "status", "timeliness")


@dataclass(frozen=True)
class Cube:
    """A rekap table: counts of cases by agency and these dimensions (a rollup of the full one).

    Each is kept by every projection; a query reads the smallest that has its dimensions.
    """

    table: str
    dimensions: tuple[str, ...]

    @functools.cached_property
    def key(self) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
        """The cube's row for a case's full bucket (agency first)."""
        return operator.itemgetter(0, *(1 + DIMENSIONS.index(d) for d in self.dimensions))


CUBES = (
    Cube("rekap", DIMENSIONS),
    Cube("rekap_by_channel", ("year", "month", "channel", "kind")),
)


def cube_for(dimensions: set[str]) -> Cube:
    """The smallest rekap table that can answer a query over these dimensions."""
    fitting = [cube for cube in CUBES if dimensions <= set(cube.dimensions)]
    return min(fitting, key=lambda cube: len(cube.dimensions))


@dataclass(frozen=True)
class StepTime:
    """One SOP step done: working time against its standard (a row of step_times)."""

    case_id: UUID
    version: int
    agency: str
    kind: str
    sop_version: str
    step: str
    role: str | None
    completed_at: datetime
    working_minutes: float
    within_standard: bool


@dataclass(frozen=True)
class Survey:
    """A satisfaction survey (SKM), one per case (the last answer counts)."""

    case_id: UUID
    agency: str
    submitted_at: datetime
    scores: tuple[int, ...]
    age_group: str | None = None  # the respondent's profile (shared/survey.py PROFILE)
    sex: str | None = None
    education: str | None = None
    occupation: str | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One step of a case's public history, as its complainant reads it (vocabulary's
    PUBLIC_HISTORY): when, what, at which SOP step, and the office's message, if any."""

    case_id: UUID
    source: str
    version: int
    agency: str
    at: datetime
    event: str
    step: str | None
    message: str | None


@dataclass(frozen=True)
class CalendarDay:
    """An administrator's correction of the calendar (None: withdrawn)."""

    agency: str
    day: date
    working: bool | None
    label: str


@dataclass(frozen=True)
class CaseMoved:
    """The case now belongs to another agency: its history and survey go with it."""

    case_id: UUID
    agency: str


@dataclass(frozen=True)
class MessagesErased:
    """The case's personal data was erased: the office's messages in its history go too."""

    case_id: UUID


Effect = StepTime | Survey | CalendarDay | HistoryEntry | MessagesErased | CaseMoved


@dataclass(frozen=True)
class Outcome:
    """What one event does: the case row after it (if it concerns a case) and other effects."""

    row: CaseRow | None
    effects: tuple[Effect, ...] = field(default=())


Projector = Callable[[CaseRow | None, Envelope], Outcome]
R = TypeVar("R")


def changed(record: R, /, **changes: Any) -> R:
    """`dataclasses.replace` for the records here (frozen, no `__post_init__`), at an eighth of
    its cost: the fields' values copied, then the changes, without the generated `__init__`
    setting each of them again. A projector changes a row once or twice per event, and a
    rebuild applies every event there is (replace was a quarter of its work)."""
    cls: type = type(record)
    unknown = changes.keys() - _fields_of(cls)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
    copy: R = object.__new__(cls)
    copy.__dict__.update(record.__dict__, **changes)
    return copy


@functools.cache
def _fields_of(cls: type) -> frozenset[str]:
    return frozenset(field.name for field in dataclasses.fields(cls))


def _new_row(data: Opening, agency: str, *, imported: bool = False) -> CaseRow:
    """A case row from what every opening event says (stored ids as plain text)."""
    facts: dict[str, Any] = {
        key: value.value if isinstance(value, Enum) else value
        for key, value in data.opening().items()
    }
    return CaseRow(**facts, agency=agency, imported=imported)


def _received(row: CaseRow | None, envelope: Envelope) -> Outcome:
    """Intake's received or imported submission: a row, unless workflow's event came first
    (intake never changes a case's state; it only adds the register's own category label)."""
    data = envelope.data
    assert isinstance(data, SubmissionReceived | SubmissionImported)
    imported = isinstance(data, SubmissionImported)
    row = row or _new_row(data, envelope.agency, imported=imported)
    label = data.source_category if isinstance(data, SubmissionImported) else None
    if label and row.category is None:  # a register topic no category of ours was mapped to
        row = changed(row, category=label)
    return Outcome(row)


def _opened(row: CaseRow | None, envelope: Envelope) -> Outcome:
    data = envelope.data
    assert isinstance(data, wf.CaseOpened)
    return Outcome(
        changed(
            row or _new_row(data, envelope.agency),
            status=Status.IN_PROGRESS.value,
            current_step=data.current_step,
            sop_version=data.sop_version,
            step_due_at=data.step_due_at,
            deadline_at=data.deadline_at,
        )
    )


def _case_imported(row: CaseRow | None, envelope: Envelope) -> Outcome:
    """The register's state: open at a step, or closed at its real date (not at import)."""
    data = envelope.data
    assert isinstance(data, wf.CaseImported)
    closed = is_in(data.status, Group.CLOSED)
    return Outcome(
        changed(
            row or _new_row(data, envelope.agency),
            status=data.status.value,
            current_step=data.current_step,
            sop_version=data.sop_version,
            step_due_at=data.step_due_at,
            deadline_at=data.deadline_at,
            closed_at=data.closed_at,
            resolution=IMPORTED if closed else None,
            imported=True,
        )
    )


def _completed(row: CaseRow | None, envelope: Envelope) -> Outcome:
    data = envelope.data
    assert isinstance(data, StepCompleted)
    assert row is not None
    assert data.step is not None
    changes: dict[str, Any] = {
        "current_step": data.next_step,
        "step_due_at": data.next_step_due_at,
        "overdue": False,
    }
    if data.next_step is None:
        closes = closes_as(data.name).value
        changes |= {"status": closes, "closed_at": data.at, "resolution": data.name}
    changes |= _step_specifics(data)
    timing = StepTime(
        case_id=row.case_id,
        version=envelope.streamversion,
        agency=row.agency,
        kind=row.kind,
        sop_version=row.sop_version or "",
        step=data.step,
        role=data.by_role.value if data.by_role else None,
        completed_at=data.at,
        working_minutes=data.working_minutes,
        within_standard=data.within_standard,
    )
    return Outcome(changed(row, **changes), (timing,))


def _step_specifics(data: StepCompleted) -> dict[str, Any]:
    if isinstance(data, wf.ResolvedDirectly | wf.FollowUpArchived | wf.FacilitationCompleted):
        return {"public_answer": data.public_answer}
    if isinstance(data, wf.EscalatedToBkpm):
        return {"bkpm_escalated": True, "bkpm_reference": data.bkpm_reference or None}
    if isinstance(data, wf.BkpmAnswered):
        return {"bkpm_reference": data.bkpm_reference or None}
    return {}


def _changed(**changes: Any) -> Projector:
    """A projector that sets fixed values, plus the event's own fields named in `copy`."""
    copy = changes.pop("copy", ())

    def project(row: CaseRow | None, envelope: Envelope) -> Outcome:
        assert row is not None
        data = envelope.data
        values = {column: getattr(data, source) for column, source in copy} | {
            column: (getattr(data, "at") if value is _AT else value)  # noqa: B009 - any contract
            for column, value in changes.items()
        }
        return Outcome(changed(row, **values))

    return project


_AT = object()  # placeholder: the event's `at`
_CLOSED_NOW = {"current_step": None, "step_due_at": None, "waiting_since": None, "closed_at": _AT}


def _closing(contract: type[Any], **more: Any) -> Projector:
    """A case closed by an event of its own (not a step's), with the status the vocabulary
    gives it."""
    return _changed(
        status=closes_as(contract.name).value, resolution=contract.name, **more, **_CLOSED_NOW
    )


def _reopened(row: CaseRow | None, envelope: Envelope) -> Outcome:
    data = envelope.data
    assert isinstance(data, wf.CaseReopened)
    assert row is not None
    return Outcome(
        changed(
            row,
            status=Status.IN_PROGRESS.value,
            current_step=data.step,
            step_due_at=data.step_due_at,
            deadline_at=data.deadline_at,
            closed_at=None,
            resolution=None,
            public_answer=None,
            overdue=False,
            breached=False,
            reopened=row.reopened + 1,
        )
    )


def _transferred(row: CaseRow | None, envelope: Envelope) -> Outcome:
    """The case waits at the step it was handed over at, in the agency it went to (`_placed`
    moves it), under that step's time and the deadline the move rule set, as workflow's case
    does; a restarted deadline is not breached."""
    data = envelope.data
    assert isinstance(data, wf.CaseTransferred)
    assert row is not None
    restarted = {"breached": False} if data.deadline_restarted else {}
    return Outcome(
        changed(
            row,
            current_step=data.current_step,
            step_due_at=data.step_due_at,
            deadline_at=data.deadline_at,
            overdue=False,
            **restarted,
        )
    )


def _erased(row: CaseRow | None, envelope: Envelope) -> Outcome:
    assert row is not None
    erased = MessagesErased(row.case_id)
    return Outcome(changed(row, public_answer=None), (erased,))


def _unchanged(row: CaseRow | None, envelope: Envelope) -> Outcome:
    return Outcome(row)


def _survey(row: CaseRow | None, envelope: Envelope) -> Outcome:
    data = envelope.data
    assert isinstance(data, SurveySubmitted)
    survey = Survey(
        data.case_id,
        row.agency if row else envelope.agency,  # the case's agency, wherever it was sent
        data.at,
        tuple(data.scores),
        age_group=data.age_group,
        sex=data.sex,
        education=data.education,
        occupation=data.occupation,
    )
    return Outcome(row, (survey,))


def _replied(row: CaseRow | None, envelope: Envelope) -> Outcome:
    data = envelope.data
    assert isinstance(data, ComplainantReplied)
    return Outcome(row and changed(row, replied_at=data.received_at))


def _calendar(row: CaseRow | None, envelope: Envelope) -> Outcome:
    data = envelope.data
    assert isinstance(data, wf.CalendarEvent)
    working = data.working if isinstance(data, wf.CalendarDaySet) else None
    label = data.label if isinstance(data, wf.CalendarDaySet) else ""
    return Outcome(
        None, (CalendarDay(envelope.agency, date.fromisoformat(data.day), working, label),)
    )


PROJECTORS: dict[type[Any], Projector] = {
    SubmissionReceived: _received,
    SubmissionImported: _received,
    SurveySubmitted: _survey,
    ComplainantReplied: _replied,
    wf.CaseOpened: _opened,
    wf.CaseImported: _case_imported,
    StepCompleted: _completed,
    wf.InformationRequested: _changed(status=Status.WAITING_INFO.value, waiting_since=_AT),
    wf.InformationReceived: _changed(
        status=Status.IN_PROGRESS.value,
        waiting_since=None,
        copy=(("step_due_at", "step_due_at"), ("deadline_at", "deadline_at")),
    ),
    wf.CaseRejected: _closing(wf.CaseRejected),
    wf.CaseMerged: _closing(wf.CaseMerged, copy=(("merged_into", "primary_case_id"),)),
    wf.BacklogClosed: _closing(wf.BacklogClosed),
    wf.CaseReopened: _reopened,
    wf.CaseTransferred: _transferred,  # and CaseDeclined, its subclass
    wf.StepOverdue: _changed(overdue=True),
    wf.CaseDataErased: _erased,
    wf.DeadlineBreached: _changed(breached=True),
    wf.CalendarEvent: _calendar,
}
"""By contract class; a contract not listed (nor any of its bases) changes nothing."""


def _named(project: Projector) -> Projector:
    """The projector, then the name of the officer who acted (if the event says it; the
    complainant acting on their own case is no officer handling it)."""

    def named(row: CaseRow | None, envelope: Envelope) -> Outcome:
        outcome = project(row, envelope)
        name = envelope.data.get("by_name")
        officer = envelope.data.get("by_role") != Role.PEMOHON
        if name and officer and outcome.row is not None:
            return Outcome(changed(outcome.row, handled_by=name), outcome.effects)
        return outcome

    return named


def _placed(project: Projector) -> Projector:
    """The projector, then the case in the agency of workflow's latest event on it (workflow
    decides where a case is: a transfer moves it; intake's events never do). A case that
    moves takes its rekap counts (the bucket's agency), history and survey along."""

    def placed(row: CaseRow | None, envelope: Envelope) -> Outcome:
        outcome = project(row, envelope)
        agency = envelope.data.get("to_agency") or envelope.agency
        if outcome.row is None or outcome.row.agency == agency:
            return outcome
        moved = changed(outcome.row, agency=agency)
        return Outcome(moved, (*outcome.effects, CaseMoved(moved.case_id, agency)))

    return placed


def projector_for(data: Contract) -> Projector:
    """The projector of an event's contract: its own, or its nearest listed base's (for a
    workflow event, followed by the officer's name and the case's agency); an event of the
    public history also leaves its entry."""
    return _projector_of(type(data))


@functools.cache
def _projector_of(contract: type[Contract]) -> Projector:
    """`projector_for`, once per contract class (a rebuild asks per event)."""
    found = next((PROJECTORS[cls] for cls in contract.__mro__ if cls in PROJECTORS), _unchanged)
    project = _placed(_named(found)) if issubclass(contract, wf.CaseEvent) else found
    if getattr(contract, "name", None) not in PUBLIC_HISTORY:
        return project

    def with_history(row: CaseRow | None, envelope: Envelope) -> Outcome:
        outcome = project(row, envelope)
        entry = _history(envelope, outcome.row.agency if outcome.row else envelope.agency)
        return changed(outcome, effects=(*outcome.effects, entry))

    return with_history


def _history(envelope: Envelope, agency: str) -> HistoryEntry:
    data = envelope.data
    at = data.get("at") or data.get("received_at") or envelope.time
    return HistoryEntry(
        case_id=envelope.subject,
        source=envelope.source,
        version=envelope.streamversion,
        agency=agency,
        at=at,
        event=data.name,
        step=data.get("step"),
        message=data.get("public_message"),
    )


def case_subject(envelope: Envelope) -> UUID | None:
    """The case an event is about (None for the calendar's events)."""
    return (
        None
        if isinstance(envelope.data, wf.CalendarEvent | wf.CalendarStarted)
        else envelope.subject
    )

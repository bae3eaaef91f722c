"""What an officer sees of a case: its state, what they may do now, and the full timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from services.workflow.case import Case
from services.workflow.cases import Cases
from services.workflow.commands import COMMANDS
from services.workflow.rules import Moment
from shared.access import OFFICER_LABELS, Facet, marks, readable
from shared.auth import Officer
from shared.sop import ROLE_LABELS, Role
from shared.vocabulary import EVENT_LABELS, OPENING_EVENTS, STATUS_LABELS, Status

# Fields officers write: sealed with the case key in the store, opened here.
SEALED = frozenset(
    {"note", "instruction", "summary", "bap", "answer", "reason", "text", "bkpm_answer", "filename"}
    | {"message"}
    | {"action"}
)
# Fields every event has: shown as the entry itself, not as its details.
COMMON = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "agency", "step"}
    | {"by", "by_name", "role", "at", "heard"}
)


class TimelineEntry(BaseModel):
    """One thing that happened to a case: what, when, who, at which SOP step."""

    version: int
    event: str
    label: str
    at: datetime
    step: str | None
    step_label: str | None
    by: str | None
    by_name: str | None
    role: str | None
    role_label: str | None
    details: dict[str, Any]
    pii: dict[str, list[dict[str, Any]]] = {}  # per text detail: its personal data, to highlight


class CaseView(BaseModel):
    """A case as an officer sees it."""

    case_id: UUID
    version: int
    tracking_code: str
    agency: str  # the agency that has the case now (PROVINCE: the coordinator's queue)
    kind: str
    channel: str
    category: str | None
    received_at: datetime
    anonymous: bool
    confidential: bool
    imported: bool
    status: str
    status_label: str
    current_step: str | None
    current_step_label: str | None
    actors: list[str]
    step_due_at: datetime | None
    deadline_at: datetime
    waiting_since: datetime | None
    closed_at: datetime | None
    resolution: str | None
    answer: str | None
    answer_pii: list[dict[str, Any]] = []
    merged_into: UUID | None
    duplicates: list[UUID]
    allowed_actions: list[str]
    timeline: list[TimelineEntry]


# Details read as officers' text (`_readable`): asked for each detail of each entry.
READ_AS_TEXT = SEALED | OFFICER_LABELS

# Timeline details that belong to another facet than the timeline itself.
DETAIL_FACETS = {"answer": Facet.ANSWER, "filename": Facet.ATTACHMENTS}


def _entry(
    cases: Cases, case: Case, event: Any, facets: frozenset[Facet], names: dict[str, str]
) -> TimelineEntry:
    name = type(event).__name__
    fields = {
        key: value
        for key, value in vars(event).items()
        if key not in COMMON and DETAIL_FACETS.get(key, Facet.TIMELINE) in facets
    }
    erased = cases.key_for(case.id) is None  # texts written since read as erased, too
    opened = {
        key: cases.unseal(case.id, value)
        if key in SEALED and isinstance(value, str) and (value or erased)
        else value
        for key, value in fields.items()
    }
    texts = {key for key, value in opened.items() if key in SEALED and isinstance(value, str)}
    details = {
        key: _readable(value, facets) if key in READ_AS_TEXT else value
        for key, value in opened.items()
    }
    found = {key: marks(opened[key], facets) for key in texts}
    step = getattr(event, "step", None) or (
        fields.get("current_step") if name in OPENING_EVENTS else None
    )
    role = getattr(event, "role", None)
    return TimelineEntry(
        version=event.originator_version,
        event=name,
        label=EVENT_LABELS.get(name, name),
        at=getattr(event, "at", None) or event.timestamp,
        step=step,
        step_label=case.sop.step(step).label if step else None,
        by=getattr(event, "by", None),
        by_name=getattr(event, "by_name", None) or names.get(getattr(event, "by", None) or ""),
        role=role,
        role_label=ROLE_LABELS[Role(role)] if role else None,
        details=details,
        pii={key: spans for key, spans in found.items() if spans},
    )


def _readable(value: Any, facets: frozenset[Facet]) -> Any:
    """Officers' text as this reader may read it, within a record (a BAP) too."""
    if isinstance(value, str):
        return readable(value, facets)
    if isinstance(value, dict):
        return {key: _readable(item, facets) for key, item in value.items()}
    if isinstance(value, list):
        return [_readable(item, facets) for item in value]
    return value


def case_view(
    cases: Cases,
    case: Case,
    officer: Officer,
    facets: frozenset[Facet] | None = None,
    history: Sequence[Any] | None = None,
) -> CaseView:
    """The case, what this officer may do now, and the timeline, as far as they may see it.

    `facets`: what they could see when they acted (a command's answer, after the step moved on);
    `history`: the case's events when already read (a command's: those it read and stored).
    """
    facets = case.facets_for(officer) if facets is None else facets
    calendar = cases.calendar(case.agency)
    moment = Moment(datetime.now(UTC), calendar, cases.settings.reopen_window_days)
    step = case.sop.step(case.current_step) if case.current_step else None
    actors = [role.value for role in (step.actor, *step.also_by)] if step else []
    shown = Facet.ANSWER in facets
    answer = cases.unseal(case.id, case.answer) if case.answer and shown else None
    if Facet.TIMELINE not in facets:
        history = []
    elif history is None:
        history = cases.history(case.id)
    acted = {getattr(event, "by", None): getattr(event, "by_name", None) for event in history}
    names = cases.officer_names({by for by, name in acted.items() if by and not name})
    return CaseView(
        case_id=case.id,
        version=case.version,
        tracking_code=case.tracking_code,
        agency=case.agency,
        kind=case.kind,
        channel=case.channel,
        category=case.category,
        received_at=case.received_at,
        anonymous=case.anonymous,
        confidential=case.confidential,
        imported=case.imported,
        status=case.status,
        status_label=STATUS_LABELS[Status(case.status)],
        current_step=case.current_step,
        current_step_label=step.label if step else None,
        actors=actors,
        step_due_at=case.step_due_at,
        deadline_at=case.deadline_at,
        waiting_since=case.paused_at,
        closed_at=case.closed_at,
        resolution=case.resolution,
        answer=readable(answer, facets) if answer else answer,
        answer_pii=marks(answer, facets) if answer else [],
        merged_into=case.merged_into,
        duplicates=case.duplicates,
        allowed_actions=[c.path for c in COMMANDS if c.allowed(case, officer, moment)],
        timeline=[_entry(cases, case, event, facets, names) for event in history],
    )

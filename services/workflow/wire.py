"""Workflow's wire table: each event a Case or an OfficeCalendar records, and its contract.

Every event of a case is published (readers wait for each stream's versions without gaps),
and so are the calendar corrections: readers measure working time on the same calendar.
Nothing is internal. Contract fields are copied from the event by name, or from the event
attribute `renamed` names; sealed officer text never is, except the public answer, opened
with the case's key and with the personal data in it masked (shared/pii.py): it is public.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.workflow.case import Case
from services.workflow.cases import Cases
from services.workflow.office_calendar import OfficeCalendar
from shared import pii
from shared.events import Contract
from shared.events import workflow as wf
from shared.relay import ToContract, WireTable
from shared.sealing import ERASED

# contract field -> the event attribute it comes from, where the names differ (every event)
RENAMED = {"case_id": "originator_id", "by_role": "role", "next_step_due_at": "step_due_at"}


@dataclass(frozen=True)
class Wired:
    """An event's contract, and its own renamed fields (contract field -> event attribute)."""

    contract: type[Contract]
    renamed: Mapping[str, str] = field(default_factory=dict)

    def source(self, contract_field: str) -> str:
        """The event attribute a contract field is copied from."""
        return self.renamed.get(contract_field, RENAMED.get(contract_field, contract_field))


PUBLISHED: dict[type[Any], Wired] = {
    Case.CaseOpened: Wired(wf.CaseOpened),
    Case.CaseImported: Wired(wf.CaseImported),
    Case.ResolvedDirectly: Wired(wf.ResolvedDirectly),
    Case.Escalated: Wired(wf.Escalated),
    Case.ComplaintVerified: Wired(wf.ComplaintVerified),
    Case.DisposisiIssued: Wired(wf.DisposisiIssued),
    Case.InvestigationReported: Wired(wf.InvestigationReported),
    Case.BapRecorded: Wired(wf.BapRecorded),
    Case.FollowUpArchived: Wired(wf.FollowUpArchived),
    Case.ConsultationFormAccepted: Wired(wf.ConsultationFormAccepted),
    Case.EscalatedToBkpm: Wired(wf.EscalatedToBkpm),
    Case.BkpmAnswered: Wired(wf.BkpmAnswered),
    Case.FacilitationCompleted: Wired(wf.FacilitationCompleted),
    Case.InformationRequested: Wired(wf.InformationRequested),
    Case.InformationReceived: Wired(wf.InformationReceived),
    Case.CaseRejected: Wired(wf.CaseRejected),
    Case.CaseMerged: Wired(wf.CaseMerged),
    Case.BacklogClosed: Wired(wf.BacklogClosed),
    Case.DuplicateMerged: Wired(wf.DuplicateMerged),
    Case.CaseReopened: Wired(wf.CaseReopened),
    Case.CaseTransferred: Wired(wf.CaseTransferred),
    Case.CaseDeclined: Wired(wf.CaseDeclined),
    Case.NoteAdded: Wired(wf.NoteAdded),
    Case.AttachmentAdded: Wired(wf.AttachmentAdded),
    Case.StepOverdue: Wired(wf.StepOverdue),
    Case.DeadlineApproaching: Wired(wf.DeadlineApproaching),
    Case.DeadlineBreached: Wired(wf.DeadlineBreached),
    Case.CaseDataErased: Wired(wf.CaseDataErased),
    OfficeCalendar.CalendarStarted: Wired(wf.CalendarStarted),
    OfficeCalendar.CalendarDaySet: Wired(wf.CalendarDaySet, {"label": "name"}),
    OfficeCalendar.CalendarDayCleared: Wired(wf.CalendarDayCleared),
}
INTERNAL: frozenset[type[Any]] = frozenset()

# The only officers' texts that leave workflow, opened with the case's key: contract field ->
# the sealed event attribute (the answer and what the complainant is asked).
OPENED = {"public_answer": "answer", "public_message": "message"}


def _mapper(wired: Wired, cases: Cases) -> ToContract:
    contract = wired.contract

    def to_contract(event: Any) -> Contract:
        values = {
            name: getattr(event, wired.source(name))
            for name in contract.model_fields
            if hasattr(event, wired.source(name))
        }
        values.setdefault("at", event.timestamp)
        for public, sealed in OPENED.items():
            text = getattr(event, sealed, "") if public in contract.model_fields else ""
            if text:  # public: masked before it leaves workflow (shared/pii.py)
                opened = cases.unseal(event.originator_id, text)
                public_text = isinstance(opened, str) and opened != ERASED
                values[public] = pii.mask(opened) if public_text else None
        return contract(**values)

    return to_contract


def wire(cases: Cases) -> WireTable:
    """The table the relay and the feed publish with."""
    published = {event: _mapper(wired, cases) for event, wired in PUBLISHED.items()}
    return WireTable(published, INTERNAL)

"""The Case aggregate: one complaint or consultation walking through its SOP, on working time.

Public methods check the rules (rules.refusal, by the SOP table) and compute (due times,
working minutes against the standard); events (events.py) only record. Every step's own
action goes through `complete`; the other actions, the alarms, the register import and the
erasure have a method each. Free text officers write arrives already sealed with the case's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self
from uuid import UUID

from eventsourcing.domain import event

from services.workflow.case import events
from services.workflow.rules import (
    FileAfterErasure,
    Moment,
    NotAnOfficer,
    SameAgency,
    UnknownCase,
    WrongKind,
    acting_role,
    refusal,
)
from shared.access import Facet, privacy_of, visible
from shared.aggregate import AgencyAggregate
from shared.events import SubmissionImported
from shared.refusals import Refused
from shared.sop import (
    ACTIONS,
    MOVES,
    OFFICE_ROLES,
    PROVINCE,
    Kind,
    Officer,
    Role,
    Sop,
    Step,
    When,
    sop_for,
    writers,
)
from shared.vocabulary import Group, Status, is_in
from shared.working_time import WorkingCalendar


def complainant(agency: str) -> Officer:
    """The complainant as an actor: what they do from their tracking page (code + secret)."""
    return Officer(
        id=Role.PEMOHON.value, name="Pemohon", roles=frozenset({Role.PEMOHON}), agency=agency
    )


def lapor_system(agency: str) -> Officer:
    """SP4N-LAPOR! as an actor: its disposisi moves a case between agencies, as the
    provincial coordinator's transfer does (it acts as a pengelola induk)."""
    return Officer(
        id=LAPOR_ACTOR, name="SP4N-LAPOR!", roles=frozenset({Role.KOORDINATOR}), agency=agency
    )


LAPOR_ACTOR = "sp4n-lapor"
"""The actor id SP4N-LAPOR!'s disposisi are recorded under."""


@dataclass(frozen=True)
class Disposition:
    """SP4N-LAPOR!'s disposisi as workflow takes it: where to, the sealed reason (a move) and
    note (a closed case), LAPOR!'s reference, the version of intake's submission it came as."""

    to: str
    reason: str
    note: str
    lapor_ref: str
    heard: int
    at: datetime


class Case(AgencyAggregate):
    """A case follows the SOP version it was opened under; its id is the submission's."""

    # What it records (the library makes each `Case.<Name>`, a subclass of the one in events.py;
    # a base before the events that extend it keeps their hierarchy on Case).
    CaseOpened = events.CaseOpened
    CaseImported = events.CaseImported
    StepCompleted = events.StepCompleted
    Answered = events.Answered
    ResolvedDirectly = events.ResolvedDirectly
    Escalated = events.Escalated
    ComplaintVerified = events.ComplaintVerified
    DisposisiIssued = events.DisposisiIssued
    InvestigationReported = events.InvestigationReported
    BapRecorded = events.BapRecorded
    FollowUpArchived = events.FollowUpArchived
    ConsultationFormAccepted = events.ConsultationFormAccepted
    EscalatedToBkpm = events.EscalatedToBkpm
    BkpmAnswered = events.BkpmAnswered
    FacilitationCompleted = events.FacilitationCompleted
    InformationRequested = events.InformationRequested
    InformationReceived = events.InformationReceived
    CaseRejected = events.CaseRejected
    CaseMerged = events.CaseMerged
    BacklogClosed = events.BacklogClosed
    DuplicateMerged = events.DuplicateMerged
    CaseReopened = events.CaseReopened
    CaseTransferred = events.CaseTransferred
    CaseDeclined = events.CaseDeclined
    NoteAdded = events.NoteAdded
    AttachmentAdded = events.AttachmentAdded
    StepOverdue = events.StepOverdue
    DeadlineApproaching = events.DeadlineApproaching
    DeadlineBreached = events.DeadlineBreached
    CaseDataErased = events.CaseDataErased

    @event("CaseOpened")
    def __init__(
        self,
        *,
        id: UUID,
        agency: str,
        kind: str,
        tracking_code: str,
        channel: str,
        category: str | None,
        received_at: datetime,
        anonymous: bool,
        confidential: bool,
        complainant_ref: UUID | None,
        sop_version: str,
        current_step: str,
        step_due_at: datetime,
        deadline_at: datetime,
    ) -> None:
        """The case's whole state (CaseImported then marks an imported one)."""
        self.agency, self.kind, self.tracking_code = agency, kind, tracking_code
        self.channel, self.category, self.received_at = channel, category, received_at
        self.anonymous, self.confidential = anonymous, confidential
        self.complainant_ref, self.sop_version = complainant_ref, sop_version
        self.current_step: str | None = current_step
        self.step_started_at = received_at
        self.step_due_at: datetime | None = step_due_at
        self.deadline_at = deadline_at
        self.status: str = Status.IN_PROGRESS.value
        self.paused_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.resolution: str | None = None
        self.answer: str | None = None
        self.merged_into: UUID | None = None
        self.duplicates: list[UUID] = []
        self.overdue_steps: list[str] = []
        self.warned_days: list[int] = []
        self.breached = False
        self.imported = False
        self.imported_at: datetime | None = None
        self.register_ref: str | None = None
        self.source_channel: str | None = None
        self.data_erased_at: datetime | None = None
        # The complainant's replies and disputes taken in: the versions of intake's submission
        # they came as (a set: one replayed from the parking queue may come after a later one).
        self.heard_versions: set[int] = set()

    # Opening

    @classmethod
    def open(
        cls,
        *,
        case_id: UUID,
        agency: str,
        kind: Kind,
        tracking_code: str,
        channel: str,
        category: str | None,
        received_at: datetime,
        anonymous: bool,
        confidential: bool,
        complainant_ref: UUID | None,
        calendar: WorkingCalendar,
        sop_version: str | None = None,
    ) -> Case:
        """A case for a received submission, waiting at the step after submission (of the
        SOP reading `sop_version`, the agency's; None: the current one)."""
        sop = sop_for(kind, sop_version)
        first = sop.after(sop.first.id)
        assert first is not None
        return cls(
            id=case_id,
            agency=agency,
            kind=kind.value,
            tracking_code=tracking_code,
            channel=channel,
            category=category,
            received_at=received_at,
            anonymous=anonymous,
            confidential=confidential,
            complainant_ref=complainant_ref,
            sop_version=sop.version,
            current_step=first.id,
            step_due_at=calendar.add_working_minutes(received_at, first.minutes),
            deadline_at=calendar.add_working_days(received_at, sop.deadline_working_days),
        )

    @classmethod
    def import_(
        cls, submission: SubmissionImported, *, agency: str, calendar: WorkingCalendar
    ) -> Self:
        """A case for an imported register row (its id is the submission's).

        No SOP step is walked: a closed row is a closed case at its real date, an open row
        waits at the step after submission; the deadline counts from the real received date.
        """
        sop = sop_for(submission.kind)
        first = sop.after(sop.first.id)
        assert first is not None
        still_open = submission.outcome is None
        received = submission.received_at
        return cls._create(
            cls.CaseImported,
            id=submission.case_id,
            agency=agency,
            kind=submission.kind.value,
            tracking_code=submission.tracking_code,
            channel=submission.channel.value,
            source_channel=submission.source_channel,
            category=submission.category,
            received_at=received,
            anonymous=submission.anonymous,
            confidential=submission.confidential,
            complainant_ref=submission.complainant_ref,
            sop_version=sop.version,
            status=Status.IN_PROGRESS.value if still_open else submission.outcome,
            current_step=first.id if still_open else None,
            step_due_at=calendar.add_working_minutes(received, first.minutes)
            if still_open
            else None,
            deadline_at=calendar.add_working_days(received, sop.deadline_working_days),
            closed_at=None if still_open else submission.closed_at,
            register_ref=submission.register_ref,
        )

    # The checks every command makes

    @property
    def sop(self) -> Sop:
        """The SOP table this case follows."""
        return sop_for(self.kind, self.sop_version)

    @property
    def is_open(self) -> bool:
        """Still being handled (waiting for the complainant counts as open)."""
        return is_in(self.status, Group.OPEN)

    def facets_for(self, officer: Officer) -> frozenset[Facet]:
        """What this officer, acting in the case's agency (Officer.in_agency), may see of the
        case (shared/access.py); UnknownCase if not even that (its existence not confirmed)."""
        step = self.sop.step(self.current_step) if self.current_step else None
        privacy = privacy_of(anonymous=self.anonymous, confidential=self.confidential)
        facets = visible(officer.roles, privacy, step)
        if Facet.STATUS not in facets:
            raise UnknownCase()
        return facets

    def refusal(self, action_id: str, by: Officer, moment: Moment | None = None) -> Refused | None:
        """Why this officer may not take this action now (rules.refusal); None if they may."""
        return refusal(self, action_id, by, moment)

    def _refuse(self, action_id: str, by: Officer, moment: Moment | None = None) -> None:
        """Raise the refusal, if any."""
        refused = self.refusal(action_id, by, moment)
        if refused is not None:
            raise refused

    def _at(self, action_id: str, by: Officer) -> Step:
        """The step an open case is at, once the action is allowed there."""
        self._refuse(action_id, by)
        assert self.current_step is not None
        return self.sop.step(self.current_step)

    def _who(
        self, step: Step, by: Officer, at: datetime, action_id: str | None = None
    ) -> dict[str, Any]:
        allowed = ACTIONS[action_id].by if action_id else None
        own = sorted(by.roles & allowed) if allowed else []
        role = own[0].value if own else acting_role(by, step).value
        return {"step": step.id, "by": by.id, "by_name": by.name, "role": role, "at": at}

    def _office_role(self, by: Officer) -> str:
        """The role an officer writes into the case as (a note, a file)."""
        if by.roles == {Role.PEMOHON}:
            return Role.PEMOHON.value  # the complainant's reply (rules let only "notes" through)
        roles = sorted(by.roles & OFFICE_ROLES)
        if not roles:
            raise NotAnOfficer()
        return roles[0].value

    # A step's own action, by the SOP table

    def complete(
        self, action_id: str, *, by: Officer, at: datetime, calendar: WorkingCalendar, **fields: Any
    ) -> None:
        """Take a step's own action from the SOP table: record its event, move on or close.

        `fields` are the event's own (officer text already sealed).
        """
        action = ACTIONS[action_id]
        if action.when is not When.AT_STEP:
            raise ValueError(f"{action_id!r} is no step's own action")
        step = self._at(action_id, by)
        completion = self._completion(step, by, at, calendar, close=action.closes)
        self.trigger_event(getattr(self, action.event), **completion, **fields)

    def _completion(
        self, step: Step, by: Officer, at: datetime, calendar: WorkingCalendar, *, close: bool
    ) -> dict[str, Any]:
        """What every step completion records: who, when, and time spent against the standard."""
        following = None if close else self.sop.after(step.id)
        spent = calendar.working_minutes_between(self.step_started_at, at)
        due = calendar.add_working_minutes(at, following.minutes) if following else None
        return {
            "step": step.id,
            "by": by.id,
            "by_name": by.name,
            "role": acting_role(by, step).value,
            "at": at,
            "next_step": following.id if following else None,
            "step_due_at": due,
            "working_minutes": round(spent, 2),
            "within_standard": spent <= step.minutes,
        }

    # Actions at any step: asking the complainant, rejecting, merging, reopening, notes, files

    def request_information(
        self, *, reason: str, by: Officer, at: datetime, message: str = ""
    ) -> None:
        """Ask the complainant for more (`message`: what they read); the clock stops."""
        step = self._at("information-request", by)
        who = self._who(step, by, at)
        self.trigger_event(self.InformationRequested, **who, reason=reason, message=message)

    def receive_information(
        self,
        *,
        summary: str,
        by: Officer,
        at: datetime,
        calendar: WorkingCalendar,
        heard: int = 0,
    ) -> None:
        """Record the complainant's answer; due times move by exactly the paused working time."""
        step = self._at("information-received", by)
        assert self.paused_at is not None
        paused = calendar.between(self.paused_at, at)
        assert self.step_due_at is not None
        self.trigger_event(
            self.InformationReceived,
            **self._who(step, by, at),
            summary=summary,
            paused_minutes=round(paused / timedelta(minutes=1), 2),
            step_due_at=calendar.add(self.step_due_at, paused),
            deadline_at=calendar.add(self.deadline_at, paused),
            heard=heard,
        )

    def reject(self, *, reason: str, referred_to: str, by: Officer, at: datetime) -> None:
        """Not the office's matter: close it, saying why and where it was referred."""
        step = self._at("reject", by)
        self.trigger_event(
            self.CaseRejected, **self._who(step, by, at), reason=reason, referred_to=referred_to
        )

    def move(
        self,
        action_id: str,
        *,
        to: str,
        reason: str,
        by: Officer,
        at: datetime,
        calendar: WorkingCalendar,
    ) -> None:
        """Move the case to another agency (`transfer`) or back to the provincial coordinator
        (`decline`: `to` is not read), by the rule MOVES has for the action; `calendar`: the
        receiving agency's."""
        step = self._at(action_id, by)
        who = self._who(step, by, at, action_id)
        self._move(action_id, to=to, reason=reason, who=who, calendar=calendar)

    def _move(
        self,
        action_id: str,
        *,
        to: str,
        reason: str,
        who: dict[str, Any],
        calendar: WorkingCalendar,
        **origin: Any,
    ) -> None:
        """Record the move by the rule MOVES has for the action (`origin`: the LAPOR!
        disposisi it follows, if any)."""
        rule = MOVES[action_id]
        target = PROVINCE if rule.to_province else to
        if target == self.agency:
            raise SameAgency()
        first = self.sop.after(self.sop.first.id)
        assert first is not None
        at, days = who["at"], self.sop.deadline_working_days
        deadline = calendar.add_working_days(at, days) if rule.restarts_deadline else None
        self.trigger_event(
            getattr(self, ACTIONS[action_id].event),
            **who,
            agency=target,  # the event belongs to the agency that has the case now
            from_agency=self.agency,
            to_agency=target,
            reason=reason,
            current_step=first.id,
            step_due_at=calendar.add_working_minutes(at, first.minutes),
            deadline_at=deadline or self.deadline_at,
            deadline_restarted=rule.restarts_deadline,
            **origin,
        )

    def follow_disposition(self, disposition: Disposition, *, calendar: WorkingCalendar) -> bool:
        """SP4N-LAPOR! disposed the case to another agency (PROVINCE: withdrew it to the
        coordinator, by the `decline` rule; else the `transfer` rule), as the LAPOR! system.
        Nothing if heard already or the case is there; a closed case gets a note (its sealed
        `note`) and stays. Whether anything was recorded."""
        heard, at = disposition.heard, disposition.at
        if heard in self.heard_versions or disposition.to == self.agency:
            return False
        by = lapor_system(self.agency)
        if not self.is_open or self.current_step is None:  # the system's own note
            self._note(disposition.note, by, Role.KOORDINATOR.value, at, heard)
            return True
        step = self.sop.step(self.current_step)
        who = {"step": step.id, "by": by.id, "by_name": by.name, "at": at}
        action = "decline" if disposition.to == PROVINCE else "transfer"
        self._move(
            action,
            to=disposition.to,
            reason=disposition.reason,
            who=who | {"role": Role.KOORDINATOR.value},
            calendar=calendar,
            lapor_ref=disposition.lapor_ref,
            heard=heard,
        )
        return True

    def close_backlog(self, *, reason: str, by: Officer, at: datetime) -> None:
        """Close a case still open in the imported register as history, saying why."""
        step = self._at("backlog-close", by)
        self.trigger_event(self.BacklogClosed, **self._who(step, by, at), reason=reason)

    def merge_into(self, primary: Case, *, by: Officer, at: datetime) -> None:
        """Close this duplicate into its primary case; both record it."""
        step = self._at("merge", by)
        if primary.id == self.id or not primary.is_open or primary.kind != self.kind:
            raise WrongKind(primary.kind, reason="primary")
        who = self._who(step, by, at)
        self.trigger_event(self.CaseMerged, **who, primary_case_id=primary.id)
        primary.trigger_event(
            primary.DuplicateMerged,
            **(who | {"step": primary.current_step}),
            duplicate_case_id=self.id,
        )

    def reopen(
        self,
        *,
        reason: str,
        by: Officer,
        at: datetime,
        calendar: WorkingCalendar,
        window_days: int,
        heard: int = 0,
    ) -> None:
        """The complainant disputes the answer within the window: handle it again."""
        self._refuse("reopen", by, Moment(at, calendar, window_days))
        first = self.sop.after(self.sop.first.id)
        assert first is not None
        self.trigger_event(
            self.CaseReopened,
            **self._who(first, by, at),
            reason=reason,
            step_due_at=calendar.add_working_minutes(at, first.minutes),
            deadline_at=calendar.add_working_days(at, self.sop.deadline_working_days),
            heard=heard,
        )

    def add_note(self, *, text: str, by: Officer, at: datetime, heard: int = 0) -> None:
        """Any officer may note something, at any step, open or closed (and the complainant's
        reply becomes one)."""
        self._refuse("notes", by)
        self._note(text, by, self._office_role(by), at, heard)

    def _note(self, text: str, by: Officer, role: str, at: datetime, heard: int) -> None:
        self.trigger_event(
            self.NoteAdded,
            step=self.current_step,
            by=by.id,
            by_name=by.name,
            role=role,
            at=at,
            text=text,
            heard=heard,
        )

    # The complainant, from their tracking page (intake's events, each taken in once)

    def hear_reply(self, *, heard: int, note: str, at: datetime, calendar: WorkingCalendar) -> bool:
        """Their reply: the information asked for while the case waits (the clock runs again),
        else a note for the officers. Whether it was recorded now (a repeat is not)."""
        if heard in self.heard_versions:
            return False
        by = complainant(self.agency)
        if self.is_open and self.paused_at is not None:
            self.receive_information(summary=note, by=by, at=at, calendar=calendar, heard=heard)
        else:
            self.add_note(text=note, by=by, at=at, heard=heard)
        return True

    def hear_dispute(self, *, heard: int, notes: tuple[str, str], moment: Moment) -> bool:
        """ "Belum selesai": reopened at the SOP's step within the window; beyond it (or on a
        case not closed with an answer) a note for an officer to decide. `notes`: the sealed
        reason of a reopening and the sealed note."""
        if heard in self.heard_versions:
            return False
        by = complainant(self.agency)
        at, calendar = moment.at, moment.calendar
        if self.refusal("reopen", by, moment) is None:
            window = moment.reopen_window_days
            self.reopen(
                reason=notes[0], by=by, at=at, calendar=calendar, window_days=window, heard=heard
            )
        else:
            self.add_note(text=notes[1], by=by, at=at, heard=heard)
        return True

    def add_attachment(
        self,
        *,
        attachment_id: str,
        filename: str,
        content_type: str,
        size: int,
        sha256: str,
        by: Officer,
        at: datetime,
    ) -> None:
        """A file an officer attached, at the step the case is at; none once the case's data
        is erased (an erasure heard elsewhere after the file was sealed: nothing could open it)."""
        if not by.has(*writers(self.agency)):
            raise NotAnOfficer()
        if self.data_erased_at is not None:
            raise FileAfterErasure()
        self.trigger_event(
            self.AttachmentAdded,
            step=self.current_step,
            by=by.id,
            by_name=by.name,
            role=self._office_role(by),
            at=at,
            attachment_id=attachment_id,
            filename=filename,
            content_type=content_type,
            size=size,
            sha256=sha256,
        )

    # The clock: each alarm once per case and step (concurrent scanners meet at the version)

    def _past(self, moment: datetime) -> bool:
        """Whether an alarm due at this moment fell due before the case was imported: the
        register's past is history, not news (alarms due after the import are raised)."""
        return self.imported_at is not None and moment <= self.imported_at

    def _warnings(
        self, calendar: WorkingCalendar, warn_days: tuple[int, ...]
    ) -> dict[int, datetime]:
        """When each pending warning is due: that many working days before the deadline."""
        moments = {
            days: calendar.add(self.deadline_at, -days * calendar.day_length)
            for days in sorted(set(warn_days), reverse=True)
            if days not in self.warned_days
        }
        return {days: at for days, at in moments.items() if not self._past(at)}

    def _step_alarm(self) -> datetime | None:
        """When the current step falls overdue, unless raised already or imported past."""
        due, step = self.step_due_at, self.current_step
        if due is None or step is None or step in self.overdue_steps or self._past(due):
            return None
        return due

    def _deadline_alarm(self) -> datetime | None:
        """When the case deadline is breached, unless raised already or imported past."""
        return None if self.breached or self._past(self.deadline_at) else self.deadline_at

    def next_alarm(self, calendar: WorkingCalendar, warn_days: tuple[int, ...]) -> datetime | None:
        """The earliest moment an alarm is due, or None while nothing can fall due."""
        if not self.is_open or self.paused_at is not None:
            return None
        moments = [self._step_alarm(), self._deadline_alarm()]
        if not self.breached:
            moments += self._warnings(calendar, warn_days).values()
        return min((moment for moment in moments if moment is not None), default=None)

    def tick(self, *, now: datetime, calendar: WorkingCalendar, warn_days: tuple[int, ...]) -> None:
        """Raise every alarm due by `now` that was not raised yet; warnings only before the end."""
        if not self.is_open or self.paused_at is not None:
            return
        step, step_due = self.current_step, self._step_alarm()
        if step_due is not None and now >= step_due:
            self.trigger_event(self.StepOverdue, step=step, due_at=step_due, at=now)
        if self.breached:
            return
        deadline = self._deadline_alarm()
        if deadline is not None and now >= deadline:
            self.trigger_event(self.DeadlineBreached, step=step, deadline_at=deadline, at=now)
            return
        due = sorted(days for days, at in self._warnings(calendar, warn_days).items() if now >= at)
        if due:
            self.trigger_event(
                self.DeadlineApproaching,
                step=step,
                working_days_left=due[0],
                covers=due,
                deadline_at=self.deadline_at,
                at=now,
            )

    # Erasure: destroying the case key (in the transaction that records it) leaves what
    # officers wrote about the case unreadable forever

    def erase_data(self, *, at: datetime) -> bool:
        """Record the erasure once; whether it was recorded now."""
        if self.data_erased_at is not None:
            return False
        self.trigger_event(self.CaseDataErased, at=at)
        return True

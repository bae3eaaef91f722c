"""Who may act on a case now, read off the SOP table, and what the workflow refuses.

`refusal` is the one check of every command against the table's actions (shared/sop.py):
the aggregate raises what it returns, the API lists the actions it returns nothing for.
Refusals are plain domain exceptions (api.REFUSALS maps each to a status); each carries its
detail for the officer (in Bahasa Indonesia), a stable code and, where useful, facts a client
can act on (`extra`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.refusals import Refused
from shared.sop import (
    ACTIONS,
    KIND_LABELS,
    OFFICE_ROLES,
    ROLE_LABELS,
    Action,
    Kind,
    Officer,
    Role,
    Sop,
    Step,
    When,
    writers,
)
from shared.vocabulary import GROUPS, STATUS_LABELS, Group, Status
from shared.working_time import WorkingCalendar

REOPENABLE = GROUPS[Group.ANSWERED]


class StepOutOfOrder(Refused):
    """The command belongs to another step than the one the case waits at."""

    def __init__(self, *, expected: Step | None, attempted: Step | Action) -> None:
        """In the SOP's words (the ids, 'identification' against 'verification', read as code
        to an officer); the expected step's id stays in `expected_step` for programs."""
        tried = (
            f"langkah {attempted.number}. {attempted.label}"
            if isinstance(attempted, Step)
            else f"tindakan '{attempted.label or attempted.id}'"
        )
        if expected is None:
            detail = f"Kasus ini tidak sedang menunggu langkah apa pun; {tried} tidak berlaku."
        else:
            waiting = f"langkah {expected.number}. {expected.label}"
            detail = f"Kasus sedang menunggu {waiting}, bukan {tried}."
        extra = {"expected_step": expected.id if expected else None}
        super().__init__(detail, code="step-out-of-order", extra=extra)


class CaseClosed(Refused):
    """The case is no longer open."""

    def __init__(self, status: str) -> None:
        label = STATUS_LABELS.get(Status(status), status)
        super().__init__(f"Kasus sudah ditutup ({label}).", code="case-closed")


class CaseWaiting(Refused):
    """The case waits for the complainant's information."""

    def __init__(self) -> None:
        detail = "Kasus sedang menunggu informasi dari pemohon; catat dulu jawabannya."
        super().__init__(detail, code="case-waiting")


class NotWaiting(Refused):
    """No information was asked for."""

    def __init__(self) -> None:
        super().__init__("Kasus tidak sedang menunggu informasi.", code="not-waiting")


class WrongKind(Refused):
    """A command for the other kind of case (or an unfit merge target)."""

    def __init__(self, kind: str, *, reason: str = "kind") -> None:
        detail = (
            "Kasus utama harus terbuka, sejenis, dan bukan kasus ini."
            if reason == "primary"
            else f"Perintah ini tidak berlaku untuk {KIND_LABELS[Kind(kind)].lower()}."
        )
        super().__init__(detail, code="wrong-kind" if reason == "kind" else "bad-merge")


class ReopenWindowPassed(Refused):
    """The dispute came after the configured window."""

    def __init__(self, days: int) -> None:
        detail = f"Sanggahan hanya dapat diajukan dalam {days} hari kerja setelah kasus ditutup."
        super().__init__(detail, code="reopen-window-passed")


class ArchivedBacklog(Refused):
    """A register case closed as history is not reopened: no answer was given to dispute."""

    def __init__(self) -> None:
        detail = (
            "Kasus impor yang ditutup sebagai arsip register lama tidak dapat dibuka kembali; "
            "catat sanggahan pemohon sebagai pengaduan baru."
        )
        super().__init__(detail, code="archived-backlog")


class CaseErased(Refused):
    """The complainant's personal data is erased: nothing of theirs is kept or asked again."""

    def __init__(self, consequence: str) -> None:
        detail = f"Data pribadi pemohon kasus ini sudah dihapus; {consequence}"
        super().__init__(detail, code="case-erased")


class FileAfterErasure(CaseErased):
    """A file for an erased case: the case's key, which would seal it, is shredded."""

    def __init__(self) -> None:
        super().__init__("lampiran tidak dapat disimpan lagi.")


class NotAllowed(Refused):
    """The officer's roles may not act at this step."""

    def __init__(self, step: Step) -> None:
        allowed = ", ".join(ROLE_LABELS[role] for role in step.actors)
        detail = f"Langkah '{step.label}' hanya dapat dilakukan oleh: {allowed}."
        extra = {"allowed_roles": [role.value for role in step.actors]}
        super().__init__(detail, code="forbidden", extra=extra)


class NotTheirAction(Refused):
    """The action names who may take it, and the officer is none of them."""

    def __init__(self, action: Action) -> None:
        roles = sorted(action.by or (), key=list(Role).index)
        allowed = ", ".join(ROLE_LABELS[role] for role in roles)
        detail = f"Tindakan '{action.label}' hanya dapat dilakukan oleh: {allowed}."
        extra = {"allowed_roles": [role.value for role in roles]}
        super().__init__(detail, code="forbidden", extra=extra)


class NotAnOfficer(Refused):
    """Only officers who work on cases may note or attach."""

    def __init__(self) -> None:
        detail = "Hanya petugas yang menangani kasus dapat menambah catatan atau lampiran."
        super().__init__(detail, code="forbidden")


def works_on_cases(officer: Officer) -> bool:
    """Whether the officer holds a role that works on cases, in any agency they belong to."""
    held = officer.roles.union(*(roles for _, roles in officer.memberships))
    return not held.isdisjoint(OFFICE_ROLES)


def acting_role(officer: Officer, step: Step) -> Role:
    """Which of the officer's roles acts at this step (the SOP's actor first)."""
    if officer.roles == {Role.PEMOHON}:
        return Role.PEMOHON  # the complainant, where the action lets them (Action.complainant)
    for role in step.actors:
        if role in officer.roles:
            return role
    raise NotAllowed(step)


class NotImported(Refused):
    """Closing as register backlog is only for cases imported from the old register."""

    def __init__(self) -> None:
        detail = "Hanya kasus hasil impor buku register lama yang dapat ditutup sebagai arsip."
        super().__init__(detail, code="not-imported")


class UnknownCase(Refused):
    """No case with this id in this agency."""

    def __init__(self) -> None:
        super().__init__("Kasus tidak ditemukan.", code="unknown-case")


class SameAgency(Refused):
    """A case moved to the agency that has it already."""

    def __init__(self) -> None:
        detail = "Kasus sudah berada di instansi tujuan."
        super().__init__(detail, code="same-agency")


class UnknownAgency(Refused):
    """A case moved to an agency the deployment does not know."""

    def __init__(self, agency: str) -> None:
        detail = f"Instansi '{agency}' tidak terdaftar."
        error = {"field": "to", "code": "unknown-agency", "message": detail}
        super().__init__(detail, code="unknown-agency", extra={"errors": [error]})


class StaleVersion(Refused):
    """Someone acted on the case since the client read it: the current version is given."""

    def __init__(self, current: int) -> None:
        detail = "Kasus sudah diubah orang lain sejak Anda membukanya; muat ulang lalu coba lagi."
        super().__init__(detail, code="stale-version", extra={"current_version": current})


@dataclass(frozen=True)
class Moment:
    """When an action would be taken, for the rules that depend on it (the reopen window)."""

    at: datetime
    calendar: WorkingCalendar
    reopen_window_days: int


class CaseState(Protocol):
    """What the rules read of a case."""

    kind: str
    status: str
    current_step: str | None
    paused_at: datetime | None
    closed_at: datetime | None
    resolution: str | None
    imported: bool
    agency: str
    data_erased_at: datetime | None

    @property
    def sop(self) -> Sop:
        """The SOP table the case follows."""

    @property
    def is_open(self) -> bool:
        """Whether the case is still being handled."""


def refusal(
    case: CaseState, action_id: str, by: Officer, moment: Moment | None = None
) -> Refused | None:
    """Why this officer may not take this action on the case now; None if they may.

    Without a `moment` the reopen window is not checked; the merge target, an argument,
    is checked when the command runs.
    """
    action = ACTIONS[action_id]
    if action.when is When.ALWAYS:  # a note: written into the case
        return _may(action, None, by) or _writer(case, by)
    if action.when is When.CLOSED:
        return _reopen_refusal(case, action, by, moment)
    if not case.is_open or case.current_step is None:
        return CaseClosed(case.status)
    if action.imported_only and not case.imported:
        return NotImported()
    current = case.sop.step(case.current_step)
    if action.when is When.OPEN:
        return (
            _may(action, current, by)
            or _pause(case, action)
            or _elsewhere(action, current)
            or _nobody_to_ask(case, action)
        )
    return _pause(case, action) or _out_of_order(case, action, current) or _may(action, current, by)


def _reopen_refusal(
    case: CaseState, action: Action, by: Officer, moment: Moment | None
) -> Refused | None:
    """A dispute reopens a resolved or rejected case, within the window (then who may)."""
    if case.is_open:
        expected = case.sop.step(case.current_step) if case.current_step else None
        return StepOutOfOrder(expected=expected, attempted=action)
    if case.status == Status.ARCHIVED:  # nothing was answered here to dispute
        return ArchivedBacklog()
    if case.status not in REOPENABLE:
        return CaseClosed(case.status)
    if moment is not None:
        closed = case.closed_at  # None: imported from a register without its closing date
        days = moment.reopen_window_days
        if closed is None or moment.at > moment.calendar.add_working_days(closed, days):
            return ReopenWindowPassed(days)
    first = case.sop.after(case.sop.first.id)  # a reopened case goes back there
    return _may(action, first, by)


def _nobody_to_ask(case: CaseState, action: Action) -> Refused | None:
    """An action that asks the complainant, once their data is erased."""
    if action.asks and case.data_erased_at is not None:
        return CaseErased("tidak ada lagi yang dapat dimintai informasi.")
    return None


def _may(action: Action, step: Step | None, by: Officer) -> Refused | None:
    """Whether the officer is one the action allows: its own roles, or the step's actors
    (the complainant, acting alone as `Role.PEMOHON`, where the action lets them)."""
    if by.roles == {Role.PEMOHON}:
        return None if action.complainant else NotAnOfficer()
    if action.by is not None:
        return None if by.has(*action.by) else NotTheirAction(action)
    assert step is not None
    return None if by.has(*step.actors) else NotAllowed(step)


def _writer(case: CaseState, by: Officer) -> Refused | None:
    """Whether the officer writes into a case of its agency (sop.writers; the complainant
    writes into their own)."""
    if by.roles == {Role.PEMOHON} or by.has(*writers(case.agency)):
        return None
    return NotAnOfficer()


def _pause(case: CaseState, action: Action) -> Refused | None:
    """Whether the action fits the case waiting for the complainant, or not waiting."""
    waiting = case.paused_at is not None
    if action.waiting is None or action.waiting == waiting:
        return None
    return CaseWaiting() if waiting else NotWaiting()


def _elsewhere(action: Action, current: Step) -> Refused | None:
    """Whether an action of any step is allowed at the step the case is at (Action.steps)."""
    if action.steps is None or current.id in action.steps:
        return None
    return StepOutOfOrder(expected=current, attempted=action)


def _out_of_order(case: CaseState, action: Action, current: Step) -> Refused | None:
    """Whether the action belongs to the case's SOP, at the step the case is at."""
    found = case.sop.actions.get(action.id)
    if found is None:
        return WrongKind(case.kind)
    step = found[1]
    if step is not None and step.id != current.id:
        return StepOutOfOrder(expected=current, attempted=step)
    return None

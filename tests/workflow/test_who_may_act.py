"""Who may act now, on the aggregate itself (no servers): the SOP table decides, once.

The walk goes through every step of both SOPs, at every status a case can have there, for
every role, and compares what the API offers (`Command.allowed`) with what the aggregate
accepts (the command run on a copy of the case).
"""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

import pytest

from services.workflow.case import Case
from services.workflow.cases import Cases
from services.workflow.commands import COMMANDS, Command, Context
from services.workflow.rules import ArchivedBacklog, CaseWaiting, Moment
from shared.aggregate import AgencyAggregate
from shared.channels import Channel
from shared.events import ComplaintImported, ConsultationImported
from shared.refusals import Refused
from shared.settings import Settings
from shared.sop import ACTIONS, CURRENT, SOPS, Kind, Officer, Role, Sop
from shared.vocabulary import Status
from shared.working_time import WorkingCalendar

ROOT = Path(__file__).resolve().parents[2]
AGENCY = "dpmptsp-gresik"
CALENDAR = WorkingCalendar()
RECEIVED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 09:00 in Gresik
WINDOW_DAYS = Settings.model_fields["reopen_window_days"].default
SOON = RECEIVED + timedelta(hours=1)
LATER = RECEIVED + timedelta(days=60)  # past every deadline and the reopen window
MOMENT = Moment(SOON, CALENDAR, WINDOW_DAYS)

BODIES: dict[str, dict[str, Any]] = {
    "identification/resolve": {"answer": "Selesai."},
    "identification/escalate": {"note": "Naik."},
    "verification": {"note": "Lengkap."},
    "disposition": {"instruction": "Tinjau."},
    "investigation": {"summary": "Ditinjau.", "related_agencies": ["Dinas PU"]},
    "bap": {
        "date": "2026-03-02",  # the day it was received: no later than the acting moment
        "place": "Lokasi usaha",
        "parties_present": ["Pemohon", "Tim Pengaduan"],
        "findings": "Papan nama belum terpasang.",
        "conclusion": "Izin sesuai.",
    },
    "follow-up": {"action": "Diproses.", "answer": "Terbit.", "archive_ref": "A/1"},
    "reception": {"note": "Diterima."},
    "bkpm/escalate": {"note": "Ke BKPM."},
    "bkpm/answer": {"reference": "B-1", "answer": "Jawab."},
    "facilitation": {"summary": "Dibantu.", "answer": "Ok."},
    "information-request": {"reason": "Nomor berkas?"},
    "information-received": {"summary": "4471."},
    "reject": {"reason": "Bukan kewenangan.", "referred_to": "BPN Gresik"},
    "merge": {},  # the primary case is filled in by the office below
    "reopen": {"reason": "Pemohon menyanggah."},
    "backlog-close": {"reason": "Sudah ditangani di atas kertas."},
    "notes": {"text": "Catatan."},
    "transfer": {"to": "dinas-lain", "reason": "Kewenangan dinas lain."},
    "decline": {"reason": "Bukan wewenang kami."},
}


@dataclass
class Office:
    """What a command needs of the application, in memory: sealing, other cases, settings."""

    cases: dict[UUID, Case] = field(default_factory=dict)

    @dataclass(frozen=True)
    class Knobs:
        reopen_window_days: int = WINDOW_DAYS

    settings: Knobs = field(default_factory=Knobs)

    def seal(self, case_id: UUID, payload: Any) -> str:
        return json.dumps(payload)

    seal_if_kept = seal

    def history(self, case_id: UUID) -> list[Any]:
        return []  # no files attached: a BAP names none

    def get_case(self, case_id: UUID, reach: Collection[str] | None = None) -> Case:
        return self.cases[case_id]

    def agencies(self) -> set[str]:
        return {AGENCY, "dinas-lain"}

    def calendar(self, agency: str | None = None) -> WorkingCalendar:
        return CALENDAR


def officer(*roles: Role) -> Officer:
    return Officer(f"{roles[0].value}-1", roles[0].value, frozenset(roles), AGENCY)


def opened(kind: Kind) -> Case:
    return Case.open(
        case_id=uuid4(),
        agency=AGENCY,
        kind=kind,
        tracking_code="ADU-TEST",
        channel="web",
        category=None,
        received_at=RECEIVED,
        anonymous=False,
        confidential=False,
        complainant_ref=None,
        calendar=CALENDAR,
    )


def imported(kind: Kind) -> Case:
    """A case still open in the imported register."""
    row = (ComplaintImported if kind is Kind.COMPLAINT else ConsultationImported)(
        case_id=uuid4(),
        tracking_code="ADU-TEST",
        kind=kind,
        channel=Channel.LETTER,
        received_at=RECEIVED - timedelta(days=400),
    )
    return Case.import_(row, agency=AGENCY, calendar=CALENDAR)


def run(case: Case, path: str, by: Officer, *, at: datetime = SOON) -> list[Case]:
    """Run the command as the API does, on a copy of the case (and of a fresh primary case)."""
    case = copy.deepcopy(case)
    primary = opened(Kind(case.kind))
    office = Office({primary.id: primary})
    command = next(c for c in COMMANDS if c.path == path)
    body = BODIES[path] | ({"primary_case_id": str(primary.id)} if path == "merge" else {})
    if "version" in command.body.model_fields:
        body = body | {"version": case.version}
    context = Context(by, at, CALENDAR, cast(Cases, office))
    command.run(case, command.body.model_validate(body), context)
    return [case, primary]


def accepts(case: Case, command: Command, by: Officer, at: datetime) -> bool:
    try:
        run(case, command.path, by, at=at)
    except Refused:
        return False
    return True


def actor(sop: Sop, case: Case) -> Officer:
    assert case.current_step is not None
    return officer(sop.step(case.current_step).actor)


def states(sop: Sop) -> Iterator[tuple[str, Case]]:
    """The case at each step, running and waiting, and closed every way it can close."""
    case = first = opened(sop.kind)
    backlog = imported(sop.kind)
    yield "imported", backlog
    yield "imported, closed as backlog", run(backlog, "backlog-close", actor(sop, backlog))[0]
    yield "rejected", run(first, "reject", actor(sop, first))[0]
    yield "merged", run(first, "merge", actor(sop, first))[0]
    while case.current_step is not None:
        step = sop.step(case.current_step)
        yield f"at {step.id}", case
        yield f"waiting at {step.id}", run(case, "information-request", actor(sop, case))[0]
        for action in step.actions:
            if action.closes:
                yield f"closed by {action.id}", run(case, action.id, actor(sop, case))[0]
        onward = next((a for a in step.actions if not a.closes), None)
        if onward is None:
            return
        case = run(case, onward.id, actor(sop, case))[0]


@pytest.mark.parametrize("sop", SOPS.values(), ids=[sop.kind.value for sop in SOPS.values()])
def test_the_api_offers_exactly_what_the_aggregate_accepts(sop: Sop) -> None:
    disagreements, taken = [], set()
    for (label, case), at in itertools.product(states(sop), (SOON, LATER)):
        moment = Moment(at, CALENDAR, WINDOW_DAYS)
        for role in Role:
            by = officer(role)
            offered = {c.path for c in COMMANDS if c.allowed(case, by, moment)}
            accepted = {c.path for c in COMMANDS if accepts(case, c, by, at)}
            taken |= accepted
            if offered != accepted:
                disagreements.append((label, at, role.value, offered ^ accepted))
    assert not disagreements
    # Not vacuous: every action of this SOP was taken somewhere on the walk.
    assert taken == set(sop.actions)


def test_a_waiting_case_takes_only_the_complainants_answer_and_notes() -> None:
    sop = SOPS[(Kind.COMPLAINT, "2023.1")]
    waiting = run(opened(Kind.COMPLAINT), "information-request", officer(Role.TIM_PENGADUAN))[0]
    assert waiting.status == Status.WAITING_INFO
    team = officer(Role.TIM_PENGADUAN)
    assert {c.path for c in COMMANDS if c.allowed(waiting, team)} == {
        "information-received",
        "notes",
    }
    for path in ("reject", "merge", "identification/resolve"):
        with pytest.raises(CaseWaiting):
            run(waiting, path, team)
    assert sop.actions["reject"][0].waiting is False


def test_every_action_of_the_tables_is_one_command_recording_its_event() -> None:
    actions = {action_id for sop in SOPS.values() for action_id in sop.actions}
    assert sorted(c.path for c in COMMANDS) == sorted(actions)
    for sop in SOPS.values():
        for action_id, (action, _) in sop.actions.items():
            assert ACTIONS[action_id] == action  # an id means the same action in both SOPs
            assert issubclass(getattr(Case, action.event), AgencyAggregate.Event), action


def test_importing_the_aggregate_does_not_import_the_web_framework() -> None:
    code = "import sys, services.workflow.case; print('fastapi' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_a_register_case_closed_as_history_is_not_reopened() -> None:
    """Closed as an archive of the old register, it was 'answered' and could be reopened for
    the reopen window counted from the archiving, though nobody had answered anything."""
    sop = CURRENT[Kind.COMPLAINT]
    backlog = imported(Kind.COMPLAINT)
    archived = run(backlog, "backlog-close", actor(sop, backlog))[0]
    refused = archived.refusal("reopen", officer(Role.TIM_PENGADUAN), MOMENT)
    assert isinstance(refused, ArchivedBacklog)
    answered = run(opened(Kind.COMPLAINT), "identification/resolve", officer(Role.TIM_PENGADUAN))
    assert answered[0].refusal("reopen", officer(Role.TIM_PENGADUAN), MOMENT) is None

"""The officer who acted last is in the read model by name, for case lists and exports, and
only for roles that may read a case's history."""

from __future__ import annotations

from datetime import UTC, datetime

from services.reporting.case_search import columns_for, row_of
from services.reporting.officer_api import facets_of
from services.reporting.projection import CaseRow, projector_for
from shared.auth import Officer
from shared.events import Envelope
from shared.events import workflow as wf
from shared.sop import Role
from tests.samples import case_opened, complaint_received, workflow_event

AT = datetime(2026, 11, 30, 3, tzinfo=UTC)


def project(envelopes: list[Envelope]) -> CaseRow:
    row = None
    for envelope in envelopes:
        row = projector_for(envelope.data)(row, envelope).row
    assert row is not None
    return row


def escalated(received: Envelope, name: str | None) -> Envelope:
    return workflow_event(
        wf.Escalated,
        received,
        2,
        AT,
        step="identification",
        by_role=Role.TIM_PENGADUAN,
        by_name=name,
        working_minutes=5.0,
        within_standard=True,
        next_step="verification",
    )


def test_the_last_officer_to_act_is_named_and_the_clock_names_nobody() -> None:
    received = complaint_received()
    row = project([received, case_opened(received), escalated(received, "Rina Wulandari")])
    assert (row.handled_by, row.current_step) == ("Rina Wulandari", "verification")
    overdue = workflow_event(wf.StepOverdue, received, 3, AT, step="verification", due_at=AT)
    assert (
        project([received, case_opened(received), escalated(received, "Rina"), overdue]).handled_by
        == "Rina"
    )


def test_an_event_from_before_names_leaves_the_name_unknown() -> None:
    received = complaint_received()
    assert project([received, case_opened(received), escalated(received, None)]).handled_by is None


def test_the_name_is_a_column_only_for_roles_that_read_the_history() -> None:
    received = complaint_received()
    record = vars(project([received, case_opened(received), escalated(received, "Rina")]))
    team = Officer("t", "Tim", frozenset({Role.TIM_PENGADUAN}), received.agency)
    analyst = Officer("a", "Analis", frozenset({Role.ANALIS}), received.agency)
    shown = row_of(record, facets_of(record, team), columns_for(team))
    hidden = row_of(record, facets_of(record, analyst), columns_for(analyst))
    assert (shown["handled_by"], hidden["handled_by"]) == ("Rina", None)

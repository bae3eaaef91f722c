"""Imported cases project by the register's dates, whichever service's event comes first."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4
from zoneinfo import ZoneInfo

from services.reporting.projection import CaseRow, projector_for
from shared.channels import Channel
from shared.events import CaseImported, ComplaintImported, Envelope, seal
from shared.events.workflow import BacklogClosed
from shared.sop import Kind
from shared.vocabulary import Group, Status, is_in

WIB = ZoneInfo("Asia/Jakarta")
RECEIVED = datetime(2022, 3, 10, tzinfo=WIB)
NOW = datetime(2026, 11, 29, 9, tzinfo=WIB)


def pair(closed_at: datetime | None) -> tuple[Envelope, Envelope]:
    case_id = uuid4()
    common = {"case_id": case_id, "tracking_code": "7K3M-9QXP", "kind": Kind.COMPLAINT}
    common |= {"channel": Channel.IMPORT, "received_at": RECEIVED}
    intake = ComplaintImported(**common, outcome="resolved", closed_at=closed_at)
    workflow = CaseImported(
        **common,
        at=NOW,
        sop_version="2023.1",
        status=Status.RESOLVED,
        deadline_at=datetime(2022, 3, 30, 8, tzinfo=WIB),
        closed_at=closed_at,
    )
    agency = "dpmptsp-gresik"
    return (
        seal(intake, subject=case_id, version=1, time=NOW, agency=agency),
        seal(workflow, subject=case_id, version=1, time=NOW, agency=agency),
    )


def project(envelopes: tuple[Envelope, ...]) -> CaseRow:
    row = None
    for envelope in envelopes:
        row = projector_for(envelope.data)(row, envelope).row
    assert row is not None
    return row


def test_either_order_gives_the_same_row_in_the_month_received() -> None:
    intake, workflow = pair(datetime(2022, 3, 31, tzinfo=WIB))
    first, second = project((intake, workflow)), project((workflow, intake))
    assert first == second
    assert first.imported
    assert first.status == "resolved"
    assert first.bucket(WIB)[1:3] == (2022, 3)
    assert first.timeliness == "late"


def test_closed_within_fourteen_working_days_is_on_time() -> None:
    assert project(pair(datetime(2022, 3, 30, tzinfo=WIB))).timeliness == "on_time"


def test_closed_on_an_unknown_date_is_not_judged() -> None:
    assert project(pair(None)).timeliness == "n/a"


def test_a_register_case_closed_here_as_history_is_archived_not_answered() -> None:
    """Still open in the register, closed by the office as history: it counts as archived,
    neither answered nor judged on time, in every rekap."""
    intake, workflow = pair(None)
    still_open = workflow.data.model_copy(update={"status": Status.IN_PROGRESS})
    opened = seal(
        still_open, subject=workflow.subject, version=1, time=NOW, agency="dpmptsp-gresik"
    )
    archived = BacklogClosed(case_id=workflow.subject, at=NOW, step="identification")
    closing = seal(archived, subject=workflow.subject, version=2, time=NOW, agency="dpmptsp-gresik")
    row = project((intake, opened, closing))
    assert row.status == "archived"
    assert is_in(row.status, Group.CLOSED)
    assert not is_in(row.status, Group.ANSWERED)
    assert row.timeliness == "n/a"
    assert row.bucket(WIB)[1:3] == (2022, 3)

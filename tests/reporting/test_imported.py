"""Imported cases project by the register's dates, whichever service's event comes first."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4
from zoneinfo import ZoneInfo

from services.reporting.projection import CaseRow, projector_for
from shared.channels import Channel
from shared.events import CaseImported, ComplaintImported, Envelope, seal
from shared.sop import Kind
from shared.vocabulary import Status

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

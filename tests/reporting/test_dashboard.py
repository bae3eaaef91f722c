"""The dashboard of a scripted month: its on-time share counts open cases past their deadline
as late, every count leads to its cases, categories and the SKM per element, readable charts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from shared.channels import Channel
from shared.events import CaseImported, CaseOpened, ComplaintReceived, Envelope, seal
from shared.events import workflow as wf
from shared.sop import Kind, Role
from shared.vocabulary import Status
from tests.polling import eventually
from tests.reporting.conftest import Desk
from tests.samples import complaint_received, workflow_event

WIB = ZoneInfo("Asia/Jakarta")
OCTOBER = datetime(2025, 10, 6, 9, 0, tzinfo=WIB)
AGENCY = "dpmptsp-gresik"
FAR = datetime(2099, 1, 1, tzinfo=WIB)  # a deadline still to come, whenever the test runs


@dataclass(frozen=True)
class Scripted:
    """A case of the script: when it was received, its deadline, when it closed (if it did)."""

    day: int
    deadline_days: int | None  # None: FAR
    closed_days: int | None  # None: still open
    channel: Channel = Channel.WEB
    category: str | None = None

    @property
    def received(self) -> datetime:
        return OCTOBER + timedelta(days=self.day)

    @property
    def deadline(self) -> datetime:
        return FAR if self.deadline_days is None else self.received + timedelta(self.deadline_days)

    @property
    def closed(self) -> datetime | None:
        return None if self.closed_days is None else self.received + timedelta(self.closed_days)


SCRIPT = [
    Scripted(0, 20, 2, category="pungli"),  # closed on time
    Scripted(1, 20, 19, Channel.WHATSAPP),  # closed on time
    Scripted(2, 18, 25, category="biaya"),  # closed late
    Scripted(3, 18, None, Channel.LETTER),  # open, past its deadline (October 2025 is over)
    Scripted(4, 18, None, category="pungli"),  # open, past its deadline
    Scripted(5, None, None),  # open, its deadline still to come
]


def on_time_share(script: list[Scripted], now: datetime) -> float:
    """The rule, said independently: on time among closed cases and open ones already late."""
    on_time = sum(1 for c in script if c.closed and c.closed <= c.deadline)
    late = sum(1 for c in script if (c.closed or now) > c.deadline)
    return round(on_time / (on_time + late), 4)


def events(case: Scripted) -> list[Envelope]:
    received = complaint_received(received_at=case.received, channel=case.channel)
    data = received.data
    assert isinstance(data, ComplaintReceived)
    data = data.model_copy(update={"category": case.category})
    received = seal(data, subject=data.case_id, version=1, time=case.received, agency=AGENCY)
    opened = CaseOpened(
        **data.opening(),
        at=case.received,
        sop_version="2023.1",
        current_step="identification",
        step_due_at=FAR,
        deadline_at=case.deadline,
    )
    stream = [
        received,
        seal(opened, subject=data.case_id, version=1, time=case.received, agency=AGENCY),
    ]
    if case.closed:
        stream.append(
            workflow_event(
                wf.ResolvedDirectly,
                received,
                2,
                case.closed,
                step="identification",
                by_role=Role.TIM_PENGADUAN,
                working_minutes=1.0,
                within_standard=True,
                public_answer="Sudah selesai.",
            )
        )
    return stream


def code(envelopes: list[Envelope]) -> str:
    data = envelopes[0].data
    assert isinstance(data, ComplaintReceived)
    return data.tracking_code


async def scripted_month(desk: Desk) -> tuple[dict[str, Any], list[list[Envelope]]]:
    streams = [events(case) for case in SCRIPT]
    await desk.bus.publish(*[envelope for stream in streams for envelope in stream])

    async def projected() -> dict[str, Any] | None:
        answer = await desk.http.get("/reporting/v1/dashboard?year=2025&month=10")
        if answer.status_code == 503:  # a read past its deadline on a busy machine: ask again
            return None
        board = answer.json()
        settled = board["figures"]["on_time"]["count"] == 2 and board["this_month"]["total"] == 6
        return board if settled else None

    board = await eventually(projected, within=15)
    assert board is not None
    return board, streams


async def test_the_on_time_share_counts_open_cases_past_their_deadline_as_late(
    desk: Desk,
) -> None:
    board, _ = await scripted_month(desk)
    expected = on_time_share(SCRIPT, datetime.now(WIB))
    assert expected == 0.4  # 2 on time; 1 closed late and 2 open past the deadline
    t = board["timeliness"]
    assert t["on_time_share"] == expected
    assert (t["on_time"], t["late_closed"], t["late_open"], t["running"]) == (2, 1, 2, 1)
    assert "belum selesai padahal tenggatnya sudah lewat" in t["note"]
    assert board["past_deadline_open"] == 2  # live cases: none imported here


async def test_every_count_leads_to_the_cases_behind_it(desk: Desk) -> None:
    board, streams = await scripted_month(desk)
    officer = desk.headers(Role.ANALIS)

    async def listed(url: str) -> set[str]:
        answer = await desk.http.get(url, headers=officer)
        assert answer.status_code == 200, answer.text
        return {case["tracking_code"] for case in answer.json()["cases"]}

    codes = [code(stream) for stream in streams]
    late_open = await listed(board["figures"]["late_open"]["cases_url"])
    assert late_open == {codes[3], codes[4]}
    assert await listed(board["figures"]["on_time"]["cases_url"]) == {codes[0], codes[1]}
    letter = next(row for row in board["by_channel"] if row["channel"] == "letter")
    assert await listed(letter["cases_url"]) == {codes[3]}
    pungli = next(row for row in board["by_category"] if row["category"] == "pungli")
    assert (pungli["complaints"], board["pungli"]) == (2, 2)
    assert await listed(pungli["cases_url"]) == {codes[0], codes[4]}
    for count in board["figures"].values():  # each count is the length of its list
        answer = await desk.http.get(count["cases_url"], headers=officer)
        assert len(answer.json()["cases"]) == count["count"], count
    refused = await desk.http.get(board["figures"]["late_open"]["cases_url"])
    assert refused.status_code == 401


async def test_charts_are_readable_and_the_skm_is_shown_per_element(desk: Desk) -> None:
    board, _ = await scripted_month(desk)
    assert len(board["skm_elements"]) == 9
    assert board["skm_elements"][0]["label"] == "Persyaratan"
    for name in ("channels", "status", "categories", "compliance", "skm", "trend"):
        svg = await desk.http.get(f"/reporting/v1/dashboard/{name}.svg?year=2025&month=10")
        assert svg.status_code == 200, name
        sizes = [float(size) for size in re.findall(r"font-size:\s*([\d.]+)", svg.text)]
        sizes += [float(size) for size in re.findall(r'font-size="([\d.]+)', svg.text)]
        assert sizes, name
        assert min(sizes) >= 12, (name, min(sizes))
    categories = await desk.http.get("/reporting/v1/dashboard/categories.svg?year=2025&month=10")
    assert "Pungutan liar / gratifikasi" in categories.text


async def test_imported_open_cases_are_backlog_not_live_alarms(desk: Desk) -> None:
    case_id, received = uuid4(), OCTOBER - timedelta(days=400)
    common = {"case_id": case_id, "tracking_code": "7K3M-9QXP", "kind": Kind.COMPLAINT}
    common |= {"channel": Channel.IMPORT, "received_at": received}
    imported = CaseImported(
        **common,
        at=OCTOBER,
        sop_version="2023.1",
        status=Status.IN_PROGRESS,
        current_step="identification",
        deadline_at=received + timedelta(days=20),
    )
    live = events(Scripted(3, 18, None, Channel.LETTER))  # open, past its deadline
    await desk.bus.publish(
        seal(imported, subject=case_id, version=1, time=OCTOBER, agency=AGENCY), *live
    )

    async def projected() -> dict[str, Any] | None:
        board = (await desk.http.get("/reporting/v1/dashboard?year=2025&month=10")).json()
        return board if board["imported_open"] == 1 and board["past_deadline_open"] else None

    board = await eventually(projected, within=15)
    assert board is not None
    assert board["past_deadline_open"] == 1  # the live letter only
    officer = desk.headers(Role.ANALIS)
    backlog = await desk.http.get(board["figures"]["imported_open"]["cases_url"], headers=officer)
    assert [case["tracking_code"] for case in backlog.json()["cases"]] == ["7K3M-9QXP"]
    alarms = await desk.http.get(board["figures"]["breached_open"]["cases_url"], headers=officer)
    assert [case["tracking_code"] for case in alarms.json()["cases"]] == [code(live)]


async def test_a_month_not_begun_is_refused_not_shown_as_zeros(desk: Desk) -> None:
    """Next month's dashboard was all zeros, as if nothing had come in, and a Kepala Dinas
    could issue its recap: a numbered letter reporting nothing. Both are refused, saying why;
    this month is still shown."""
    now = datetime.now(WIB)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    officer = desk.headers(Role.TIM_PENGADUAN)
    refused = [
        await desk.http.get(f"/reporting/v1/dashboard?year={year}&month={month}"),
        await desk.http.get(f"/reporting/v1/dashboard/trend.svg?year={year}&month={month}"),
        await desk.http.get(f"/reporting/v1/dashboard/channels.csv?year={year}&month={month}"),
        await desk.http.get(
            f"/reporting/v1/dashboard/cases?figure=all&year={year}&month={month}", headers=officer
        ),
        await desk.http.post(f"/reporting/v1/recaps/{year}/{month}", headers=officer),
    ]
    for answer in refused:
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["type"] == "/problems/month-not-begun"
        assert f"{year} belum dimulai" in problem["detail"]
    assert (await desk.http.get(f"/reporting/v1/recaps/{year}/{month}")).status_code == 404
    this_month = f"/reporting/v1/dashboard?year={now.year}&month={now.month}"
    assert (await desk.http.get(this_month)).status_code == 200

"""Acceptance (issue 20, 1): a scripted day of a province with its consumers scaled out.

Forty agencies, registered through the agencies API, each with its own officers (a few of them
in two agencies) and a provincial coordinator; three workflow and three reporting processes
sharing the partitions. Cases are submitted to each agency (its form, or a letter its officer
records), some forwarded by the coordinator, some declined ("bukan wewenang") and then forwarded
or left in the coordinator's queue, and walked through the SOP paths. Then: each agency's rekap
equals what the script counts for the agency each case ends in, the province's is their sum,
and a matrix of officers × surfaces shows every officer only their agencies' cases (the
coordinator all of them)."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr

from shared.settings import Settings
from shared.sop import Role
from tests.e2e.province import (
    KEEPALIVE,
    DayCase,
    Fate,
    Province,
    Tokens,
    agency_ids,
    day,
    expected_rekap,
)
from tests.intake.conftest import signing_key
from tests.polling import eventually
from tests.system import running, with_free_ports

AGENCIES = 40
CASES_PER_AGENCY = 4
PROCESSES = {"intake": 1, "workflow": 3, "reporting": 3}
TWO_AGENCIES = 3  # officers who belong to two agencies
SAMPLED_OFFICERS = 6  # officers of one agency in the matrix (besides those touched by moves)
SAMPLED_OTHERS = 6  # other agencies' cases each officer is shown on the per-case surfaces
CONCURRENCY = 12


@pytest.fixture
def settings(private_settings: Settings) -> Settings:
    """On servers of the test's own (tests/servers.py): its broker runs the consistent-hash
    exchange the partitions need, and seven processes' connections would crowd the machine's
    shared PostgreSQL. Free ports, one signing key, no rate limit on the test's one client."""
    return with_free_ports(private_settings).model_copy(
        update={
            "auth_signing_key": SecretStr(signing_key()),
            "rate_ip_per_minute": 100_000,
            "rate_sender_per_minute": 100_000,
        }
    )


async def answered(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    """The answer, once the service is not shedding load: a 503 (a store call past its
    deadline while forty agencies' day is still being written) says to try again, and a
    client does."""

    async def attempt() -> httpx.Response | None:
        answer = await http.get(url, headers=headers)
        return None if answer.status_code == 503 else answer

    found: httpx.Response | None = await eventually(attempt, within=30, interval=0.5)
    assert found is not None
    return found


async def test_a_day_of_forty_agencies_with_scaled_out_consumers(
    settings: Settings, tmp_path: Path
) -> None:
    started = time.monotonic()
    tokens = Tokens(settings)
    agencies = agency_ids(AGENCIES)
    cases = day(agencies, CASES_PER_AGENCY)
    assert {case.fate for case in cases} == set(Fate)
    async with (
        running(settings, tmp_path, instances=PROCESSES, ready_within=90) as system,
        httpx.AsyncClient(timeout=30, limits=KEEPALIVE) as http,
    ):
        province = Province(
            http,
            system.url("intake"),
            [system.url("workflow", i) for i in range(PROCESSES["workflow"])],
            [system.url("reporting", i) for i in range(PROCESSES["reporting"])],
            tokens,
        )
        await province.register(agencies)
        case_of, ids = await province.walk(cases, CONCURRENCY)
        codes = list(case_of)

        year = datetime.now(ZoneInfo(settings.timezone)).year
        expected = expected_rekap(cases)
        assert await eventually(lambda: province.projected(expected, year), within=60, interval=0.5)
        print(f"day walked and projected in {time.monotonic() - started:.1f}s")

        await province.each_agencys_rekap(agencies, expected, year, CONCURRENCY)
        await _matrix(province, cases, codes, ids, agencies, year)
    print(f"whole day {time.monotonic() - started:.1f}s")


async def _matrix(
    province: Province,
    cases: list[DayCase],
    codes: list[str],
    ids: dict[str, str],
    agencies: list[str],
    year: int,
) -> None:
    """Officers × surfaces: each officer sees exactly their agencies' cases."""
    tokens, http = province.tokens, province.http
    rng = random.Random(5)
    case_of = dict(zip(codes, cases, strict=True))
    ends_in = {code: case.ends_in for code, case in case_of.items()}
    moved = [case for case in cases if case.fate is not Fate.STAYS]
    touched = sorted({case.home for case in moved} | {case.to for case in moved})
    singles = rng.sample(touched, SAMPLED_OFFICERS // 2) + rng.sample(
        agencies, SAMPLED_OFFICERS // 2
    )
    officers: list[tuple[str, dict[str, str], frozenset[str] | None]] = [
        (f"{a}-tim", tokens.officer(a, Role.TIM_PENGADUAN), frozenset({a})) for a in singles
    ]
    for number in range(TWO_AGENCIES):
        first, second = rng.sample(touched, 2)
        memberships = {
            first: [Role.TIM_PENGADUAN, Role.KABID],
            second: [Role.TIM_PENGADUAN],
        }
        headers = tokens.of(f"dua-instansi-{number}", memberships)
        officers.append((f"dua-instansi-{number}", headers, frozenset({first, second})))
    officers.append(("koordinator", tokens.coordinator, None))
    now = datetime.now(ZoneInfo("Asia/Jakarta"))

    async def check(name: str, headers: dict[str, str], reach: frozenset[str] | None) -> None:
        own = {c for c in codes if reach is None or ends_in[c] in reach}
        others = sorted(set(codes) - own)
        # on the per-case surfaces, moved cases first: those that reached or left the
        # officer's agencies (or, for the coordinator, wait in the queue)
        came = [c for c in sorted(own) if case_of[c].fate is not Fate.STAYS]
        left = [c for c in others if reach and case_of[c].home in reach]
        stayed = rng.sample(sorted(own), min(len(own), SAMPLED_OTHERS))
        shown = [*came, *stayed][: 2 * SAMPLED_OTHERS] + left[:SAMPLED_OTHERS]
        shown += rng.sample(others, min(len(others), SAMPLED_OTHERS))

        # the case search, its export, and a dashboard figure's cases: exactly their cases
        search = await http.get(f"{province.reporting(1)}/cases?limit=1000", headers=headers)
        assert search.status_code == 200, (name, search.text)
        assert {row["tracking_code"] for row in search.json()} == own, name
        export = await http.get(f"{province.reporting(2)}/cases.csv", headers=headers)
        assert export.status_code == 200, (name, export.text)
        assert {c for c in codes if c in export.text} == own, name
        figure = await http.get(
            f"{province.reporting(0)}/dashboard/cases",
            params={"figure": "all", "year": now.year, "month": now.month, "limit": 1000},
            headers=headers,
        )
        assert figure.status_code == 200, (name, figure.text)
        assert {line["tracking_code"] for line in figure.json()["cases"]} == own, name
        # the complaint team's worklist: only their cases (those still open at its steps)
        work = await http.get(
            f"{province.reporting(1)}/worklist?role=tim_pengaduan&limit=500", headers=headers
        )
        if reach is None:
            assert work.status_code == 403, (name, work.text)  # the coordinator holds no step
        else:
            assert work.status_code == 200, (name, work.text)
            listed = {item["tracking_code"] for item in work.json()}
            assert listed <= own, name
            opened = {c for c in own if _waits_for_the_team(case_of[c])}
            assert opened <= listed, name

        # one case at a time: workflow's case view and intake's submission view
        for code in shown:
            case_id = ids[code]
            view = await answered(http, f"{province.workflow(2)}/cases/{case_id}", headers)
            submission = await answered(
                http, f"{province.intake}/intake/v1/submissions/{case_id}", headers
            )
            want = 200 if code in own else 404
            assert view.status_code == want, (name, code, view.text)
            assert submission.status_code == want, (name, code, submission.text)

        # another agency's lists and monthly rekap are refused; the province's rekap is
        # published figures, read by anyone
        refusing = [
            "/cases",
            "/worklist?role=tim_pengaduan",
            f"/dashboard/cases?figure=all&year={now.year}&month={now.month}",
            f"/recaps/{now.year}/{now.month}/rekap.xlsx",
        ]
        outside = sorted(set(agencies) - reach)[0] if reach is not None else None
        for surface in refusing if outside else []:
            sep = "&" if "?" in surface else "?"
            refused = await http.get(
                f"{province.reporting(0)}{surface}{sep}instansi={outside}", headers=headers
            )
            assert refused.status_code == 403, (name, surface, refused.text)
        whole = await http.get(
            f"{province.reporting(2)}/rekap?instansi=*&year={year}", headers=headers
        )
        assert whole.status_code == 200, (name, whole.text)

    await asyncio.gather(*(check(*officer) for officer in officers))


def _waits_for_the_team(case: DayCase) -> bool:
    """Whether the case ends open at the complaint team's step (identification)."""
    return case.fate is not Fate.QUEUED and case.path in ("open", "waiting")

"""A scripted day of a province, driven through the services' APIs: agencies registered by the
provincial administrator, their officers' tokens, complaints and consultations submitted to each
agency, forwarded by the coordinator or declined ("bukan wewenang"), and walked through the SOP
paths of tests/e2e/scenario.py. What the script did is also counted here, independently of any
service: where each case ends and in which status (tests/e2e/test_province_day.py, tests/faults/
test_province_day_on_cluster.py, bench/province.py)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import uuid4

import httpx

from services.workflow.issuer import Issuer
from shared.channels import Channel
from shared.settings import Settings
from shared.sop import PROVINCE, Kind, Role
from tests.bodies import as_sent
from tests.e2e.scenario import PATHS, TIM
from tests.polling import eventually

TEXT = "Izin usaha belum terbit setelah tiga minggu, mohon ditindaklanjuti."
KEEPALIVE = httpx.Limits(keepalive_expiry=1.0)
"""A client's idle connections are dropped well before the services' (uvicorn's 5 s): a
request sent on a connection the server is closing at that moment fails with no answer."""
OFFICE_ROLES = [Role.TIM_PENGADUAN, Role.KABID, Role.KEPALA_DINAS, Role.PETUGAS_OSS]
SENDS = 5  # how many times a request answered 503 with Retry-After is sent in all


def agency_ids(count: int) -> list[str]:
    """The day's agencies (besides the deployment's own)."""
    return [f"dinas-{number:02d}" for number in range(count)]


class Fate(StrEnum):
    """What happens to a case between agencies before it is walked."""

    STAYS = "stays"  # walked in the agency it was submitted to
    FORWARDED = "forwarded"  # the coordinator transfers it to another agency, walked there
    DECLINED = "declined"  # "bukan wewenang"; the coordinator forwards it, walked there
    QUEUED = "queued"  # "bukan wewenang"; left in the coordinator's queue


@dataclass(frozen=True)
class DayCase:
    """One case of the day."""

    number: int
    home: str  # the agency it was submitted to
    kind: Kind
    path: str  # its walk in tests/e2e/scenario.py's PATHS, in the agency it ends in
    channel: Channel  # web: the agency's form; letter: recorded by one of its officers
    fate: Fate
    to: str  # where the coordinator forwards it (FORWARDED, DECLINED); else home

    @property
    def ends_in(self) -> str:
        """The agency the case belongs to at the end of the day (PROVINCE: the queue)."""
        if self.fate is Fate.QUEUED:
            return PROVINCE
        return self.to

    @property
    def walk(self) -> list[tuple[str, Role, dict[str, Any]]]:
        """The SOP commands after any move (none for a case left in the queue)."""
        return [] if self.fate is Fate.QUEUED else PATHS[(self.kind, self.path)][0]

    @property
    def status(self) -> str:
        """Where the walk ends."""
        return PATHS[(self.kind, self.path)][1]


def day(agencies: list[str], per_agency: int, seed: int = 20) -> list[DayCase]:
    """`per_agency` cases submitted to each agency; about one in ten forwarded by the
    coordinator, one in twenty declined and forwarded, one in twenty left in the queue."""
    rng = random.Random(seed)
    cases: list[DayCase] = []
    for index, home in enumerate(agencies):
        for _ in range(per_agency):
            number = len(cases)
            kind = rng.choice([Kind.COMPLAINT, Kind.COMPLAINT, Kind.CONSULTATION])
            path = rng.choice([p for k, p in PATHS if k == kind])
            fate = Fate.STAYS
            if kind is Kind.COMPLAINT:  # moved: a complaint, back at identification
                fate = {3: Fate.FORWARDED, 13: Fate.FORWARDED, 7: Fate.DECLINED}.get(
                    number % 20, Fate.QUEUED if number % 20 == 17 else Fate.STAYS
                )
            other = agencies[(index + 1 + rng.randrange(len(agencies) - 1)) % len(agencies)]
            to = other if fate in (Fate.FORWARDED, Fate.DECLINED) else home
            channel = Channel.LETTER if number % 5 == 1 else Channel.WEB
            cases.append(DayCase(number, home, kind, path, channel, fate, to))
    return cases


def expected_rekap(cases: Iterable[DayCase]) -> dict[str, Counter[tuple[str, str, str]]]:
    """Counts by (kind, status, channel) per agency the cases end in, from the script alone
    (a case in the coordinator's queue is still open: in progress)."""
    counts: dict[str, Counter[tuple[str, str, str]]] = {}
    for case in cases:
        status = "in_progress" if case.fate is Fate.QUEUED else case.status
        key = (case.kind.value, status, case.channel.value)
        counts.setdefault(case.ends_in, Counter())[key] += 1
    return counts


def counted(rekap: dict[str, Any]) -> Counter[tuple[str, str, str]]:
    """A rekap grouped by kind,status,channel as the script counts it."""
    return Counter(
        {
            (row["kind"], row["status"], row["channel"]): row["count"]
            for row in rekap["rows"]
            if row["count"]
        }
    )


class Tokens:
    """Officers' tokens, signed with the key every service of the test verifies."""

    def __init__(self, settings: Settings) -> None:
        self.issuer = Issuer(settings, settings.auth_signing_key.get_secret_value())
        self._made: dict[str, dict[str, str]] = {}

    def of(self, subject: str, memberships: dict[str, list[Role]]) -> dict[str, str]:
        """An officer of these agencies (the first is the one they act in); one token each."""
        if subject not in self._made:
            agency, roles = next(iter(memberships.items()))
            token = self.issuer.mint(
                subject=subject, name=subject, roles=roles, agency=agency, memberships=memberships
            )
            self._made[subject] = {"Authorization": f"Bearer {token}"}
        return self._made[subject]

    def officer(self, agency: str, *roles: Role) -> dict[str, str]:
        """An officer of one agency."""
        held = list(roles or OFFICE_ROLES)
        return self.of(f"{agency}-{'-'.join(r.value for r in held)}", {agency: held})

    @property
    def coordinator(self) -> dict[str, str]:
        """The provincial coordinator (pengelola induk)."""
        return self.of("pengelola-induk", {PROVINCE: [Role.KOORDINATOR]})

    @property
    def administrator(self) -> dict[str, str]:
        """The provincial administrator, who registers the agencies."""
        return self.of("admin-provinsi", {PROVINCE: [Role.ADMIN]})


async def limited(concurrency: int, work: Iterable[Awaitable[Any]]) -> list[Any]:
    """Await every piece of work, at most `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(piece: Awaitable[Any]) -> Any:
        async with gate:
            return await piece

    return await asyncio.gather(*(one(piece) for piece in work))


@dataclass
class Province:
    """The running province: where each service answers, and its officers."""

    http: httpx.AsyncClient
    intake: str  # base URLs
    workflows: list[str]
    reportings: list[str]
    tokens: Tokens
    retried: list[str] = field(default_factory=list)  # requests sent again, and why

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A request, sent again after the pause a 503 with Retry-After asks for: the service
        says a store or broker call missed its deadline and nothing was written. A repeat is
        never a second act: a submission carries its key (the form's Idempotency-Key, the
        letter's number), a command the case version it was meant for."""
        for _ in range(SENDS - 1):
            answer = await self.http.request(method, url, **kwargs)
            pause = answer.headers.get("Retry-After")
            if answer.status_code != 503 or pause is None:
                return answer
            self.retried.append(f"{method} {url}: {answer.json().get('detail')}")
            await asyncio.sleep(float(pause))
        return await self.http.request(method, url, **kwargs)

    def workflow(self, number: int = 0) -> str:
        """One of the workflow processes' API (spread the load over them)."""
        return f"{self.workflows[number % len(self.workflows)]}/workflow/v1"

    def reporting(self, number: int = 0) -> str:
        """One of the reporting processes' API."""
        return f"{self.reportings[number % len(self.reportings)]}/reporting/v1"

    async def register(self, agencies: list[str], concurrency: int = 8) -> None:
        """Register the agencies through the agencies API; wait until every process knows
        them (each reads the table again within a few seconds)."""

        async def one(number: int, agency: str) -> None:
            answer = await self.send(
                "PUT",
                f"{self.workflow(number)}/agencies/{agency}",
                json={"id": agency, "name": f"Dinas Nomor {number}", "units": ["Bidang Umum"]},
                headers=self.tokens.administrator,
            )
            assert answer.status_code == 200, answer.text

        await limited(concurrency, (one(n, a) for n, a in enumerate(agencies)))
        last = self.tokens.officer(agencies[-1], Role.TIM_PENGADUAN)
        wanted = [200, *[404] * len(self.workflows), *[200] * len(self.reportings)]
        answered: list[int] = []

        async def known() -> bool:
            checks = [
                self.http.get(f"{self.intake}/intake/v1/agencies/{agencies[-1]}"),
                *(
                    self.http.get(f"{url}/workflow/v1/cases/{uuid4()}", headers=last)
                    for url in self.workflows
                ),
                *(
                    self.http.get(f"{url}/reporting/v1/cases", headers=last)
                    for url in self.reportings
                ),
            ]
            answered[:] = [answer.status_code for answer in await asyncio.gather(*checks)]
            return answered == wanted

        try:
            await eventually(known, within=30, interval=0.3)
        except AssertionError as error:
            raise AssertionError(f"{error}: {answered}, not {wanted}") from None

    async def submit(self, case: DayCase) -> str:
        """Submit a case to its agency: the agency's form (the API its page posts to), or a
        letter its officer records; its tracking code."""
        if case.channel is Channel.WEB:
            path = "complaints" if case.kind is Kind.COMPLAINT else "consultations"
            answer = await self.send(
                "POST",
                f"{self.intake}/intake/v1/{path}?agency={case.home}",
                json={"text": TEXT, "category": "perizinan_berusaha"},
                headers={"Idempotency-Key": f"day-{case.number}"},
            )
        else:
            answer = await self.send(
                "POST",
                f"{self.intake}/intake/v1/officer/submissions",
                json={
                    "text": TEXT,
                    "channel": "letter",
                    "kind": case.kind.value,
                    "reference": f"SURAT-{case.number}",
                    "agency": case.home,
                },
                headers=self.tokens.officer(case.home, Role.TIM_PENGADUAN),
            )
        assert answer.status_code == 201, answer.text
        code: str = answer.json()["tracking_code"]
        return code

    async def case_ids(self, codes: Iterable[str], within: float = 60) -> dict[str, str]:
        """Each tracking code's case id, once reporting has them all (the coordinator's search)."""
        wanted = set(codes)

        async def found() -> dict[str, str] | None:
            answer = await self.http.get(
                f"{self.reporting()}/cases?limit=1000", headers=self.tokens.coordinator
            )
            rows = answer.json() if answer.status_code == 200 else []
            seen = {row["tracking_code"]: row["case_id"] for row in rows}
            return seen if wanted <= seen.keys() else None

        seen = await eventually(found, within=within, interval=0.5)
        assert seen is not None
        return {code: seen[code] for code in wanted}

    async def version(self, case_id: str, within: float = 30) -> int:
        """The case's version once workflow has opened it (the coordinator sees every case)."""

        async def opened() -> int | None:
            answer = await self.http.get(
                f"{self.workflow()}/cases/{case_id}", headers=self.tokens.coordinator
            )
            return int(answer.json()["version"]) if answer.status_code == 200 else None

        version = await eventually(opened, within=within, interval=0.2)
        assert version is not None
        return version

    async def run(self, case: DayCase, case_id: str) -> None:
        """Move the case as the script says, then walk it in the agency it ends in."""
        version = await self.version(case_id)
        act = self._actor(case.number, case_id)
        if case.fate in (Fate.DECLINED, Fate.QUEUED):
            body = {"reason": "Bukan wewenang kami."}
            version = await act("decline", self.tokens.officer(case.home, TIM), version, body)
        if case.fate in (Fate.FORWARDED, Fate.DECLINED):
            body = {"to": case.to, "reason": "Urusan instansi tujuan."}
            version = await act("transfer", self.tokens.coordinator, version, body)
        for path, role, body in case.walk:
            version = await act(path, self.tokens.officer(case.to, role), version, body)

    def _actor(
        self, number: int, case_id: str
    ) -> Callable[[str, dict[str, str], int, dict[str, Any]], Awaitable[int]]:
        async def act(
            path: str, headers: dict[str, str], version: int, body: dict[str, Any]
        ) -> int:
            url = f"{self.workflow(number)}/cases/{case_id}/{path}"
            answer = await self.send(
                "POST", url, json={"version": version, **as_sent(path, body)}, headers=headers
            )
            assert answer.status_code == 200, f"{path}: {answer.text}"
            return int(answer.json()["version"])

        return act

    async def rekap(self, instansi: str, year: int, headers: dict[str, str] | None = None) -> Any:
        """The rekap of an agency (or "*": the province) grouped as the script counts."""
        answer = await self.send(
            "GET",
            f"{self.reporting()}/rekap",
            params={"instansi": instansi, "year": year, "group_by": "kind,status,channel"},
            headers=headers or {},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def walk(
        self, cases: list[DayCase], concurrency: int
    ) -> tuple[dict[str, DayCase], dict[str, str]]:
        """The day: submit every case, then move and walk each. Each tracking code's case (in
        the cases' order), and its case id."""
        codes = await limited(concurrency, (self.submit(case) for case in cases))
        ids = await self.case_ids(codes)
        case_of = dict(zip(codes, cases, strict=True))
        await limited(concurrency, (self.run(case_of[c], ids[c]) for c in codes))
        return case_of, ids

    async def projected(
        self, expected: dict[str, Counter[tuple[str, str, str]]], year: int
    ) -> bool:
        """Whether the province's rekap (its total, each agency's count and the rows) equals
        the script's counts: every walk's last event is in the read model."""
        total = sum(sum(counts.values()) for counts in expected.values())
        summed = sum(expected.values(), Counter[tuple[str, str, str]]())
        wanted = {agency: sum(c.values()) for agency, c in expected.items()}
        whole = await self.rekap(PROVINCE, year, self.tokens.coordinator)
        each = {line["agency"]: line["count"] for line in whole["agencies"] if line["count"]}
        return whole["total"] == total and each == wanted and counted(whole) == summed

    async def each_agencys_rekap(
        self,
        agencies: list[str],
        expected: dict[str, Counter[tuple[str, str, str]]],
        year: int,
        concurrency: int,
    ) -> None:
        """Every agency's public rekap equals the script's counts of the cases that end in it;
        the province's is their sum and the coordinator's queue."""

        async def one(agency: str) -> None:
            rekap = await self.rekap(agency, year)
            assert rekap["agency"] == agency
            assert counted(rekap) == expected.get(agency, Counter()), agency
            assert rekap["total"] == sum(expected.get(agency, Counter()).values()), agency

        await limited(concurrency, (one(agency) for agency in agencies))
        whole = await self.rekap(PROVINCE, year, self.tokens.coordinator)
        assert whole["total"] == sum(sum(c.values()) for c in expected.values())
        queued = sum(expected.get(PROVINCE, Counter()).values())
        assert whole["total"] - queued == sum(
            line["count"] for line in whole["agencies"] if line["agency"] != PROVINCE
        )

"""Acceptance 1 of issue 12: with PostgreSQL stopped or frozen, and RabbitMQ stopped or frozen,
for FAULT_SECONDS each, the whole system (intake, workflow, reporting and the gateway, as
processes on private servers) answers every endpoint within 2 s: 503 problem+json with
Retry-After where it needs the server, the last good copy (marked) for public reads; readiness
answers within 2 s and turns false within a few seconds for the services that need the server;
and once the server is back, every acknowledged submission is in the rekap exactly once.

One system serves the four faults in turn (each test undoes its fault and waits for recovery).
A failure lists every endpoint that broke the rule, not only the first."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from services.workflow.issuer import Issuer
from shared.settings import SERVICES, Settings
from shared.sop import Role
from tests.faults.endpoints import (
    ANSWER_WITHIN,
    GIVE_UP_AFTER,
    Answer,
    Endpoint,
    Known,
    endpoints,
    judge,
    judge_healthy,
    send,
)
from tests.infrastructure import create_isolated
from tests.intake.conftest import signing_key
from tests.polling import eventually
from tests.servers import (
    PrivatePostgres,
    PrivateRabbitMQ,
    PrivateRedis,
    PrivateServer,
    settings_for,
)
from tests.system import System, with_free_ports

pytestmark = [pytest.mark.fault, pytest.mark.asyncio(loop_scope="module")]

FAULT_SECONDS = float(os.environ.get("ADUAN_FAULT_SECONDS", "90"))
"""How long each server stays away: longer than AMQP's 60 s heartbeat (shorter only to try a
fix quickly: ADUAN_FAULT_SECONDS=20)."""
READY_WITHIN = 5.0
"""Readiness turns false within this after the server went away."""
RECOVER_WITHIN = 60.0
"""Every service is ready again within this after the server is back."""
COUNTED_WITHIN = 90.0
"""Every stored submission is in the rekap within this after recovery."""
SUBMIT_EVERY = 1.0
PROBE_CONCURRENCY = 6
NEEDS: dict[str, frozenset[str]] = {
    "postgres": frozenset(SERVICES),
    # Reporting's consumer is how every figure is fed; intake's outbox waits, and workflow's
    # officers keep working while its consumer waits to catch up.
    "rabbitmq": frozenset({"reporting"}),
}
"""Which services really need each server, so report themselves not ready without it."""
WATCHED = (*SERVICES, "gateway")
REPORTS = Path(__file__).resolve().parents[2] / "artifacts" / "faults"
"""Each fault's failures (<fault>.txt) and the answers when all was well (<fault>-healthy.txt)."""


@dataclass(frozen=True)
class Fault:
    """A server going away, one way."""

    server: str  # "postgres" | "rabbitmq"
    how: str  # "stopped" | "frozen"

    def __str__(self) -> str:
        return f"{self.server}-{self.how}"

    def begin(self, server: PrivateServer) -> None:
        """Take the server away (blocking: a clean stop takes seconds)."""
        server.stop() if self.how == "stopped" else server.freeze()

    def end(self, server: PrivateServer) -> None:
        """Bring it back."""
        server.start() if self.how == "stopped" else server.thaw()


FAULTS = [Fault(s, h) for s in ("postgres", "rabbitmq") for h in ("stopped", "frozen")]


@dataclass
class World:
    """The private servers, the running system, and what was submitted to it."""

    servers: dict[str, PrivateServer]
    settings: Settings
    system: System
    token: str
    known: Known
    endpoints: list[Endpoint]
    acknowledged: dict[str, str] = field(default_factory=dict)  # tracking code -> phase
    refused: Counter[str] = field(default_factory=Counter)  # phase -> answers other than 201
    unknown: Counter[str] = field(default_factory=Counter)  # phase -> no answer at all

    async def submit(self, http: httpx.AsyncClient, phase: str) -> None:
        """One public complaint; its outcome counted under `phase`."""
        form = {"text": f"Pengaduan uji gangguan ({phase}): antrean loket terlalu lama."}
        url = f"{self.system.url('intake')}/intake/v1/complaints"
        try:
            answer = await http.post(url, json=form, timeout=10)
        except httpx.TransportError:
            self.unknown[phase] += 1
            return
        if answer.status_code == 201:
            self.acknowledged[answer.json()["tracking_code"]] = phase
        else:
            self.refused[phase] += 1

    async def probe(
        self, http: httpx.AsyncClient, serial: frozenset[str] | None = None
    ) -> dict[str, Answer]:
        """Every endpoint once, PROBE_CONCURRENCY at a time. Requests about one thing (the known
        case, account or day) go one after another when they are in `serial` (all of them when
        it is None), so that writes never race each other into a conflict."""
        gate = asyncio.Semaphore(PROBE_CONCURRENCY)
        answers: dict[str, Answer] = {}

        async def chain(group: list[Endpoint]) -> None:
            for endpoint in group:
                async with gate:
                    answers[endpoint.name] = await send(http, endpoint, self.token)

        await asyncio.gather(*(chain(group) for group in self.groups(serial)))
        return answers

    def groups(self, serial: frozenset[str] | None) -> list[list[Endpoint]]:
        """The endpoints in chains: one per thing for those in `serial`, alone otherwise."""
        things = (self.known.case_id, self.known.username, f"{self.known.year + 1}-01-02")
        grouped: dict[str, list[Endpoint]] = {}
        for endpoint in self.endpoints:
            key = next((thing for thing in things if thing in endpoint.url), endpoint.url)
            if serial is not None and endpoint.name not in serial:
                key = endpoint.name
            grouped.setdefault(key, []).append(endpoint)
        return list(grouped.values())

    async def readiness(self, http: httpx.AsyncClient) -> dict[str, Answer]:
        """Each service's /readyz (and the gateway's)."""

        async def one(service: str) -> tuple[str, Answer]:
            url = self.system.url(service) + "/readyz"
            return service, await send(http, Endpoint(service, "GET", url, token=False), "")

        return dict(await asyncio.gather(*(one(s) for s in WATCHED)))

    async def all_ready(self, http: httpx.AsyncClient, within: float) -> bool:
        """Whether every service reports itself ready within `within` seconds."""

        async def ready() -> bool:
            answers = await self.readiness(http)
            return all(a.status == 200 for a in answers.values())

        try:
            await eventually(ready, within=within, interval=0.2)
        except AssertionError:
            return False
        return True


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """Private servers, the system on them, a known case and account, every endpoint."""
    postgres, rabbitmq, redis = PrivatePostgres(), PrivateRabbitMQ(), PrivateRedis()
    servers: dict[str, PrivateServer] = {"postgres": postgres, "rabbitmq": rabbitmq, "redis": redis}
    logs = tmp_path_factory.mktemp("faults")
    system: System | None = None
    try:
        await asyncio.gather(*(asyncio.to_thread(s.start) for s in servers.values()))
        for name, server in servers.items():
            print(f"private {name} started in {server.start_seconds:.2f} s")
        base = settings_for(postgres, rabbitmq, redis)
        key = signing_key()
        settings = with_free_ports(await create_isolated(base)).model_copy(
            update={
                "auth_signing_key": SecretStr(key),
                "rate_ip_per_minute": 1_000_000,
                "rate_sender_per_minute": 1_000_000,
            }
        )
        system = System(settings, logs)
        began = time.monotonic()
        await asyncio.gather(*(system.start(s) for s in WATCHED))
        print(f"system started in {time.monotonic() - began:.2f} s; logs in {logs}")
        token = Issuer(settings, key).mint(subject="uji-gangguan", name="Uji", roles=list(Role))
        known = await _known(system, token)
        async with httpx.AsyncClient(timeout=10) as http:
            specs = {
                s: (await http.get(f"{system.url(s)}/{s}/openapi.json")).json() for s in SERVICES
            }
        urls = {s: system.url(s) for s in WATCHED}
        world = World(servers, system.settings, system, token, known, endpoints(specs, urls, known))
        world.acknowledged[known.tracking_code] = "setup"
        yield world
    finally:
        if system is not None:
            for service in list(system.processes):
                await system.stop(service)
        for server in servers.values():
            server.remove()


async def _known(system: System, token: str) -> Known:
    """A case (submitted, opened by workflow, known to reporting) and an account."""
    officer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=10) as http:
        form = {"text": "Pengaduan contoh untuk uji gangguan server."}
        answer = await http.post(f"{system.url('intake')}/intake/v1/complaints", json=form)
        assert answer.status_code == 201, answer.text
        code = answer.json()["tracking_code"]

        async def case_id() -> str | None:
            url = f"{system.url('reporting')}/reporting/v1/cases"
            rows = (await http.get(url, params={"code": code}, headers=officer)).json()
            return rows[0]["case_id"] if isinstance(rows, list) and rows else None

        found = await eventually(case_id, within=30, interval=0.2)
        assert found is not None

        async def opened() -> bool:
            url = f"{system.url('workflow')}/workflow/v1/cases/{found}"
            return (await http.get(url, headers=officer)).status_code == 200

        await eventually(opened, within=30, interval=0.2)
        # Another officer's account than the token's (the probes change it: a change ends the
        # tokens of the account it changes, shared/auth.py)
        username = "uji-petugas"
        account = {
            "username": username,
            "name": "Petugas Uji",
            "roles": ["tim_pengaduan"],
            "password": "kata-sandi-yang-panjang-sekali",
        }
        url = f"{system.url('workflow')}/workflow/v1/accounts"
        answer = await http.post(url, json=account, headers=officer)
        assert answer.status_code in (200, 201), answer.text
    return Known(case_id=found, tracking_code=code, username=username)


@pytest.mark.parametrize("fault", FAULTS, ids=str)
async def test_every_endpoint_answers_within_2_s_and_nothing_is_lost(
    world: World, fault: Fault
) -> None:
    failures: list[str] = []
    # A fresh connection for every request: a service that drops one connection after an
    # error must not make the next endpoint's request fail in its place.
    async with httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0)) as http:
        assert await world.all_ready(http, RECOVER_WITHIN), "not ready before the fault"
        for _ in range(3):
            await world.submit(http, f"before {fault}")
        # Twice: what the first round's writes create (an account, a recap) exists from then on,
        # so the second is what every endpoint answers during the fault when all goes well,
        # whichever fault runs first.
        first = await world.probe(http)
        healthy = await world.probe(http)
        writes = frozenset(
            name
            for round_ in (first, healthy)
            for name, answer in round_.items()
            if answer.status is not None and answer.status < 300 and " GET " not in name
        )
        REPORTS.mkdir(parents=True, exist_ok=True)
        (REPORTS / f"{fault}-healthy.txt").write_text(
            "".join(f"{name}: {answer.describe()}\n" for name, answer in healthy.items())
        )
        failures += [
            f"all well: {name}: {why}"
            for round_ in (first, healthy)
            for name, answer in round_.items()
            if (why := judge_healthy(answer))
        ]
        server = world.servers[fault.server]
        await asyncio.to_thread(fault.begin, server)
        try:
            rounds, readiness, waiting = await _during(world, http, fault, writes)
        finally:
            await asyncio.to_thread(fault.end, server)
        if waiting:  # submissions held by the frozen server get their answers now
            await asyncio.wait(waiting, timeout=15)
        (REPORTS / f"{fault}-slowest.txt").write_text(_slowest(rounds))
        failures += _endpoint_failures(world, fault, healthy, rounds)
        failures += _readiness_failures(fault, readiness)
        if not await world.all_ready(http, RECOVER_WITHIN):
            answers = await world.readiness(http)
            failures.append(
                f"not ready {RECOVER_WITHIN:g} s after {fault.server} came back: "
                + ", ".join(f"{s}: {a.describe()}" for s, a in answers.items() if a.status != 200)
            )
        for _ in range(3):
            await world.submit(http, f"after {fault}")
        failures += await _counting_failures(world, http)
    phases = [f"{phase} {fault}" for phase in ("before", "during", "after")]
    outcomes = [
        f"{phase}: {sum(1 for p in world.acknowledged.values() if p == phase)} acknowledged, "
        f"{world.refused[phase]} refused, {world.unknown[phase]} unanswered"
        for phase in phases
    ]
    summary = f"{fault}: {'; '.join(outcomes)} ({len(world.acknowledged)} acknowledged in all)"
    print(summary)
    (REPORTS / f"{fault}.txt").write_text("\n".join([summary, *failures, ""]))
    assert not failures, "\n".join([f"{summary}; {len(failures)} failures:", *failures])


Rounds = list[tuple[float, dict[str, Answer]]]
Samples = list[tuple[float, dict[str, Answer]]]


async def _during(
    world: World, http: httpx.AsyncClient, fault: Fault, writes: frozenset[str]
) -> tuple[Rounds, Samples, set[asyncio.Task[None]]]:
    """Hold the fault at least FAULT_SECONDS: submit every SUBMIT_EVERY, watch readiness, and
    probe every endpoint round after round (`writes`, the endpoints that changed something when
    all was well, one after another for each thing they change). The probe rounds and the
    readiness samples, timed from the fault's start, and the submissions still unanswered."""
    began = time.monotonic()
    over = asyncio.Event()
    rounds: Rounds = []
    samples: Samples = []
    submissions: set[asyncio.Task[None]] = set()

    async def every(seconds: float) -> bool:
        """Wait `seconds`; whether the fault is still on."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(over.wait(), seconds)
        return not over.is_set()

    async def submitting() -> None:
        while True:
            task = asyncio.create_task(world.submit(http, f"during {fault}"))
            submissions.add(task)
            task.add_done_callback(submissions.discard)
            if not await every(SUBMIT_EVERY):
                return

    async def watching() -> None:
        while True:
            at = time.monotonic() - began
            samples.append((at, await world.readiness(http)))
            if not await every(0.5):
                return

    background = [asyncio.create_task(submitting()), asyncio.create_task(watching())]
    try:
        # Rounds back to back from the first second to the end of the fault; the fault is held
        # until the last round has its answers (longer than FAULT_SECONDS only while endpoints
        # are slow to answer).
        while time.monotonic() - began < FAULT_SECONDS - GIVE_UP_AFTER:
            rounds.append((time.monotonic() - began, await world.probe(http, writes)))
        await every(max(0.0, FAULT_SECONDS - (time.monotonic() - began)))  # the scenario
        over.set()
        await asyncio.gather(*background)
    finally:
        over.set()
        for task in background:
            task.cancel()
    return rounds, samples, set(submissions)


def _slowest(rounds: Rounds) -> str:
    """Each endpoint's slowest answer during the fault, slowest first: how close each came to
    the 2 s promise (a report for a failure that passed the rule by little)."""
    worst: dict[str, tuple[float, Answer]] = {}
    for at, answers in rounds:
        for name, answer in answers.items():
            if name not in worst or answer.seconds > worst[name][1].seconds:
                worst[name] = (at, answer)
    ordered = sorted(worst.items(), key=lambda item: -item[1][1].seconds)
    return "".join(f"{name}: {a.describe()} (at +{at:.0f} s)\n" for name, (at, a) in ordered)


def _endpoint_failures(
    world: World, fault: Fault, healthy: dict[str, Answer], rounds: Rounds
) -> list[str]:
    """One line per endpoint that broke the rule in any round: the first way it did."""
    store_away = fault.server == "postgres"
    lines = []
    for endpoint in world.endpoints:
        broken = [
            (at, why)
            for at, answers in rounds
            if (
                why := judge(
                    endpoint, answers[endpoint.name], healthy.get(endpoint.name), store_away
                )
            )
        ]
        if broken:
            at, why = broken[0]
            lines.append(
                f"{endpoint.name}: {why} (at +{at:.0f} s; {len(broken)} of {len(rounds)} rounds)"
            )
    return lines


def _readiness_failures(fault: Fault, samples: Samples) -> list[str]:
    """/readyz answered within 2 s throughout; false from READY_WITHIN on for the services that
    need the server, true throughout for the others."""
    lines = []
    for service in WATCHED:
        slow = [
            (at, a)
            for at, answers in samples
            if (a := answers[service]).status is None or a.seconds > ANSWER_WITHIN
        ]
        if slow:
            at, answer = slow[0]
            lines.append(
                f"readiness {service}: /readyz {answer.describe()} (at +{at:.0f} s; "
                f"{len(slow)} of {len(samples)} samples)"
            )
            continue
        statuses = [(at, s[service].status) for at, s in samples]
        if service in NEEDS[fault.server]:
            late = [at for at, status in statuses if at >= READY_WITHIN and status == 200]
            if late:
                first_false = next((at for at, status in statuses if status != 200), None)
                when = f"first not ready at +{first_false:.0f} s" if first_false else "never"
                lines.append(
                    f"readiness {service}: still ready {READY_WITHIN:g} s after {fault} "
                    f"({when}; ready in {len(late)} samples after +{READY_WITHIN:g} s)"
                )
        else:
            down = [(at, status) for at, status in statuses if status != 200]
            if down:
                lines.append(
                    f"readiness {service}: not ready during {fault} though it does not need "
                    f"{fault.server} (first at +{down[0][0]:.0f} s: {down[0][1]})"
                )
    return lines


async def _counting_failures(world: World, http: httpx.AsyncClient) -> list[str]:
    """Every acknowledged submission stored by intake; everything intake stored counted by
    reporting once: its case summary holds exactly intake's tracking codes, and the rekap's
    total is their number."""
    conn = await asyncpg.connect(world.settings.postgres_dsn())
    rekap_url = f"{world.system.url('reporting')}/reporting/v1/rekap"
    state: dict[str, Any] = {}
    try:

        async def settled() -> bool:
            stored = {
                r[0] for r in await conn.fetch("SELECT tracking_code FROM intake.submission_index")
            }
            summary = Counter(
                r[0] for r in await conn.fetch("SELECT tracking_code FROM reporting.case_summary")
            )
            answer = await http.get(rekap_url, params={"year": world.known.year}, timeout=5)
            total = answer.json().get("total") if answer.status_code == 200 else None
            state.update(stored=stored, summary=summary, total=total)
            return set(summary) == stored and total == len(stored)

        with contextlib.suppress(AssertionError):
            await eventually(settled, within=COUNTED_WITHIN, interval=0.5)
    finally:
        await conn.close()
    stored, summary, total = state["stored"], state["summary"], state["total"]
    lines = []
    lost = set(world.acknowledged) - stored
    if lost:
        lines.append(f"counting: {len(lost)} acknowledged submissions not stored by intake")
    missing = stored - set(summary)
    if missing:
        lines.append(f"counting: {len(missing)} stored submissions not in reporting's cases")
    twice = [code for code, n in summary.items() if n > 1]
    if twice:
        lines.append(f"counting: {len(twice)} tracking codes counted more than once")
    if total != len(stored):
        lines.append(f"counting: rekap total {total}, but intake stored {len(stored)}")
    return lines

"""Acceptance: the access policy as a matrix. Every role (and no token) × every read surface ×
a normal, an anonymous and a confidential case (and a confidential one at kabid's step) gets
only what shared/access.py allows. One running system (the three services as processes) for
the whole module; each cell is a test, its expectation derived from the table.

The complaint, the officer's note and the answer carry personal data typed into them (a NIK,
phones, an e-mail, names): each surface shows them as `readable` says for the role (clear with
the identity, the found items listed in `pii`; masked otherwise), the public answer masked for
everyone (it is public), and a full NIK never reaches a reader without the identity."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from openpyxl import load_workbook
from pydantic import SecretStr

from services.workflow.issuer import Issuer
from shared import pii
from shared.access import PUBLIC, Facet, Privacy, readable, step_of, visible
from shared.events import seal
from shared.events.workflow import ResolvedDirectly
from shared.settings import Settings
from shared.sop import OFFICE_ROLES, PROVINCE, PROVINCE_ROLES, Role, sop_for
from tests.bus import park
from tests.infrastructure import base_settings, create_isolated, destroy_isolated
from tests.intake.conftest import signing_key
from tests.system import processes, with_free_ports

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
CONTACT = {"name": "Siti Aminah", "phone": "0812-3456-7890", "email": "siti@example.id"}
STAFF = OFFICE_ROLES | {Role.ANALIS}
SUBSCRIBERS = frozenset(Role) - {Role.PEMOHON}  # who may open the live stream at all
SENTINEL = "aduan.CaseOpened.v1"  # of the last, normal case: every subscriber sees it
NIK = "3578015508950002"  # typed into every complaint; its last four digits stay readable
TYPED = f" Nama saya Siti Aminah, NIK {NIK}, HP 0812-3456-7890, email siti@example.id."


@dataclass
class Case:
    """One case of the matrix, as the setup left it."""

    name: str
    privacy: Privacy
    text: str
    case_id: str = ""
    tracking_code: str = ""
    answer: str | None = None
    note: str = ""
    kind: str = "complaint"
    current_step: str | None = None
    intake_attachment: str = ""
    workflow_attachment: str = ""

    def facets(self, role: Role | None) -> frozenset[Facet]:
        """What the table lets this role (None: no token) see of this case now."""
        version = sop_for(self.kind).version
        step = step_of(self.kind, version, self.current_step)
        return visible([role] if role else None, self.privacy, step)


@dataclass
class World:
    """The running services, the cases, and what was already fetched (one fetch per list)."""

    settings: Settings
    cases: dict[str, Case]
    last: Case = field(default_factory=lambda: Case("last", Privacy.NORMAL, "Kasus penutup."))
    cache: dict[tuple[str, str], Any] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.settings.port(service)}"

    def headers(self, role: Role | None) -> dict[str, str]:
        if role is None:
            return {}
        issuer = Issuer(self.settings, self.settings.auth_signing_key.get_secret_value())
        # the coordinator's role is held in the province's membership, reaching every agency
        agency = PROVINCE if role in PROVINCE_ROLES else None
        token = issuer.mint(subject=f"{role.value}-matrix", name="Uji", roles=[role], agency=agency)
        return {"Authorization": f"Bearer {token}"}

    def get(self, service: str, path: str, role: Role | None, **kwargs: Any) -> httpx.Response:
        headers = self.headers(role) | kwargs.pop("headers", {})
        return httpx.get(f"{self.url(service)}{path}", headers=headers, timeout=20, **kwargs)

    def once(self, key: tuple[str, str], fetch: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = fetch()
        return self.cache[key]


def _until(probe: Callable[[], Any], within: float = 20) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {within} s: {probe}")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The three services as processes, with the matrix's cases in every state they need."""
    isolated = asyncio.run(create_isolated(base_settings()))
    settings = with_free_ports(isolated).model_copy(
        update={"auth_signing_key": SecretStr(signing_key())}
    )
    logs = tmp_path_factory.mktemp("logs")
    try:
        with processes(settings, logs):
            world = World(settings, _cases())
            _build(world)
            yield world
    finally:
        asyncio.run(destroy_isolated(settings))


def _cases() -> dict[str, Case]:
    text = "Petugas loket meminta uang pelicin {} agar izin saya diproses." + TYPED
    return {
        name: Case(
            name, privacy, text.format(name), note=f"Menelepon pelapor di 0812-3456-7890 ({name})."
        )
        for name, privacy in (
            ("normal", Privacy.NORMAL),
            ("anonymous", Privacy.ANONYMOUS),
            ("confidential", Privacy.CONFIDENTIAL),
            ("confidential_at_kabid", Privacy.CONFIDENTIAL),
        )
    }


def _build(world: World) -> None:
    for case in world.cases.values():
        _submit(world, case)
    for case in world.cases.values():
        _work(world, case)
    _sentinel(world)
    asyncio.run(park(world.settings, _parked(world), "reporting"))


def _submit(world: World, case: Case) -> None:
    form: dict[str, Any] = {"text": case.text, "category": "perizinan_berusaha"}
    if case.privacy is Privacy.ANONYMOUS:
        form["anonymous"] = True
    else:
        form |= {"contact": CONTACT, "consent": True}
        form["confidential"] = case.privacy is Privacy.CONFIDENTIAL
    answer = httpx.post(
        f"{world.url('intake')}/intake/v1/forms/complaints",
        data={"form": json.dumps(form)},
        files=[("files", ("bukti.png", PNG, "image/png"))],
        timeout=20,
    )
    assert answer.status_code == 201, answer.text
    case.tracking_code = answer.json()["tracking_code"]

    def found() -> Any:
        code = case.tracking_code
        rows = world.get("reporting", f"/reporting/v1/cases?code={code}", Role.ADMIN).json()
        return rows[0]["case_id"] if isinstance(rows, list) and rows else None

    case.case_id = str(UUID(_until(found)))
    submission = world.get("intake", f"/intake/v1/submissions/{case.case_id}", Role.ADMIN)
    case.intake_attachment = submission.json()["attachments"][0]["id"]


def _view(world: World, case: Case) -> Any:
    path = f"/workflow/v1/cases/{case.case_id}"
    answer = _until(lambda: (a := world.get("workflow", path, Role.ADMIN)).is_success and a)
    return answer.json()


def _act(world: World, case: Case, path: str, **body: Any) -> Any:
    versioned = {"version": _view(world, case)["version"]} if "/" in path else {}
    answer = httpx.post(
        f"{world.url('workflow')}/workflow/v1/cases/{case.case_id}/{path}",
        json=versioned | body,
        headers=world.headers(Role.TIM_PENGADUAN),
        timeout=20,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _work(world: World, case: Case) -> None:
    _view(world, case)
    uploaded = httpx.post(
        f"{world.url('workflow')}/workflow/v1/cases/{case.case_id}/attachments",
        files={"file": ("bap.png", PNG, "image/png")},
        headers=world.headers(Role.TIM_PENGADUAN),
        timeout=20,
    )
    assert uploaded.status_code == 200, uploaded.text
    [added] = [e for e in uploaded.json()["timeline"] if e["event"] == "AttachmentAdded"]
    case.workflow_attachment = added["details"]["attachment_id"]
    _act(world, case, "notes", text=case.note)
    if case.name == "confidential_at_kabid":
        view = _act(world, case, "identification/escalate", note="Perlu keputusan pimpinan.")
    else:
        case.answer = (
            f"Jawaban kantor untuk kasus {case.name}: petugas sudah ditegur. "
            "Hubungi Bapak Joko Santoso di (031) 3951234 atau NIK Anda 3578015508950002."
        )
        view = _act(world, case, "identification/resolve", answer=case.answer)
    case.current_step = view["current_step"]

    def projected() -> bool:
        code = case.tracking_code
        rows = world.get("reporting", f"/reporting/v1/cases?code={code}", Role.ADMIN).json()
        return bool(rows) and rows[0]["current_step"] == case.current_step

    _until(projected)


def _sentinel(world: World) -> None:
    """A last normal case, opened after every other case's events were streamed."""
    _submit(world, world.last)
    _view(world, world.last)


def _parked(world: World) -> Any:
    """A copy of the confidential case's answer event, as if it had failed in reporting."""
    case = world.cases["confidential"]
    data = ResolvedDirectly(
        case_id=UUID(case.case_id),
        at=datetime.now(UTC),
        step="identification",
        by_role=Role.TIM_PENGADUAN,
        working_minutes=1.0,
        within_standard=True,
        public_answer=case.answer,
    )
    now = datetime.now(UTC)
    return seal(
        data, subject=UUID(case.case_id), version=99, time=now, agency=world.settings.agency
    )


# ---- the surfaces: each checks one cell against the table ------------------------------------


def _intake_submission(world: World, role: Role | None, case: Case) -> None:
    answer = world.get("intake", f"/intake/v1/submissions/{case.case_id}", role)
    facets = case.facets(role)
    if role is None:
        assert answer.status_code == 401
    elif Facet.STATUS not in facets:
        assert answer.status_code == 404, answer.text
    elif Facet.TEXT not in facets:
        assert answer.status_code == 403, answer.text
    else:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["text"] == readable(case.text, facets)
        _marked(body["text"], body["pii"], facets)
        contact = body["contact"]
        if case.privacy is Privacy.ANONYMOUS:
            assert contact is None
        elif Facet.IDENTITY in facets:
            assert contact["name"] == CONTACT["name"]
        else:
            assert contact == "disembunyikan"
        assert bool(body["attachments"]) is (Facet.ATTACHMENTS in facets)


def _marked(text: str, spans: list[dict[str, Any]], facets: frozenset[Facet]) -> None:
    """Clear text lists its personal data to highlight; masked text keeps 4 digits of a NIK."""
    if Facet.IDENTITY in facets:
        assert NIK in text
        assert {"nik", "phone", "name"} <= {span["kind"] for span in spans}
        assert all(text[s["start"] : s["end"]] for s in spans)
    else:
        assert spans == []
        assert NIK not in text
        assert "[NIK ****0002]" in text or NIK[-4:] not in text


def _intake_attachment(world: World, role: Role | None, case: Case) -> None:
    path = f"/intake/v1/submissions/{case.case_id}/attachments/{case.intake_attachment}"
    answer = world.get("intake", path, role)
    _file(answer, role, case.facets(role))


def _file(answer: httpx.Response, role: Role | None, facets: frozenset[Facet]) -> None:
    if role is None:
        assert answer.status_code == 401
    elif Facet.ATTACHMENTS in facets:
        assert answer.status_code == 200, answer.text
        assert answer.content == PNG
    elif Facet.STATUS not in facets:
        assert answer.status_code == 404, answer.text
    else:
        assert answer.status_code in (403, 404), answer.text
    assert PNG not in answer.content or Facet.ATTACHMENTS in facets


def _workflow_case(world: World, role: Role | None, case: Case) -> None:
    answer = world.get("workflow", f"/workflow/v1/cases/{case.case_id}", role)
    facets = case.facets(role)
    if role is None:
        assert answer.status_code == 401
    elif role not in OFFICE_ROLES:  # the case view serves the roles that work on cases
        assert answer.status_code == 403, answer.text
    elif Facet.STATUS not in facets:
        assert answer.status_code == 404, answer.text
    else:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["tracking_code"] == case.tracking_code
        shown = case.answer is not None and Facet.ANSWER in facets
        assert body["answer"] == (readable(case.answer, facets) if shown and case.answer else None)
        if shown:
            _marked(body["answer"], body["answer_pii"], facets)
        assert bool(body["timeline"]) is (Facet.TIMELINE in facets)
        notes = [e for e in body["timeline"] if e["event"] == "NoteAdded"]
        if Facet.TIMELINE in facets:
            [note] = notes
            assert note["details"]["text"] == readable(case.note, facets)
            assert bool(note["pii"]) is (Facet.IDENTITY in facets)
    if case.answer and Facet.ANSWER not in facets:
        assert case.answer not in answer.text
    if Facet.IDENTITY not in facets:
        assert NIK not in answer.text
        assert "0812-3456-7890" not in answer.text


def _workflow_attachment(world: World, role: Role | None, case: Case) -> None:
    path = f"/workflow/v1/cases/{case.case_id}/attachments/{case.workflow_attachment}"
    answer = world.get("workflow", path, role)
    if role is not None and role not in OFFICE_ROLES:
        assert answer.status_code == 403, answer.text
    else:
        _file(answer, role, case.facets(role))


def _search(world: World, role: Role | None, case: Case) -> None:
    answer = world.once(
        ("search", str(role)), lambda: world.get("reporting", "/reporting/v1/cases", role)
    )
    facets = case.facets(role)
    if role is None:
        assert answer.status_code == 401
        return
    if role not in STAFF:
        assert answer.status_code == 403, answer.text
        return
    assert answer.status_code == 200, answer.text
    rows = [row for row in answer.json() if row["case_id"] == case.case_id]
    assert len(rows) == (1 if Facet.STATUS in facets else 0)
    if rows and case.answer:
        shown = Facet.ANSWER in facets
        assert rows[0].get("public_answer") == (pii.mask(case.answer) if shown else None)
    for row in rows:  # the excerpt of the text: for TEXT only, clear only with IDENTITY
        excerpt = row.get("excerpt")
        assert (excerpt is not None) == (Facet.TEXT in facets), row
        assert (excerpt is not None and NIK in excerpt) == (Facet.IDENTITY in facets), row
        assert NIK not in (row.get("public_answer") or "")  # masked before it leaves workflow


def _table(world: World, role: Role | None, fmt: str) -> tuple[int, list[list[str]]]:
    answer = world.get("reporting", f"/reporting/v1/cases.{fmt}", role)
    if answer.status_code != 200:
        return answer.status_code, []
    if fmt == "csv":
        return 200, list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    cells = sheet.iter_rows(values_only=True)
    return 200, [["" if v is None else str(v) for v in row] for row in cells]


def _export(fmt: str) -> Callable[[World, Role | None, Case], None]:
    def check(world: World, role: Role | None, case: Case) -> None:
        status, rows = world.once((fmt, str(role)), lambda: _table(world, role, fmt))
        facets = case.facets(role)
        if role is None:
            assert status == 401
            return
        if role not in STAFF:
            assert status == 403
            return
        assert status == 200
        text = "\n".join("\t".join(row) for row in rows)
        assert (case.tracking_code in text) is (Facet.STATUS in facets)
        if case.answer:
            assert (pii.mask(case.answer) in text) is (Facet.ANSWER in facets)
        assert NIK not in text

    return check


def _worklist(world: World, role: Role | None, case: Case) -> None:
    if role is None:
        assert world.get("reporting", "/reporting/v1/worklist?role=kabid", None).status_code == 401
        return
    answer = world.once(
        ("worklist", role.value),
        lambda: world.get("reporting", f"/reporting/v1/worklist?role={role.value}", role),
    )
    assert answer.status_code == 200, answer.text
    listed = case.case_id in {item["case_id"] for item in answer.json()}
    step = step_of(case.kind, sop_for(case.kind).version, case.current_step)
    acting = step is not None and step.allows(role)
    assert listed is (acting and Facet.STATUS in case.facets(role))


def _track(world: World, role: Role | None, case: Case) -> None:
    answer = world.get("reporting", f"/reporting/v1/track/{case.tracking_code}", None)
    facets = case.facets(None)  # tracking is the public's: a token changes nothing
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["kind"] is not None) is (Facet.CASE in facets)
    if case.answer:
        assert (body["answer"] == pii.mask(case.answer)) is (Facet.ANSWER in facets)
    assert NIK not in answer.text


def _open311(world: World, role: Role | None, case: Case) -> None:
    path = f"/open311/v2/requests/{case.tracking_code}.json"
    answer = world.get("reporting", path, None)
    facets = case.facets(None)  # Open311 is the public's tracking: a token changes nothing
    assert answer.status_code == 200, answer.text
    [request] = answer.json()
    assert ("service_code" in request) is (Facet.CASE in facets)
    if case.answer:  # the public reads the answer with its personal data masked
        shown = pii.mask(case.answer) in (request.get("status_notes") or "")
        assert shown is (Facet.ANSWER in facets)
        assert NIK not in json.dumps(request)


def _stream(world: World, role: Role | None) -> tuple[int, list[dict[str, Any]]]:
    last = world.last.case_id
    url = f"{world.url('reporting')}/reporting/v1/operations/events"
    headers = world.headers(role) | {"Last-Event-ID": "0-0"}
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30  # a ping comes every 15 s at the latest
    with httpx.stream("GET", url, headers=headers, timeout=20) as answer:
        if answer.status_code != 200:
            return answer.status_code, []
        for line in answer.iter_lines():
            assert time.monotonic() < deadline, f"no sentinel event after {events}"
            if line.startswith("data:"):
                event = json.loads(line.removeprefix("data:").strip())
                if (event["type"], event["data"].get("case_id")) == (SENTINEL, last):
                    return 200, events
                events.append(event)
    raise AssertionError("the stream ended before the sentinel event")


def _live(world: World, role: Role | None, case: Case) -> None:
    status, events = world.once(("sse", str(role)), lambda: _stream(world, role))
    facets = case.facets(role)
    if role is None:
        assert status == 401
        return
    if role not in SUBSCRIBERS:
        assert status == 403
        return
    assert status == 200
    mine = [e["data"] for e in events if e["data"].get("case_id") == case.case_id]
    assert bool(mine) is (Facet.STATUS in facets)
    answers = {e.get("public_answer") for e in mine} - {None}
    if mine and case.answer:
        assert answers == ({pii.mask(case.answer)} if Facet.ANSWER in facets else set())
    assert NIK not in json.dumps(events)


def _dead_letters(world: World, role: Role | None, case: Case) -> None:
    answer = world.once(
        ("dead", str(role)),
        lambda: world.get("reporting", "/reporting/v1/operations/dead-letters", role),
    )
    if role is None:
        assert answer.status_code == 401
        return
    if role is not Role.ADMIN:  # operating the bus is the administrator's
        assert answer.status_code == 403, answer.text
        return
    assert answer.status_code == 200, answer.text
    bodies = [letter["body"] for letter in answer.json()]
    if case.name == "confidential":  # the parked copy of its answer event
        [body] = bodies
        facets = case.facets(role)
        shown = Facet.ANSWER in facets
        assert (readable(str(case.answer), facets) in body) is shown


SURFACES: dict[str, Callable[[World, Role | None, Case], None]] = {
    "intake-submission": _intake_submission,
    "intake-attachment": _intake_attachment,
    "workflow-case": _workflow_case,
    "workflow-attachment": _workflow_attachment,
    "reporting-search": _search,
    "reporting-csv": _export("csv"),
    "reporting-xlsx": _export("xlsx"),
    "reporting-worklist": _worklist,
    "reporting-track": _track,
    "reporting-open311": _open311,
    "reporting-live": _live,
    "reporting-dead-letters": _dead_letters,
}
ROLES: list[Role | None] = [None, *Role]
CASES = list(_cases())


@pytest.mark.parametrize("case_name", CASES)
@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.value if role else "no-token")
@pytest.mark.parametrize("surface", list(SURFACES))
def test_cell(world: World, surface: str, role: Role | None, case_name: str) -> None:
    SURFACES[surface](world, role, world.cases[case_name])


def test_the_public_row_is_the_no_token_row() -> None:
    assert visible(None, Privacy.CONFIDENTIAL) == visible([PUBLIC], Privacy.CONFIDENTIAL)

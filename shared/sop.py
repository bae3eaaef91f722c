"""Both SOP tables of the office, as data: aggregates, clock, reports and UI all read them.

Step ids are stored in events: never rename one. A new reading of the SOP is a new `Sop.version`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum, auto
from functools import cached_property


class Role(StrEnum):
    """Who acts in the system. Stored by value."""

    PEMOHON = "pemohon"
    PETUGAS = "petugas"
    TIM_PENGADUAN = "tim_pengaduan"
    KABID = "kabid"
    SEKRETARIS = "sekretaris"
    KEPALA_DINAS = "kepala_dinas"
    PETUGAS_OSS = "petugas_oss"
    ANALIS = "analis"
    ADMIN = "admin"
    KOORDINATOR = "koordinator"  # pengelola induk: the province's, across agencies


OFFICE_ROLES: frozenset[Role] = frozenset(Role) - {Role.PEMOHON, Role.ANALIS}
"""Roles that work on cases (the public and the analysts do not)."""


PROVINCE = "*"
"""The agency id of a membership that reaches every agency: the provincial coordinator's."""
PROVINCE_ROLES: frozenset[Role] = frozenset({Role.KOORDINATOR})
"""Roles held only in the province's membership: in any one agency they count for nothing."""
PROVINCE_WIDE_ROLES: frozenset[Role] = PROVINCE_ROLES | {Role.ADMIN}
"""Roles an account may hold in the province's membership, where a role counts in every
agency: the province's own, and the provincial administrator's (who registers the agencies).
An agency's role held there would be held in every agency."""


def writers(agency: str) -> frozenset[Role]:
    """Roles that write into a case of this agency (a note, a file, a message sent again): the
    office's. The province's roles read every agency's cases and move them between agencies,
    but write only into the cases waiting in the province's queue."""
    return OFFICE_ROLES if agency == PROVINCE else OFFICE_ROLES - PROVINCE_ROLES


@dataclass(frozen=True)
class Officer:
    """Who is acting: an officer with one or more roles in the agency acted in.

    `roles` are the roles in `agency`. An officer may also belong to other agencies, each with
    its own roles (`memberships`); a membership in `PROVINCE` reaches every agency.
    """

    id: str
    name: str
    roles: frozenset[Role]
    agency: str
    memberships: tuple[tuple[str, frozenset[Role]], ...] = ()

    def has(self, *roles: Role) -> bool:
        """Whether the officer holds any of these roles."""
        return not self.roles.isdisjoint(roles)

    def roles_in(self, agency: str) -> frozenset[Role]:
        """The roles held in one agency (those of a provincial membership included)."""
        held = set(self.roles) if agency == self.agency else set()
        for member_of, roles in self.memberships:
            if member_of in (agency, PROVINCE):
                held |= roles
        return frozenset(held)

    def in_agency(self, agency: str) -> Officer:
        """The same officer acting in another agency, with the roles held there."""
        return replace(self, agency=agency, roles=self.roles_in(agency))

    @property
    def reach(self) -> frozenset[str] | None:
        """The agencies whose cases the officer may see; None: every agency (the province)."""
        agencies = {self.agency, *(member_of for member_of, _ in self.memberships)}
        return None if PROVINCE in agencies else frozenset(agencies)


ROLE_LABELS: dict[Role, str] = {
    Role.PEMOHON: "Pemohon",
    Role.PETUGAS: "Petugas Layanan",
    Role.TIM_PENGADUAN: "Tim Pengaduan",
    Role.KABID: "Kepala Bidang",
    Role.SEKRETARIS: "Sekretaris",
    Role.KEPALA_DINAS: "Kepala Dinas",
    Role.PETUGAS_OSS: "Petugas Pojok OSS",
    Role.ANALIS: "Analis",
    Role.ADMIN: "Administrator",
    Role.KOORDINATOR: "Pengelola Induk",
}


class Kind(StrEnum):
    """What a case is: a grievance or a question."""

    COMPLAINT = "complaint"
    CONSULTATION = "consultation"


KIND_LABELS: dict[Kind, str] = {Kind.COMPLAINT: "Pengaduan", Kind.CONSULTATION: "Konsultasi"}


class When(StrEnum):
    """On which cases an action may be taken."""

    AT_STEP = auto()  # open, at the step the action belongs to
    OPEN = auto()  # open, at any step (by the current step's actors)
    CLOSED = auto()  # resolved or rejected: the dispute that reopens it
    ALWAYS = auto()  # open or closed, any step


@dataclass(frozen=True)
class Action:
    """One thing an officer may do on a case: its command id and the event it records.

    `waiting`: whether it is allowed while the case waits for the complainant (True: only
    then; None: either way). `by`: who may take it; None means the actors of the step it
    works on (the step it belongs to, the current step, or the step a reopened case goes to).
    `label`: what its button says, named for what it does. `imported_only`: allowed only on
    a case imported from the old register (closing that backlog).
    `complainant`: the complainant takes it too, from the tracking page with their receipt
    secret (acting as `Role.PEMOHON`): answering a request, disputing the answer, a reply.
    `steps`: an action of any step (When.OPEN) allowed only at these step ids (None: at all).
    `asks`: it asks the complainant and waits for them: refused once their personal data is
    erased (no one is left to answer, and the stopped clock would never run again).
    """

    id: str
    event: str
    when: When = When.AT_STEP
    closes: bool = False
    waiting: bool | None = False
    by: frozenset[Role] | None = None
    label: str = ""
    imported_only: bool = False
    complainant: bool = False
    steps: frozenset[str] | None = None
    asks: bool = False


ANY_STEP: tuple[Action, ...] = (
    Action(
        "information-request",
        "InformationRequested",
        When.OPEN,
        label="Minta informasi tambahan dari pemohon",
        asks=True,
    ),
    Action(
        "information-received",
        "InformationReceived",
        When.OPEN,
        waiting=True,
        label="Catat informasi dari pemohon",
        complainant=True,
    ),
    Action("reject", "CaseRejected", When.OPEN, closes=True, label="Tolak pengaduan"),
    Action("merge", "CaseMerged", When.OPEN, closes=True, label="Gabungkan ke kasus utama"),
    Action(
        "reopen",
        "CaseReopened",
        When.CLOSED,
        waiting=None,
        label="Buka kembali atas sanggahan",
        complainant=True,
    ),
    Action(
        "notes",
        "NoteAdded",
        When.ALWAYS,
        waiting=None,
        by=OFFICE_ROLES,
        label="Tambah catatan",
        complainant=True,
    ),
    Action(
        "transfer",
        "CaseTransferred",
        When.OPEN,
        by=frozenset({Role.KOORDINATOR}),
        label="Teruskan ke instansi lain",
    ),
    Action(
        "decline",
        "CaseDeclined",
        When.OPEN,
        label="Bukan wewenang: kembalikan ke pengelola induk",
        steps=frozenset({"identification", "verification", "disposition", "reception"}),
    ),
    Action(
        "backlog-close",
        "BacklogClosed",
        When.OPEN,
        closes=True,
        waiting=None,
        label="Tutup sebagai arsip register lama",
        imported_only=True,
    ),
)
"""What a case of either SOP allows besides its steps' own actions.

`backlog-close` closes a case still open in the imported register (history the office
handled on paper): by the actors of the step it waits at, with a reason, one by one or in bulk.

`transfer` (the provincial coordinator forwards a case to another agency) and `decline` (the
agency's step actors answer "bukan wewenang" while the case is still early in the SOP: it goes
back to the coordinator's queue, the agency `PROVINCE`) move a case between agencies: MOVES.

Rejecting or merging a case that waits for the complainant is refused: the answer is
recorded first, so the pause ends with its working time counted (InformationReceived).
"""


@dataclass(frozen=True)
class Move:
    """What moving a case to another agency does: where it goes and whether its clock restarts.

    The case keeps its id, code and history; it waits at the first step after submission in
    the agency it goes to (the step's due time counts from the move). `restarts_deadline`: the
    case deadline counts again from the move, on that agency's calendar; otherwise it stays.
    """

    action: str
    to_province: bool
    restarts_deadline: bool


MOVES: dict[str, Move] = {
    # The coordinator forwards to the agency that has the matter: it gets the full time.
    "transfer": Move("transfer", to_province=False, restarts_deadline=True),
    # "Bukan wewenang": back to the coordinator; the complainant's time keeps running.
    "decline": Move("decline", to_province=True, restarts_deadline=False),
}


@dataclass(frozen=True)
class Step:
    """One row of an SOP table: who does what, with what, in how many working minutes."""

    id: str
    number: int
    label: str
    activity: str
    lane: str
    actor: Role
    needs: str
    output: str
    minutes: int
    actions: tuple[Action, ...] = ()
    also_by: tuple[Role, ...] = ()
    per_case: bool = True

    @property
    def actors(self) -> tuple[Role, ...]:
        """Who may act at this step: the SOP's actor first, then the routes it allows."""
        return (self.actor, *self.also_by)

    @property
    def may_close(self) -> bool:
        """Whether one of this step's actions closes the case."""
        return any(action.closes for action in self.actions)

    def allows(self, role: Role) -> bool:
        """Whether an officer of this role may act at this step."""
        return role in self.actors


@dataclass(frozen=True)
class Sop:
    """An SOP table: its steps in order and the case deadline in working days."""

    kind: Kind
    version: str
    title: str
    steps: tuple[Step, ...]
    deadline_working_days: int = 14
    any_step: tuple[Action, ...] = ANY_STEP

    def step(self, step_id: str) -> Step:
        """The step with this id."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"{self.kind} SOP {self.version} has no step {step_id!r}")

    @cached_property
    def case_steps(self) -> tuple[Step, ...]:
        """The steps a single case walks through (office-wide steps left out); worked out
        once (the table is fixed), not for each of the commands a case view asks about."""
        return tuple(step for step in self.steps if step.per_case)

    def after(self, step_id: str) -> Step | None:
        """The case step that follows this one, or None at the end."""
        steps = self.case_steps
        index = steps.index(self.step(step_id))
        return steps[index + 1] if index + 1 < len(steps) else None

    @property
    def first(self) -> Step:
        """The submission step."""
        return self.case_steps[0]

    @cached_property
    def actions(self) -> Mapping[str, tuple[Action, Step | None]]:
        """Every action a case of this SOP allows, by id, with the step it belongs to.

        Worked out once: every command's check reads it (`rules.refusal`), and a case view
        checks each command (about a third of its time went to building this again)."""
        own = {a.id: (a, step) for step in self.case_steps for a in step.actions}
        return own | {action.id: (action, None) for action in self.any_step}


COMPLAINT_SOP = Sop(
    kind=Kind.COMPLAINT,
    version="2023.1",
    title="SOP Penanganan Pengaduan Masyarakat",
    steps=(
        Step(
            id="submission",
            number=1,
            label="Penyampaian pengaduan",
            activity="Menyampaikan pengaduan melalui surat, telepon, formulir, kotak saran, "
            "SMS, email, quick response atau WhatsApp",
            lane="Pemohon",
            actor=Role.PEMOHON,
            also_by=(Role.PETUGAS,),
            needs="Formulir pengaduan",
            output="Formulir pengaduan",
            minutes=15,
        ),
        Step(
            id="identification",
            number=2,
            label="Identifikasi masalah",
            activity="Mengidentifikasi masalah; bila dapat diselesaikan langsung, diselesaikan; "
            "bila tidak, diteruskan ke pimpinan",
            lane="Tim Pengaduan",
            actor=Role.TIM_PENGADUAN,
            needs="Permasalahan / pengaduan",
            output="Surat jawaban / informasi jawaban",
            minutes=30,
            actions=(
                Action(
                    "identification/resolve",
                    "ResolvedDirectly",
                    closes=True,
                    label="Selesaikan langsung dengan jawaban",
                ),
                Action("identification/escalate", "Escalated", label="Teruskan ke Kabid"),
            ),
        ),
        Step(
            id="verification",
            number=3,
            label="Verifikasi proses pengaduan",
            activity="Memverifikasi proses pengaduan dan menyampaikan ke Kepala Dinas",
            lane="Kabid",
            actor=Role.KABID,
            also_by=(Role.SEKRETARIS,),
            needs="Formulir pengaduan",
            output="Formulir pengaduan terdisposisi",
            minutes=30,
            actions=(
                Action("verification", "ComplaintVerified", label="Teruskan ke Kepala Dinas"),
            ),
        ),
        Step(
            id="disposition",
            number=4,
            label="Disposisi",
            activity="Memverifikasi dan mendisposisikan ke Tim Pengaduan",
            lane="Kepala Dinas",
            actor=Role.KEPALA_DINAS,
            needs="Formulir pengaduan",
            output="Formulir pengaduan terdisposisi",
            minutes=480,
            actions=(
                Action("disposition", "DisposisiIssued", label="Disposisikan ke Tim Pengaduan"),
            ),
        ),
        Step(
            id="investigation",
            number=5,
            label="Investigasi / fasilitasi",
            activity="Investigasi / fasilitasi dengan pemohon (dan instansi terkait bila perlu) "
            "dan melaporkan ke atasan",
            lane="Tim Pengaduan",
            actor=Role.TIM_PENGADUAN,
            needs="Data / permasalahan pengaduan",
            output="Data BAP",
            minutes=480,
            actions=(
                Action(
                    "investigation", "InvestigationReported", label="Laporkan hasil investigasi"
                ),
            ),
        ),
        Step(
            id="investigation_report",
            number=6,
            label="Laporan hasil investigasi",
            activity="Melaporkan hasil investigasi",
            lane="Tim Pengaduan",
            actor=Role.TIM_PENGADUAN,
            needs="Berita Acara Pemeriksaan / data",
            output="Data BAP",
            minutes=15,
            actions=(Action("bap", "BapRecorded", label="Catat BAP"),),
        ),
        Step(
            id="monthly_rekap",
            number=7,
            label="Rekap bulanan",
            activity="Merekap penanganan pengaduan setiap bulan",
            lane="Tim Pengaduan",
            actor=Role.TIM_PENGADUAN,
            needs="Rekap penanganan bulanan",
            output="Data rekap penanganan pengaduan",
            minutes=60,
            per_case=False,
        ),
        Step(
            id="follow_up",
            number=8,
            label="Tindak lanjut dan pengarsipan",
            activity="Menindaklanjuti BAP dan mengarsipkan hasil tindak lanjut",
            lane="Tim Pengaduan",
            actor=Role.TIM_PENGADUAN,
            needs="Dokumen BAP",
            output="Laporan / data hasil peninjauan lapangan",
            minutes=15,
            actions=(
                Action(
                    "follow-up",
                    "FollowUpArchived",
                    closes=True,
                    label="Tindak lanjuti, arsipkan dan selesaikan",
                ),
            ),
        ),
    ),
)

CONSULTATION_SOP = Sop(
    kind=Kind.CONSULTATION,
    version="2023.1",
    title="Mekanisme Pencatatan Konsultasi Pojok OSS",
    steps=(
        Step(
            id="submission",
            number=1,
            label="Pengisian formulir konsultasi",
            activity="Pengguna layanan mengisi formulir konsultasi",
            lane="Pemohon",
            actor=Role.PEMOHON,
            also_by=(Role.PETUGAS, Role.PETUGAS_OSS),
            needs="Formulir konsultasi",
            output="Formulir konsultasi",
            minutes=15,
        ),
        Step(
            id="reception",
            number=2,
            label="Penerimaan formulir",
            activity="Petugas menerima formulir konsultasi",
            lane="Petugas Pojok OSS",
            actor=Role.PETUGAS_OSS,
            needs="Formulir konsultasi",
            output="Formulir konsultasi",
            minutes=15,
            actions=(
                Action("reception", "ConsultationFormAccepted", label="Terima formulir konsultasi"),
            ),
        ),
        Step(
            id="identification",
            number=3,
            label="Identifikasi masalah OSS",
            activity="Mengidentifikasi masalah OSS; bila dapat diselesaikan langsung, "
            "diselesaikan; bila tidak, diteruskan ke BKPM",
            lane="Petugas Pojok OSS",
            actor=Role.PETUGAS_OSS,
            needs="Konsultasi Pojok OSS",
            output="Informasi jawaban",
            minutes=10,
            actions=(
                Action(
                    "identification/resolve",
                    "ResolvedDirectly",
                    closes=True,
                    label="Selesaikan langsung dengan jawaban",
                ),
                Action("bkpm/escalate", "EscalatedToBkpm", label="Teruskan ke BKPM"),
            ),
        ),
        Step(
            id="disposition",
            number=4,
            label="Verifikasi dan disposisi BKPM",
            activity="BKPM memverifikasi dan mendisposisikan; petugas mencatat rujukan "
            "dan jawaban BKPM",
            lane="BKPM",
            actor=Role.PETUGAS_OSS,
            needs="Formulir konsultasi",
            output="Informasi jawaban",
            minutes=60,
            actions=(Action("bkpm/answer", "BkpmAnswered", label="Catat jawaban BKPM"),),
        ),
        Step(
            id="investigation",
            number=5,
            label="Investigasi / fasilitasi",
            activity="Investigasi / fasilitasi dengan pemohon (dan instansi terkait bila perlu) "
            "dan melaporkan ke atasan",
            lane="Petugas Pojok OSS",
            actor=Role.PETUGAS_OSS,
            needs="Rekap penanganan Pojok OSS",
            output="Data rekap konsultasi Pojok OSS",
            minutes=60,
            actions=(
                Action(
                    "facilitation",
                    "FacilitationCompleted",
                    closes=True,
                    label="Selesaikan fasilitasi dengan jawaban",
                ),
            ),
        ),
    ),
)

SOPS: dict[tuple[Kind, str], Sop] = {
    (sop.kind, sop.version): sop for sop in (COMPLAINT_SOP, CONSULTATION_SOP)
}
CURRENT: dict[Kind, Sop] = {Kind.COMPLAINT: COMPLAINT_SOP, Kind.CONSULTATION: CONSULTATION_SOP}


def sop_for(kind: Kind | str, version: str | None = None) -> Sop:
    """The SOP a case of this kind follows: the current one, or the version it recorded.

    Found by the kind's name as given (a case view asks this a few dozen times; making a Kind
    of it first was most of the cost); an unknown kind is a ValueError, as ever."""
    found = _TABLES.get((kind, version))
    if found is not None:
        return found
    kind = Kind(kind)
    return CURRENT[kind] if version is None else SOPS[(kind, version)]


_TABLES: dict[tuple[str, str | None], Sop] = {
    **{(kind.value, version): sop for (kind, version), sop in SOPS.items()},
    **{(kind.value, None): sop for kind, sop in CURRENT.items()},
}
"""`sop_for`'s answers by the kind's name and the version (None: the current one)."""


ACTIONS: dict[str, Action] = {
    action_id: action for sop in SOPS.values() for action_id, (action, _) in sop.actions.items()
}
"""Every action of every SOP, by command id (an id means one action in every SOP)."""

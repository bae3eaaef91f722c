"""Every officer command as data: its path, its body, what it does.

The API makes one endpoint per row; the case view lists the rows an officer may take now.
Which step a command belongs to, its kind of case and who may take it when are the SOP
table's (shared/sop.py): the aggregate checks them, and `Command.allowed` asks it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StringConstraints
from pydantic_core import PydanticCustomError

from services.workflow.case import Case
from services.workflow.cases import Cases
from services.workflow.rules import Moment, UnknownAgency
from shared import pii
from shared.agencies import AgencyId
from shared.auth import Officer
from shared.problems import Problem
from shared.sop import PROVINCE, SOPS, Kind
from shared.text import CLEAN, seen
from shared.working_time import WorkingCalendar

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000), CLEAN, seen(1)
]
Short = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), CLEAN, seen(1)
]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), CLEAN]


def _impersonal(value: str) -> str:
    found = pii.identifiers(value)  # a name is masked where it is read (OFFICER_LABELS)
    if found:
        kinds = ", ".join(dict.fromkeys(pii.LABELS[kind] for kind, _ in found))
        message = (
            f"Kolom ini untuk nama instansi atau nomor, tidak tersegel: jangan tulis data pribadi "
            f"({kinds}) di sini; tulis di catatan atau alasan."
        )
        raise PydanticCustomError("personal_data", message)
    return value


IMPERSONAL = AfterValidator(_impersonal)
"""For the fields officers fill in that are kept and published unsealed (an agency's name, an
archive or reference number): a phone, e-mail or NIK in them would reach every role that reads
the case's history, and no erasure could take it back. Refused; a name is masked for the roles
without the identity where it is read (shared/access.py OFFICER_LABELS)."""
Label = Annotated[Short, IMPERSONAL]
LabelReference = Annotated[Reference, IMPERSONAL]


class Body(BaseModel):
    """Every command names the case version the officer saw."""

    model_config = ConfigDict(extra="forbid")

    version: StrictInt = Field(
        ge=1, title="Versi", description="Versi kasus yang terakhir dilihat petugas"
    )


class AnswerBody(Body):
    """The answer for the complainant."""

    answer: Text = Field(title="Jawaban untuk pelapor")


class NoteBody(Body):
    """A short note on the step."""

    note: Text = Field(title="Catatan")


class DispositionBody(Body):
    """The Kepala Dinas's disposisi."""

    to: Literal["tim_pengaduan"] = Field(default="tim_pengaduan", title="Kepada")
    instruction: Text = Field(title="Isi disposisi (arahan)")


class InvestigationBody(Body):
    """The investigation / facilitation report."""

    summary: Text = Field(title="Ringkasan hasil investigasi / fasilitasi")
    related_agencies: list[Label] = Field(
        default_factory=list, max_length=20, title="Instansi terkait (satu per baris)"
    )


class BapBody(Body):
    """Berita Acara Pemeriksaan: the structured investigation record."""

    date: Annotated[date, Field(title="Tanggal pemeriksaan")]
    place: Short = Field(title="Tempat")
    parties_present: list[Short] = Field(
        min_length=1, max_length=30, title="Pihak yang hadir (satu per baris)"
    )
    findings: Text = Field(title="Temuan")
    conclusion: Text = Field(title="Kesimpulan")
    attachment_ids: list[Short] = Field(
        default_factory=list, max_length=20, title="Id lampiran (satu per baris)"
    )


class FollowUpBody(Body):
    """The follow-up of the BAP and where it is archived."""

    action: Text = Field(title="Tindak lanjut")
    answer: Text = Field(title="Jawaban untuk pelapor")
    archive_ref: Label = Field(title="Nomor arsip")


class BkpmEscalationBody(Body):
    """Escalation to BKPM; its reference may come later."""

    reference: LabelReference = Field(default="", title="Nomor rujukan BKPM (bila sudah ada)")
    note: Text = Field(title="Catatan")


class BkpmAnswerBody(Body):
    """BKPM's reference and answer."""

    reference: Label = Field(title="Nomor rujukan BKPM")
    answer: Text = Field(title="Jawaban BKPM")


class FacilitationBody(Body):
    """The facilitation done and the answer for the applicant."""

    summary: Text = Field(title="Ringkasan fasilitasi")
    answer: Text = Field(title="Jawaban untuk pemohon")


class ReasonBody(Body):
    """Why."""

    reason: Text = Field(title="Alasan")


class InformationRequestBody(ReasonBody):
    """Why (for the officers), and what the complainant is asked (shown on their tracking page)."""

    message: Text | None = Field(
        default=None, title="Pesan untuk pemohon (tampil di halaman lacak pemohon)"
    )


class SummaryBody(Body):
    """What the complainant answered."""

    summary: Text = Field(title="Ringkasan informasi dari pemohon")


class RejectionBody(Body):
    """Why it is not the office's matter, and where it was referred."""

    reason: Text = Field(title="Alasan penolakan")
    referred_to: Label = Field(title="Dirujuk ke instansi")


class TransferBody(Body):
    """Where the provincial coordinator forwards the case, and why."""

    to: AgencyId = Field(title="Instansi tujuan (id)")
    reason: Text = Field(title="Alasan")


class MergeBody(Body):
    """The primary case this one duplicates."""

    primary_case_id: UUID = Field(title="Id kasus utama")


class NoteOnlyBody(BaseModel):
    """A note; any officer, any step, no version needed."""

    model_config = ConfigDict(extra="forbid")

    text: Text = Field(title="Catatan")


@dataclass(frozen=True)
class Context:
    """Who acts, when, on which calendar; the application for sealing and other cases."""

    officer: Officer
    at: datetime
    calendar: WorkingCalendar
    cases: Cases

    def seal(self, case: Case, payload: Any) -> str:
        """Officer text, sealed with the case's key; nothing once the case's personal data is
        erased (its key shredded): the case still walks its SOP to the close, as a disposisi
        moves it (services/workflow/inbound.py), its texts kept no more than the rest. Every
        command with text was refused as an unknown case, and the case never closed."""
        return self.cases.seal_if_kept(case.id, payload)


Run = Callable[[Case, Any, Context], Sequence[Case] | None]
Fields = Callable[[Case, Any, Context], dict[str, Any]]


@dataclass(frozen=True)
class Command:
    """One officer command: a step's own action (its event's `fields`) or another (`act`)."""

    path: str
    summary: str
    body: type[BaseModel]
    fields: Fields | None = None
    act: Run | None = None

    @property
    def kind(self) -> Kind | None:
        """The kind of case it is for, if only one SOP has it."""
        kinds = {sop.kind for sop in SOPS.values() if self.path in sop.actions}
        return kinds.pop() if len(kinds) == 1 else None

    @property
    def step(self) -> str | None:
        """The step it belongs to (None: an action at any step)."""
        for sop in SOPS.values():
            _, step = sop.actions.get(self.path, (None, None))
            if step is not None:
                return step.id
        return None

    def allowed(self, case: Case, officer: Officer, moment: Moment | None = None) -> bool:
        """Whether this officer may take this command on the case at this moment (the case says)."""
        return case.refusal(self.path, officer, moment) is None

    def run(self, case: Case, body: Any, ctx: Context) -> Sequence[Case] | None:
        """Take the command on the case (the aggregate checks it)."""
        if self.fields is not None:
            fields = self.fields(case, body, ctx)
            case.complete(self.path, by=ctx.officer, at=ctx.at, calendar=ctx.calendar, **fields)
            return None
        assert self.act is not None
        return self.act(case, body, ctx)


def _kw(ctx: Context) -> dict[str, Any]:
    return {"by": ctx.officer, "at": ctx.at, "calendar": ctx.calendar}


def _bap(case: Case, body: BapBody, ctx: Context) -> dict[str, Any]:
    today = ctx.at.astimezone(ctx.calendar.tz).date()
    received = case.received_at.astimezone(ctx.calendar.tz).date()
    if body.date > today:  # the record of an investigation held already
        message = f"Tanggal pemeriksaan tidak boleh sesudah hari ini ({today:%d-%m-%Y})."
        error = {"field": "date", "code": "date_in_future", "message": message}
        raise Problem(422, f"Periksa kembali: date. {message}", code="validation", errors=[error])
    if body.date < received:  # … of this pengaduan, so held after it was received
        message = (
            f"Tanggal pemeriksaan tidak boleh sebelum pengaduan diterima ({received:%d-%m-%Y})."
        )
        error = {"field": "date", "code": "date_before_receipt", "message": message}
        raise Problem(422, f"Periksa kembali: date. {message}", code="validation", errors=[error])
    attached = {
        event.attachment_id
        for event in ctx.cases.history(case.id)
        if isinstance(event, Case.AttachmentAdded)
    }
    unknown = [each for each in body.attachment_ids if each not in attached]
    if unknown:  # kept unsealed and shown to every reader of the case: only our own ids
        message = "Bukan lampiran kasus ini: " + ", ".join(unknown[:3]) + "."
        error = {"field": "attachment_ids", "code": "unknown_attachment", "message": message}
        raise Problem(
            422, f"Periksa kembali: attachment_ids. {message}", code="validation", errors=[error]
        )
    record = body.model_dump(mode="json", exclude={"version", "attachment_ids"})
    return {"bap": ctx.seal(case, record), "attachment_ids": body.attachment_ids}


def _merge(case: Case, body: MergeBody, ctx: Context) -> Sequence[Case]:
    primary = ctx.cases.get_case(body.primary_case_id, {case.agency})  # the agency's own
    primary.facets_for(ctx.officer)  # one the officer may not see is unknown (404)
    case.merge_into(primary, by=ctx.officer, at=ctx.at)
    return [primary]


def _transfer(case: Case, body: TransferBody, ctx: Context) -> None:
    # Who may, first (the aggregate's refusal); then whether the agency exists.
    if case.refusal("transfer", ctx.officer) is None and body.to not in ctx.cases.agencies():
        raise UnknownAgency(body.to)
    calendar = ctx.cases.calendar(body.to)  # the deadline counts on the receiving agency's
    reason = ctx.seal(case, body.reason)
    case.move("transfer", to=body.to, reason=reason, by=ctx.officer, at=ctx.at, calendar=calendar)


def _decline(case: Case, body: ReasonBody, ctx: Context) -> None:
    calendar, reason = ctx.cases.calendar(PROVINCE), ctx.seal(case, body.reason)
    case.move("decline", to=PROVINCE, reason=reason, by=ctx.officer, at=ctx.at, calendar=calendar)


def _reopen(case: Case, body: ReasonBody, ctx: Context) -> None:
    window = ctx.cases.settings.reopen_window_days
    case.reopen(reason=ctx.seal(case, body.reason), window_days=window, **_kw(ctx))


COMMANDS: tuple[Command, ...] = (
    Command(
        "identification/resolve",
        "Selesaikan langsung dengan jawaban (langkah identifikasi)",
        AnswerBody,
        lambda case, b, ctx: {"answer": ctx.seal(case, b.answer)},
    ),
    Command(
        "identification/escalate",
        "Teruskan pengaduan ke pimpinan (langkah identifikasi)",
        NoteBody,
        lambda case, b, ctx: {"note": ctx.seal(case, b.note)},
    ),
    Command(
        "verification",
        "Verifikasi dan teruskan ke Kepala Dinas (Kabid, atau Sekretaris)",
        NoteBody,
        lambda case, b, ctx: {"note": ctx.seal(case, b.note)},
    ),
    Command(
        "disposition",
        "Disposisi Kepala Dinas ke Tim Pengaduan",
        DispositionBody,
        lambda case, b, ctx: {"to_role": b.to, "instruction": ctx.seal(case, b.instruction)},
    ),
    Command(
        "investigation",
        "Laporkan hasil investigasi / fasilitasi",
        InvestigationBody,
        lambda case, b, ctx: {
            "summary": ctx.seal(case, b.summary),
            "related_agencies": b.related_agencies,
        },
    ),
    Command("bap", "Catat BAP hasil investigasi", BapBody, _bap),
    Command(
        "follow-up",
        "Tindak lanjut BAP dan arsipkan (kasus selesai)",
        FollowUpBody,
        lambda case, b, ctx: {
            "action": ctx.seal(case, b.action),
            "answer": ctx.seal(case, b.answer),
            "archive_ref": b.archive_ref,
        },
    ),
    Command(
        "reception",
        "Terima formulir konsultasi (Pojok OSS)",
        NoteBody,
        lambda case, b, ctx: {"note": ctx.seal(case, b.note)},
    ),
    Command(
        "bkpm/escalate",
        "Teruskan konsultasi ke BKPM",
        BkpmEscalationBody,
        lambda case, b, ctx: {"bkpm_reference": b.reference, "note": ctx.seal(case, b.note)},
    ),
    Command(
        "bkpm/answer",
        "Catat rujukan dan jawaban BKPM",
        BkpmAnswerBody,
        lambda case, b, ctx: {
            "bkpm_reference": b.reference,
            "bkpm_answer": ctx.seal(case, b.answer),
        },
    ),
    Command(
        "facilitation",
        "Selesaikan fasilitasi dengan jawaban (konsultasi selesai)",
        FacilitationBody,
        lambda case, b, ctx: {
            "summary": ctx.seal(case, b.summary),
            "answer": ctx.seal(case, b.answer),
        },
    ),
    Command(
        "information-request",
        "Minta informasi tambahan dari pemohon (waktu berhenti)",
        InformationRequestBody,
        act=lambda case, b, ctx: case.request_information(
            reason=ctx.seal(case, b.reason),
            message=ctx.seal(case, b.message) if b.message else "",
            by=ctx.officer,
            at=ctx.at,
        ),
    ),
    Command(
        "information-received",
        "Catat informasi dari pemohon (waktu berjalan lagi)",
        SummaryBody,
        act=lambda case, b, ctx: case.receive_information(
            summary=ctx.seal(case, b.summary), **_kw(ctx)
        ),
    ),
    Command(
        "reject",
        "Tolak: bukan kewenangan instansi ini",
        RejectionBody,
        act=lambda case, b, ctx: case.reject(
            reason=ctx.seal(case, b.reason), referred_to=b.referred_to, by=ctx.officer, at=ctx.at
        ),
    ),
    Command("merge", "Gabungkan ke kasus utama (duplikat)", MergeBody, act=_merge),
    Command(
        "transfer",
        "Teruskan kasus ke instansi lain (pengelola induk)",
        TransferBody,
        act=_transfer,
    ),
    Command(
        "decline",
        "Bukan wewenang instansi ini: kembalikan ke pengelola induk",
        ReasonBody,
        act=_decline,
    ),
    Command(
        "backlog-close",
        "Tutup kasus impor buku register lama sebagai arsip, dengan alasan",
        ReasonBody,
        act=lambda case, b, ctx: case.close_backlog(
            reason=ctx.seal(case, b.reason), by=ctx.officer, at=ctx.at
        ),
    ),
    Command("reopen", "Buka kembali atas sanggahan pemohon", ReasonBody, act=_reopen),
    Command(
        "notes",
        "Tambah catatan",
        NoteOnlyBody,
        act=lambda case, b, ctx: case.add_note(
            text=ctx.seal(case, b.text), by=ctx.officer, at=ctx.at
        ),
    ),
)
"""In the order the page shows them; every action of the SOP tables has exactly one."""

"""Every officer command as data: its path, its body, the step it belongs to, what it does.

The API makes one endpoint per row; the case view lists the rows an officer may take now.
The aggregate enforces the same rules on its own: this table never replaces its checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from services.workflow.case import Case
from services.workflow.cases import Cases
from shared.auth import Officer
from shared.sop import OFFICE_ROLES, Kind, Role
from shared.text import CLEAN
from shared.working_time import WorkingCalendar

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000), CLEAN
]
Short = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), CLEAN
]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), CLEAN]


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
    related_agencies: list[Short] = Field(
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
    archive_ref: Short = Field(title="Nomor arsip")


class BkpmEscalationBody(Body):
    """Escalation to BKPM; its reference may come later."""

    reference: Reference = Field(default="", title="Nomor rujukan BKPM (bila sudah ada)")
    note: Text = Field(title="Catatan")


class BkpmAnswerBody(Body):
    """BKPM's reference and answer."""

    reference: Short = Field(title="Nomor rujukan BKPM")
    answer: Text = Field(title="Jawaban BKPM")


class FacilitationBody(Body):
    """The facilitation done and the answer for the applicant."""

    summary: Text = Field(title="Ringkasan fasilitasi")
    answer: Text = Field(title="Jawaban untuk pemohon")


class ReasonBody(Body):
    """Why."""

    reason: Text = Field(title="Alasan")


class SummaryBody(Body):
    """What the complainant answered."""

    summary: Text = Field(title="Ringkasan informasi dari pemohon")


class RejectionBody(Body):
    """Why it is not the office's matter, and where it was referred."""

    reason: Text = Field(title="Alasan penolakan")
    referred_to: Short = Field(title="Dirujuk ke instansi")


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
        """Officer text, sealed with the case's key."""
        return self.cases.seal(case.id, payload)


Run = Callable[[Case, Any, Context], Sequence[Case] | None]


@dataclass(frozen=True)
class Command:
    """One officer command."""

    path: str
    summary: str
    body: type[BaseModel]
    run: Run
    kind: Kind | None = None
    step: str | None = None  # None: an any-step action of the current step's actor

    def allowed(self, case: Case, officer: Officer) -> bool:
        """Whether this officer may take this command on the case now."""
        if self.kind is not None and case.kind != self.kind:
            return False
        if self.path == "reopen":
            first = case.sop.after(case.sop.first.id)
            return case.status in ("resolved", "rejected") and bool(
                first and officer.has(first.actor)
            )
        if self.path == "notes":
            return officer.has(*OFFICE_ROLES)
        if not case.is_open or case.current_step is None:
            return False
        step = case.sop.step(case.current_step)
        if not officer.has(step.actor, *step.also_by):
            return False
        if self.path == "information-received":
            return case.paused_at is not None
        if case.paused_at is not None:
            return False
        return self.step is None or self.step == case.current_step


def _kw(ctx: Context) -> dict[str, Any]:
    return {"by": ctx.officer, "at": ctx.at, "calendar": ctx.calendar}


def _bap(case: Case, body: BapBody, ctx: Context) -> None:
    record = body.model_dump(mode="json", exclude={"version", "attachment_ids"})
    case.record_bap(bap=ctx.seal(case, record), attachment_ids=body.attachment_ids, **_kw(ctx))


def _merge(case: Case, body: MergeBody, ctx: Context) -> Sequence[Case]:
    primary = ctx.cases.get_case(body.primary_case_id)
    case.merge_into(primary, by=ctx.officer, at=ctx.at)
    return [primary]


def _reopen(case: Case, body: ReasonBody, ctx: Context) -> None:
    window = ctx.cases.settings.reopen_window_days
    case.reopen(reason=ctx.seal(case, body.reason), window_days=window, **_kw(ctx))


COMMANDS: tuple[Command, ...] = (
    Command(
        "identification/resolve",
        "Selesaikan langsung dengan jawaban (langkah identifikasi)",
        AnswerBody,
        lambda case, b, ctx: case.resolve_directly(answer=ctx.seal(case, b.answer), **_kw(ctx)),
        step="identification",
    ),
    Command(
        "identification/escalate",
        "Teruskan pengaduan ke pimpinan (langkah identifikasi)",
        NoteBody,
        lambda case, b, ctx: case.escalate(note=ctx.seal(case, b.note), **_kw(ctx)),
        Kind.COMPLAINT,
        "identification",
    ),
    Command(
        "verification",
        "Verifikasi dan teruskan ke Kepala Dinas (Kabid, atau Sekretaris)",
        NoteBody,
        lambda case, b, ctx: case.verify(note=ctx.seal(case, b.note), **_kw(ctx)),
        Kind.COMPLAINT,
        "verification",
    ),
    Command(
        "disposition",
        "Disposisi Kepala Dinas ke Tim Pengaduan",
        DispositionBody,
        lambda case, b, ctx: case.dispose(
            to=Role(b.to), instruction=ctx.seal(case, b.instruction), **_kw(ctx)
        ),
        Kind.COMPLAINT,
        "disposition",
    ),
    Command(
        "investigation",
        "Laporkan hasil investigasi / fasilitasi",
        InvestigationBody,
        lambda case, b, ctx: case.report_investigation(
            summary=ctx.seal(case, b.summary), related_agencies=b.related_agencies, **_kw(ctx)
        ),
        Kind.COMPLAINT,
        "investigation",
    ),
    Command(
        "bap", "Catat BAP hasil investigasi", BapBody, _bap, Kind.COMPLAINT, "investigation_report"
    ),
    Command(
        "follow-up",
        "Tindak lanjut BAP dan arsipkan (kasus selesai)",
        FollowUpBody,
        lambda case, b, ctx: case.archive_follow_up(
            action=ctx.seal(case, b.action),
            answer=ctx.seal(case, b.answer),
            archive_ref=b.archive_ref,
            **_kw(ctx),
        ),
        Kind.COMPLAINT,
        "follow_up",
    ),
    Command(
        "reception",
        "Terima formulir konsultasi (Pojok OSS)",
        NoteBody,
        lambda case, b, ctx: case.accept_form(note=ctx.seal(case, b.note), **_kw(ctx)),
        Kind.CONSULTATION,
        "reception",
    ),
    Command(
        "bkpm/escalate",
        "Teruskan konsultasi ke BKPM",
        BkpmEscalationBody,
        lambda case, b, ctx: case.escalate_to_bkpm(
            reference=b.reference, note=ctx.seal(case, b.note), **_kw(ctx)
        ),
        Kind.CONSULTATION,
        "identification",
    ),
    Command(
        "bkpm/answer",
        "Catat rujukan dan jawaban BKPM",
        BkpmAnswerBody,
        lambda case, b, ctx: case.record_bkpm_answer(
            reference=b.reference, answer=ctx.seal(case, b.answer), **_kw(ctx)
        ),
        Kind.CONSULTATION,
        "disposition",
    ),
    Command(
        "facilitation",
        "Selesaikan fasilitasi dengan jawaban (konsultasi selesai)",
        FacilitationBody,
        lambda case, b, ctx: case.complete_facilitation(
            summary=ctx.seal(case, b.summary), answer=ctx.seal(case, b.answer), **_kw(ctx)
        ),
        Kind.CONSULTATION,
        "investigation",
    ),
    Command(
        "information-request",
        "Minta informasi tambahan dari pemohon (waktu berhenti)",
        ReasonBody,
        lambda case, b, ctx: case.request_information(
            reason=ctx.seal(case, b.reason), by=ctx.officer, at=ctx.at
        ),
    ),
    Command(
        "information-received",
        "Catat informasi dari pemohon (waktu berjalan lagi)",
        SummaryBody,
        lambda case, b, ctx: case.receive_information(
            summary=ctx.seal(case, b.summary), **_kw(ctx)
        ),
    ),
    Command(
        "reject",
        "Tolak: bukan kewenangan instansi ini",
        RejectionBody,
        lambda case, b, ctx: case.reject(
            reason=ctx.seal(case, b.reason), referred_to=b.referred_to, by=ctx.officer, at=ctx.at
        ),
    ),
    Command("merge", "Gabungkan ke kasus utama (duplikat)", MergeBody, _merge),
    Command("reopen", "Buka kembali atas sanggahan pemohon", ReasonBody, _reopen),
    Command(
        "notes",
        "Tambah catatan",
        NoteOnlyBody,
        lambda case, b, ctx: case.add_note(text=ctx.seal(case, b.text), by=ctx.officer, at=ctx.at),
    ),
)

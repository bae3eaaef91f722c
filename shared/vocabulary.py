"""The case vocabulary: statuses, their groups, resolutions and the words for events.

Every service, SQL query and page takes these from here (the pages through reporting's
`/reporting/v1/vocabulary`); no other module spells a status, a group or a resolution.
Event names are the contracts' (shared/events); the SOP table (shared/sop.py) says which
actions close a case, so the closing and progress events are derived from it.

Statuses and resolutions are stored in events and read models: never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.sop import ACTIONS, When


class Status(StrEnum):
    """Where a case stands, as the rekap counts it."""

    RECEIVED = "received"  # intake has it; workflow has not opened it yet
    IN_PROGRESS = "in_progress"
    WAITING_INFO = "waiting_info"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    MERGED = "merged"
    ARCHIVED = "archived"  # still open in the old register, closed here as history: unanswered


STATUS_LABELS: dict[Status, str] = {
    Status.RECEIVED: "Diterima",
    Status.IN_PROGRESS: "Diproses",
    Status.WAITING_INFO: "Menunggu informasi pemohon",
    Status.RESOLVED: "Selesai",
    Status.REJECTED: "Ditolak",
    Status.MERGED: "Digabung",
    Status.ARCHIVED: "Arsip register lama",
}


class Group(StrEnum):
    """A set of statuses that pages, queries and rules ask about."""

    OPEN = "open"  # not closed: the 14 working days run from receipt (a received case too)
    WAITING = "waiting"  # open, the clock stopped until the complainant answers
    CLOSED = "closed"
    ANSWERED = "answered"  # closed with an answer: may be disputed (reopened) and surveyed


GROUPS: dict[Group, frozenset[Status]] = {
    Group.OPEN: frozenset({Status.RECEIVED, Status.IN_PROGRESS, Status.WAITING_INFO}),
    Group.WAITING: frozenset({Status.WAITING_INFO}),
    Group.CLOSED: frozenset({Status.RESOLVED, Status.REJECTED, Status.MERGED, Status.ARCHIVED}),
    Group.ANSWERED: frozenset({Status.RESOLVED, Status.REJECTED}),
}

GROUP_LABELS: dict[Group, str] = {
    Group.OPEN: "Belum selesai",
    Group.WAITING: "Menunggu pemohon",
    Group.CLOSED: "Ditutup",
    Group.ANSWERED: "Ditutup dengan jawaban",
}


def statuses(group: Group) -> list[str]:
    """The stored values of a group's statuses, in Status order: an SQL `= ANY($n)` argument."""
    return [status.value for status in Status if status in GROUPS[group]]


def is_in(status: str, group: Group) -> bool:
    """Whether a stored status belongs to the group."""
    return status in GROUPS[group]


CLOSING_EVENTS: tuple[str, ...] = tuple(
    dict.fromkeys(action.event for action in ACTIONS.values() if action.closes)
)
"""The events that close a case, from the SOP table (steps' answers, rejection, merging)."""

PROGRESS_EVENTS: tuple[str, ...] = tuple(
    dict.fromkeys(
        action.event
        for action in ACTIONS.values()
        if action.when is When.AT_STEP and not action.closes
    )
)
"""The events that move a case on to its next SOP step."""

IMPORTED = "CaseImported"
"""The event of a case brought in from the old register (closed there, or still open)."""

OPENING_EVENTS: tuple[str, ...] = ("CaseOpened", IMPORTED)
"""The events that start a case in workflow."""

_CLOSES_AS: dict[str, Status] = {
    "CaseRejected": Status.REJECTED,
    "CaseMerged": Status.MERGED,
    "BacklogClosed": Status.ARCHIVED,
}


@dataclass(frozen=True)
class Resolution:
    """How a case was closed: the name of the event that closed it, stored as `resolution`
    by workflow and reporting alike, and the status it closed the case with (None: the
    register's, for an imported case)."""

    id: str
    status: Status | None


RESOLUTIONS: dict[str, Resolution] = {
    event: Resolution(event, _CLOSES_AS.get(event, Status.RESOLVED)) for event in CLOSING_EVENTS
} | {IMPORTED: Resolution(IMPORTED, None)}


def closes_as(event: str) -> Status:
    """The status a closing event (one of CLOSING_EVENTS) gives its case: workflow's case and
    reporting's row take it from here."""
    status = RESOLUTIONS[event].status
    assert status is not None, event  # only an import's closing is the register's to say
    return status


EVENT_LABELS: dict[str, str] = {
    "CaseOpened": "Kasus dibuka",
    IMPORTED: "Diimpor dari buku register lama",
    "ResolvedDirectly": "Diselesaikan langsung",
    "Escalated": "Diteruskan ke pimpinan",
    "ComplaintVerified": "Diverifikasi dan diteruskan ke Kepala Dinas",
    "DisposisiIssued": "Disposisi",
    "InvestigationReported": "Laporan investigasi / fasilitasi",
    "BapRecorded": "BAP dicatat",
    "FollowUpArchived": "Ditindaklanjuti dan diarsipkan",
    "ConsultationFormAccepted": "Formulir konsultasi diterima",
    "EscalatedToBkpm": "Diteruskan ke BKPM",
    "BkpmAnswered": "Jawaban BKPM dicatat",
    "FacilitationCompleted": "Fasilitasi selesai",
    "InformationRequested": "Meminta informasi tambahan",
    "InformationReceived": "Informasi tambahan diterima",
    "CaseRejected": "Ditolak",
    "CaseMerged": "Digabung ke kasus utama",
    "BacklogClosed": "Ditutup sebagai arsip register lama",
    "DuplicateMerged": "Menerima kasus duplikat",
    "CaseReopened": "Dibuka kembali",
    "CaseTransferred": "Diteruskan ke instansi lain",
    "CaseDeclined": "Bukan wewenang: dikembalikan ke pengelola induk",
    "NoteAdded": "Catatan",
    "AttachmentAdded": "Lampiran",
    "StepOverdue": "Melewati waktu standar langkah",
    "DeadlineApproaching": "Tenggat mendekat",
    "DeadlineBreached": "Melewati tenggat",
    "CaseDataErased": "Data pribadi dihapus",
}
"""What an officer reads for each event of a case's timeline (and for each resolution)."""

TOLD: dict[str, str] = {
    "ResolvedDirectly": "telah selesai ditangani",
    "FollowUpArchived": "telah selesai ditindaklanjuti",
    "FacilitationCompleted": "telah selesai difasilitasi",
    "CaseRejected": "tidak dapat kami tindak lanjuti karena bukan kewenangan kami",
    "CaseMerged": "digabungkan dengan laporan lain yang sama",
    "BacklogClosed": "telah selesai ditangani",
    "Escalated": "diteruskan kepada pimpinan",
    "ComplaintVerified": "diverifikasi dan diteruskan kepada Kepala Dinas",
    "DisposisiIssued": "didisposisikan kepada Tim Pengaduan",
    "InvestigationReported": "selesai diinvestigasi",
    "BapRecorded": "dicatat dalam Berita Acara Pemeriksaan",
    "ConsultationFormAccepted": "diterima oleh petugas Pojok OSS",
    "EscalatedToBkpm": "diteruskan kepada BKPM",
    "BkpmAnswered": "telah dijawab oleh BKPM",
    "CaseTransferred": "diteruskan kepada instansi yang berwenang menanganinya",
}
"""What the complainant is told of a closing or progress event, or of the forwarding to
another agency ("Pengaduan X-1 ...")."""

TIMELINESS_LABELS: dict[str, str] = {
    "open": "Belum selesai",
    "on_time": "Selesai tepat waktu",
    "late": "Selesai terlambat",
    "n/a": "Tidak dinilai",
}
"""The rekap's timeliness buckets (services/reporting/projection.py) as a table heads them."""

DIMENSION_LABELS: dict[str, str] = {
    "year": "Tahun",
    "month": "Bulan",
    "channel": "Kanal",
    "kind": "Jenis",
    "category": "Kategori",
    "status": "Status",
    "timeliness": "Ketepatan waktu",
    "count": "Jumlah",
}
"""The rekap's dimensions (and its count) as the headers of a published table."""

NOTIFIED: dict[str, str] = {
    "InformationRequested": "information_request",
    "CaseReopened": "reopening",
    # Forwarded to the agency in charge (SP4N-LAPOR!'s disposisi: a LAPOR! case hears it as a
    # follow-up). "Bukan wewenang" is not told: the coordinator's transfer that follows is.
    "CaseTransferred": "follow_up",
} | {event: "closure" for event in CLOSING_EVENTS}
"""The events the complainant is told of on their own channel, and the message each sends
(services/intake/outbound/messages.py; a LAPOR! case also hears of every step's progress)."""

PUBLIC_HISTORY: dict[str, str] = {
    "ComplaintReceived": "Pengaduan diterima",
    "ConsultationReceived": "Konsultasi diterima",
    "ResolvedDirectly": "Dijawab dan selesai",
    "Escalated": "Diteruskan kepada pimpinan",
    "ComplaintVerified": "Diverifikasi dan diteruskan kepada Kepala Dinas",
    "DisposisiIssued": "Disposisi Kepala Dinas kepada Tim Pengaduan",
    "InvestigationReported": "Investigasi selesai",
    "BapRecorded": "Berita Acara Pemeriksaan dicatat",
    "FollowUpArchived": "Dijawab dan selesai",
    "ConsultationFormAccepted": "Diterima oleh petugas Pojok OSS",
    "EscalatedToBkpm": "Diteruskan kepada BKPM",
    "BkpmAnswered": "BKPM telah menjawab",
    "FacilitationCompleted": "Dijawab dan selesai",
    "InformationRequested": "Petugas meminta informasi tambahan dari Anda (waktu berhenti)",
    "InformationReceived": "Informasi tambahan diterima; penanganan dilanjutkan",
    "CaseRejected": "Ditutup: bukan kewenangan instansi ini",
    "CaseMerged": "Digabungkan dengan laporan lain yang sama",
    "CaseReopened": "Dibuka kembali",
    "CaseTransferred": "Diteruskan kepada instansi yang berwenang",
    "ComplainantReplied": "Anda mengirim balasan",
    "ResolutionConfirmed": "Anda menyatakan sudah selesai",
    "ResolutionDisputed": "Anda menyatakan belum selesai",
}
"""What the complainant reads in the history of their own case (events not listed are the
officers' own: notes, files, alarms)."""

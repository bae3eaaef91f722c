"""What workflow does with intake's events: open a case per submission (or imported register
row), exactly once; take in the complainant's replies and disputes from their tracking page,
each once; move a case SP4N-LAPOR! disposed to another agency, once; and forget what officers
wrote about a person when intake erases them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from services.workflow.case import Case
from services.workflow.case.aggregate import Disposition
from services.workflow.cases import Cases
from services.workflow.rules import Moment, UnknownCase
from shared.events import (
    ComplainantReplied,
    DispositionReceived,
    Envelope,
    InvalidMessage,
    PersonalDataErased,
    ResolutionDisputed,
    SubmissionImported,
    SubmissionReceived,
)
from shared.messaging import Consumer
from shared.sop import PROVINCE

# An outage of the store: retry in place, never spend the message's deliveries.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
)


OPENING = SubmissionReceived | SubmissionImported
FROM_COMPLAINANT = ComplainantReplied | ResolutionDisputed
HANDLED = OPENING | PersonalDataErased | FROM_COMPLAINANT | DispositionReceived

REPLY_NOTE = (
    "Pemohon mengirim balasan{files}. Isinya dapat dibaca pada isi pengaduan (pesan lanjutan)."
)
REOPEN_REASON = "Pemohon menyatakan belum selesai melalui halaman lacak."
DISPOSITION_REASON = "Didisposisikan oleh SP4N-LAPOR! (nomor laporan {ref})."
LATE_DISPOSITION_NOTE = (
    "SP4N-LAPOR! mendisposisikan laporan {ref} ke instansi {to} setelah kasus ini ditutup: "
    "kasus tidak dipindahkan; petugas memutuskan tindak lanjutnya."
)
LATE_DISPUTE_NOTE = (
    "Pemohon menyatakan belum selesai melalui halaman lacak, di luar batas waktu sanggahan "
    "(atau kasus tidak dapat dibuka kembali): petugas memutuskan tindak lanjutnya."
)


def _open_all(cases: Cases, envelopes: Sequence[Envelope]) -> None:
    cases.open([partial(_case_of, envelope, cases) for envelope in envelopes])


def _case_of(envelope: Envelope, cases: Cases) -> Case:
    """A new case for a submission (or an imported register row), on its agency's calendar
    and, for a new one, the SOP reading its agency follows."""
    submission = envelope.data
    calendar = cases.calendar(envelope.agency)
    if isinstance(submission, SubmissionImported):
        return Case.import_(submission, agency=envelope.agency, calendar=calendar)
    assert isinstance(submission, SubmissionReceived)
    versions = cases.agency(envelope.agency).sop_versions
    return Case.open(
        **submission.opening() | {"channel": submission.channel.value},
        agency=envelope.agency,
        complainant_ref=submission.complainant_ref,
        calendar=calendar,
        sop_version=versions.get(submission.kind),
    )


def _erase(cases: Cases, envelope: Envelope) -> None:
    """Shred the case key with the event that records it; a repeat changes nothing."""
    erased = envelope.data
    assert isinstance(erased, PersonalDataErased)
    try:
        case = cases.get_case(erased.case_id)
    except UnknownCase:
        return  # never opened here: nothing to forget
    if case.erase_data(at=erased.erased_at):
        cases.store(case, erased=[case.id])


def _hear(cases: Cases, envelope: Envelope) -> None:
    """The complainant's reply or dispute, by the SOP's rules; a repeat changes nothing."""
    data = envelope.data
    assert isinstance(data, FROM_COMPLAINANT)
    try:
        case = cases.get_case(data.case_id)
        seal = partial(cases.seal, case.id)
        calendar = cases.calendar(case.agency)
        if isinstance(data, ComplainantReplied):
            files = f" ({data.attachments} lampiran)" if data.attachments else ""
            note = seal(REPLY_NOTE.format(files=files))
            heard = case.hear_reply(
                heard=envelope.streamversion, note=note, at=data.received_at, calendar=calendar
            )
        else:
            window = cases.settings.reopen_window_days
            heard = case.hear_dispute(
                heard=envelope.streamversion,
                notes=(seal(REOPEN_REASON), seal(LATE_DISPUTE_NOTE)),
                moment=Moment(data.at, calendar, window),
            )
    except UnknownCase:
        return  # not opened here, or its data erased (no key to seal with): nothing to do
    if heard:
        cases.store(case)


def _served(cases: Cases, agency: str) -> bool:
    """Whether the deployment serves the agency (read again if the cache does not know it:
    registered a moment ago, intake may have seen it first)."""
    if agency == PROVINCE or agency in cases.agencies():
        return True
    cases.forget_agencies()
    return agency in cases.agencies()


def _follow(cases: Cases, envelope: Envelope) -> None:
    """SP4N-LAPOR!'s disposisi: the case moves (a closed one gets a note; an erased one moves
    without a reason, there is no key to seal it with); a repeat, or one to the agency that
    has it, changes nothing; one to an agency no longer served is dropped."""
    data = envelope.data
    assert isinstance(data, DispositionReceived)
    if not _served(cases, data.to_agency):
        return  # intake checked it on arrival; the agency left the deployment since
    try:
        case = cases.get_case(data.case_id)
    except UnknownCase:
        return  # not opened here: nothing to move
    seal = partial(cases.seal_if_kept, case.id)  # nothing once its data was erased: it moves
    disposition = Disposition(
        to=data.to_agency,
        reason=seal(DISPOSITION_REASON.format(ref=data.lapor_ref)),
        note=seal(LATE_DISPOSITION_NOTE.format(ref=data.lapor_ref, to=data.to_agency)),
        lapor_ref=data.lapor_ref,
        heard=envelope.streamversion,
        at=data.at,
    )
    if case.follow_disposition(disposition, calendar=cases.calendar(data.to_agency)):
        cases.store(case)


def _handle(cases: Cases, envelopes: Sequence[Envelope]) -> None:
    """In order: runs of submissions are opened together; the rest one by one after them."""
    run: list[Envelope] = []
    for envelope in envelopes:
        if isinstance(envelope.data, OPENING):
            run.append(envelope)
            continue
        _open_all(cases, run)
        run = []
        if isinstance(envelope.data, FROM_COMPLAINANT):
            _hear(cases, envelope)
        elif isinstance(envelope.data, DispositionReceived):
            _follow(cases, envelope)
        else:
            _erase(cases, envelope)
    _open_all(cases, run)


def consumer(cases: Cases) -> Consumer:
    """Workflow's consumer of intake events."""

    async def handle(envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            if not isinstance(envelope.data, HANDLED):
                raise InvalidMessage(f"workflow does not handle {envelope.type}")
        await asyncio.to_thread(_handle, cases, envelopes)

    return Consumer(service="workflow", handle=handle, transient=TRANSIENT)

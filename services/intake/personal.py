"""Personal data, for officers: read by role, erased by an administrator (crypto-shredding).

Reading opens the submission's sealed identity and words with its personal key; who sees what
is decided here, by role. Erasure finds every submission of the person through the keyed
hashes of their identifiers (the contact fields, and the NIK, phone or e-mail typed into a
text: `mentions`), destroys those keys in the transaction that records
`PersonalDataErased` on each, and workflow shreds its case keys when that event arrives.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, LiteralString
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from services.intake.api import CurrentInbox
from services.intake.forms import Nik, Phone
from services.intake.inbox import Inbox, UnknownSubmission
from services.intake.reach import store_call
from services.intake.records import Rows
from services.intake.store import held_by
from services.intake.submission import Submission
from shared import blobs
from shared.access import (
    Facet,
    marks,
    privacy_of,
    readable,
    readable_data,
    readable_files,
    visible,
)
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.filetypes import download
from shared.problems import Problem, problems
from shared.sealing import ERASED, SealingKey
from shared.sop import Role
from shared.tracking_code import normalize

router = APIRouter(prefix="/v1", tags=["personal data"])


class Revision(BaseModel):
    """Words a message had before the complainant edited it."""

    text: str
    until: datetime  # when the edit replaced them


class Amended(BaseModel):
    """What the complainant later did to a message: the words it had before each edit, and
    when they withdrew it (deleted it for everyone; it stays on record)."""

    revisions: list[Revision] = Field(default_factory=list)
    withdrawn_at: datetime | None = None


class Part(Amended):
    """A later message of the same conversation."""

    received_at: datetime
    text: str
    pii: list[dict[str, Any]] = []  # personal data in the text, for officers who read it clear
    attachments: list[dict[str, Any]]
    unreadable: list[str] = []  # why the message could not be read fully ("tidak terbaca")
    refused: list[dict[str, Any]] = Field(default_factory=list)  # files not kept, and why
    data: dict[str, Any] | None = None  # structured answers (an order, a form, a location)


class SubmissionView(Amended):
    """A submission as an officer may read it (amendments: of its first message)."""

    case_id: UUID
    tracking_code: str
    kind: str
    channel: str
    received_at: datetime
    anonymous: bool
    confidential: bool
    erased: bool
    text: str
    pii: list[dict[str, Any]] = Field(
        default=[], description="Data pribadi dalam teks (jenis, awal, akhir) untuk disorot"
    )
    contact: dict[str, Any] | str | None
    attachments: list[dict[str, Any]]
    parts: list[Part]
    register_row: dict[str, Any] | None = None  # imported: what the old register said
    unreadable: list[str] = []  # why the message could not be read fully ("tidak terbaca")
    refused: list[dict[str, Any]] = Field(default_factory=list)  # files not kept, and why
    data: dict[str, Any] | None = None  # structured answers (an order, a form, a location)


def _facets(inbox: Inbox, submission: Submission | None, officer: Officer) -> frozenset[Facet]:
    """What this officer may see of the submission (the access table); 404 if not even that."""
    roles = officer.roles_in(inbox.submissions.agency_of(submission)) if submission else frozenset()
    if submission is None or not roles:  # not a case of an agency the officer serves
        facets: frozenset[Facet] = frozenset()
    else:
        received = submission.received
        privacy = privacy_of(anonymous=received.anonymous, confidential=received.confidential)
        facets = visible(roles, privacy, inbox.submissions.current_step(submission))
    if Facet.STATUS not in facets:
        raise UnknownSubmission()
    if Facet.TEXT not in facets:
        raise Forbidden("Peran Anda tidak dapat membaca isi pengaduan ini.")
    return facets


def _view(inbox: Inbox, case_id: UUID, officer: Officer) -> SubmissionView:
    submissions = inbox.submissions
    submission = submissions.submission(case_id)
    facets = _facets(inbox, submission, officer)
    assert submission is not None
    received = submission.received
    key = submissions.personal_key(received.personal_ref)
    opened: dict[str, Any] = (
        key.open(received.sealed) if key else {"text": ERASED, "contact": ERASED}
    )
    contact = opened.get("contact")
    if Facet.IDENTITY not in facets and contact not in (None, ERASED):
        contact = "disembunyikan"
    shown = Facet.ATTACHMENTS in facets
    text = opened.get("text", "")
    view = SubmissionView(
        case_id=case_id,
        tracking_code=received.tracking_code,
        kind=received.kind,
        channel=received.channel,
        received_at=received.received_at,
        anonymous=received.anonymous,
        confidential=received.confidential,
        erased=key is None,
        text=readable(text, facets),
        pii=marks(text, facets),
        contact=contact,
        attachments=readable_files(opened.get("attachments", []), facets) if shown else [],
        parts=[],
        register_row=_register(submission, opened, facets),
        unreadable=opened.get("unreadable") or [],
        refused=readable_files(opened.get("refused", []), facets) if shown else [],
        data=readable_data(opened.get("data"), facets),
    )
    _parts(view, inbox, submission, key, facets)
    return view


def _register(
    submission: Submission, opened: dict[str, Any], facets: frozenset[Facet]
) -> dict[str, Any] | None:
    """What an imported case's register row said beyond our fields (its other columns sealed;
    their text as the reader may read free text)."""
    if submission.history is None:
        return None
    columns = opened.get("register", ERASED)
    if isinstance(columns, dict):
        columns = {
            name: readable(value, facets) if isinstance(value, str) else value
            for name, value in columns.items()
        }
    return vars(submission.history) | {"columns": columns}


def _parts(
    view: SubmissionView,
    inbox: Inbox,
    submission: Submission,
    key: SealingKey | None,
    facets: frozenset[Facet],
) -> None:
    """The later messages, in order, and every edit or withdrawal applied where it belongs."""
    by_id: dict[str | None, Part | SubmissionView] = {submission.received.channel_message_id: view}
    for event in inbox.submissions.events.get(submission.id):
        if isinstance(event, Submission.MessageAdded):
            part = _part(key.open(event.sealed) if key else {"text": ERASED}, event, facets)
            view.parts.append(part)
            by_id[event.channel_message_id] = part
        elif isinstance(event, Submission.MessageEdited | Submission.MessageWithdrawn):
            target = by_id.get(event.amends)
            if target is not None:
                _amend(target, event, key, facets)


def _amend(
    target: Part | SubmissionView, event: Any, key: SealingKey | None, facets: frozenset[Facet]
) -> None:
    """Apply an edit (the earlier words kept as a revision, read as the reader may) or a
    withdrawal."""
    if isinstance(event, Submission.MessageWithdrawn):
        target.withdrawn_at = event.received_at
        return
    target.revisions.append(Revision(text=target.text, until=event.received_at))
    text = str(key.open(event.sealed).get("text", "")) if key else ERASED
    target.text, target.pii = readable(text, facets), marks(text, facets)


def _part(opened: dict[str, Any], event: Submission.MessageAdded, facets: frozenset[Facet]) -> Part:
    shown = Facet.ATTACHMENTS in facets
    text = opened.get("text", "")
    return Part(
        received_at=event.received_at,
        text=readable(text, facets),
        pii=marks(text, facets),
        attachments=readable_files(opened.get("attachments", []), facets) if shown else [],
        unreadable=opened.get("unreadable") or [],
        refused=readable_files(opened.get("refused", []), facets) if shown else [],
        data=readable_data(opened.get("data"), facets),
    )


CaseId = Annotated[UUID, Path(description="Id kasus (sama dengan id pengaduan)")]


@router.get("/submissions/{case_id}", responses=problems(401, 403, 404, 422))
async def read_submission(
    case_id: CaseId, officer: CurrentOfficer, inbox: CurrentInbox
) -> SubmissionView:
    """What the complainant wrote, and who they are if this officer's role may know."""
    return await store_call(_view, inbox, case_id, officer)


def _attachment(
    inbox: Inbox, case_id: UUID, attachment_id: UUID, officer: Officer
) -> tuple[str, bytes, str]:
    """Type, content in clear and file name; by the same rules as reading the submission."""
    view = _view(inbox, case_id, officer)
    submission = inbox.submissions.submission(case_id)
    if Facet.ATTACHMENTS not in _facets(inbox, submission, officer):
        raise Problem(404, "Lampiran tidak ditemukan.", code="unknown-attachment")
    assert submission is not None
    key = inbox.submissions.personal_key(submission.received.personal_ref)
    rows = inbox.submissions.query(blobs.CONTENT, (attachment_id, case_id))
    if not rows or key is None or rows[0]["content"] is None:
        raise Problem(404, "Lampiran tidak ditemukan.", code="unknown-attachment")
    listed = [*view.attachments, *(a for part in view.parts for a in part.attachments)]
    name = next((str(a.get("filename")) for a in listed if a.get("id") == str(attachment_id)), "")
    return str(rows[0]["content_type"]), key.decrypt(bytes(rows[0]["content"])), name


@router.get(
    "/submissions/{case_id}/attachments/{attachment_id}", responses=problems(401, 403, 404, 422)
)
async def read_attachment(
    case_id: CaseId, attachment_id: UUID, officer: CurrentOfficer, inbox: CurrentInbox
) -> Response:
    """An attachment's content, as a download (kept files only; chat media stays at Meta)."""
    found = await store_call(_attachment, inbox, case_id, attachment_id, officer)
    content_type, content, filename = found
    return download(content, content_type, filename)


Account = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ErasureRequest(BaseModel):
    """Who to erase: any identifier they used, or a tracking code of theirs."""

    model_config = ConfigDict(extra="forbid")

    phone: Phone | None = None
    email: EmailStr | None = None
    nik: Nik | None = None
    whatsapp: Account | None = Field(default=None, description="Nomor WhatsApp (wa_id)")
    instagram: Account | None = Field(default=None, description="Instagram-scoped id")
    tracking_code: Annotated[str, StringConstraints(max_length=32)] | None = None


class ErasureResult(BaseModel):
    """What was erased, of the submissions the agencies the administrator administers have now
    (nothing tells whether other agencies hold any of the person's)."""

    erased: list[str]
    already_erased: list[str]


def _hashes(inbox: Inbox, request: ErasureRequest) -> list[str]:
    p = inbox.pseudonyms
    pairs = [("phone", request.phone), ("email", request.email), ("nik", request.nik)]
    hashes = [p.of(kind, value) for kind, value in pairs if value]
    if request.whatsapp:
        hashes += [p.sender("whatsapp", request.whatsapp), p.of("phone", f"+{request.whatsapp}")]
    if request.instagram:
        hashes.append(p.sender("instagram", request.instagram))
    return hashes


def _administers(inbox: Inbox, officer: Officer, submission: Submission | None) -> bool:
    """Whether the officer administers the agency that has the submission now."""
    if submission is None:
        return False
    return Role.ADMIN in officer.roles_in(inbox.submissions.agency_of(submission))


def _named(inbox: Inbox, request: ErasureRequest, officer: Officer) -> Submission | None:
    """The submission the tracking code names; 404 (as for a code never given) when its agency
    is not one the officer administers: a code alone must not lead to another agency's
    complainant."""
    if not request.tracking_code:
        return None
    code = normalize(request.tracking_code)
    row = inbox.submissions.find_by_code(code) if code else None
    submission = inbox.submissions.submission(row.case_id) if row else None
    if not _administers(inbox, officer, submission):
        raise UnknownSubmission()
    return submission


def _submissions(inbox: Inbox, request: ErasureRequest, officer: Officer) -> list[Submission]:
    """The person's submissions that agencies the officer administers have now, by case id."""
    named = _named(inbox, request, officer)
    query: LiteralString = (
        "SELECT case_id FROM {s}.identities WHERE hash = ANY(%(hashes)s) "
        "OR hash IN (SELECT hash FROM {s}.identities WHERE case_id = %(case)s) "
        "UNION SELECT case_id FROM {s}.mentions WHERE hash = ANY(%(hashes)s)"
    )
    params: dict[str, object] = {
        "hashes": _hashes(inbox, request),
        "case": named.id if named else None,
    }
    reach = officer.reach  # other agencies' cases are not even loaded (nor timed)
    if reach is not None:
        query, params["agencies"] = held_by(query), sorted(reach)
    rows = inbox.submissions.query(query, params)
    cases = {row["case_id"] for row in rows} | ({named.id} if named else set())
    found = [inbox.submissions.submission(case_id) for case_id in sorted(cases)]
    return [s for s in found if s is not None and _administers(inbox, officer, s)]


def erase(
    inbox: Inbox, request: ErasureRequest, officer: Officer, due: float | None = None
) -> ErasureResult:
    """Erase every submission of the person in the agencies the officer administers; the
    events stay, unreadable. Past `due` (a `time.monotonic()` instant) the save rolls back
    instead."""
    at, erased, already = datetime.now(UTC), [], []
    submissions = []
    for submission in _submissions(inbox, request, officer):
        if submission.erase(at=at):
            submissions.append(submission)
            erased.append(submission.received.tracking_code)
        else:
            already.append(submission.received.tracking_code)
    rows = Rows(erased=[(s.id, s.received.personal_ref) for s in submissions])
    if submissions:
        inbox.submissions.save(*submissions, rows=rows, deadline=due)
    return ErasureResult(erased=erased, already_erased=already)


@router.post("/erasures", responses=problems(401, 403, 404, 409, 422))
async def erase_person(
    request: ErasureRequest, officer: CurrentOfficer, inbox: CurrentInbox
) -> ErasureResult:
    """Erase a person's data from every submission of theirs that the agencies the
    administrator administers have (the province's administrator: every agency's)."""
    if not officer.has(Role.ADMIN):
        raise Forbidden("Hanya administrator yang dapat menghapus data pribadi.")
    if not any(request.model_dump().values()):
        raise Problem(422, "Sebutkan minimal satu pengenal orang itu.", code="validation")
    try:
        return await inbox.write(partial(erase, inbox, request, officer))
    except IntegrityError as error:  # a part was added meanwhile
        raise Problem(409, "Pengaduan sedang berubah; coba lagi.", code="conflict") from error

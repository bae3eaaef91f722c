"""The complainant's own actions, by tracking code and receipt secret (shared/receipts.py).

On their tracking page the complainant reads what they wrote since (their replies), replies
with text and files (the same checks as the web form) and answers "Sudah selesai?" once the
case is closed. Each is a Submission event: intake publishes it, workflow takes a reply as
the information asked for (or a note) and a "belum" as a dispute that reopens the case by the
SOP's rules. Without the right secret nothing is shown (403); guessing is stopped (429).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Depends, Form, Header, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from services.intake.api import CurrentInbox
from services.intake.channels.web import Files, attachments_of
from services.intake.draft import Addition
from services.intake.forms import Text
from services.intake.inbox import Inbox
from services.intake.reach import store_call
from services.intake.store import Submissions
from services.intake.submission import Submission
from shared.channels import Channel
from shared.limits import PerAddressLimit
from shared.problems import Problem, field_error, problems
from shared.receipt_guard import ReceiptGuard
from shared.receipts import SECRET_HEADER
from shared.sealing import ERASED
from shared.service import client_address
from shared.tracking_code import normalize

router = APIRouter(prefix="/v1", tags=["complainant"])

SecretHeader = Annotated[
    str | None,
    Header(alias=SECRET_HEADER, max_length=64, description="Kunci tanda terima (receipt secret)"),
]
CodePath = Annotated[str, Path(max_length=32, description="Nomor tiket, mis. 7K3M-9QXP")]
GUARDED = problems(403, 404, 429, 503)


def unknown_code() -> Problem:
    """404 for a code that is not ours."""
    return Problem(404, "Nomor tiket tidak ditemukan.", code="unknown-tracking-code")


async def open_with_secret(request: Request, code: str, secret: str | None) -> str:
    """The canonical code once its receipt secret is right (else 403, or 429 when guessing)."""
    canonical = normalize(code)
    if canonical is None:
        raise unknown_code()
    guard: ReceiptGuard = request.app.state.receipt_guard
    await guard.check(canonical, secret, client_address(request))
    return canonical


async def _holder(request: Request, code: CodePath, secret: SecretHeader = None) -> str:
    return await open_with_secret(request, code, secret)


HeldCode = Annotated[str, Depends(_holder)]
"""A dependency: the tracking code in the path, opened with the receipt secret."""

ATTEMPTS = 5


def checked_and_saved(attempt: Callable[[], None]) -> None:
    """Run `attempt` (load the submission, check, save) again when another write to the same
    submission was saved first (optimistic concurrency: a double tap, two tabs). The reload sees
    that write, so its check answers as for a repeat (409 when already answered), never a 500."""
    for _ in range(ATTEMPTS):
        try:
            attempt()
        except IntegrityError:
            continue  # another write came first: reload and check again
        return
    detail = "Pengaduan ini sedang diperbarui. Silakan coba lagi sebentar lagi."
    raise Problem(409, detail, code="concurrent-update")


def submission_of(submissions: Submissions, code: str) -> Submission:
    """The submission of a tracking code (404 when unknown)."""
    row = submissions.find_by_code(code)
    submission = submissions.submission(row.case_id) if row else None
    if submission is None:
        raise unknown_code()
    return submission


def closed_at(submissions: Submissions, case_id: UUID) -> datetime | None:
    """When the case closed, as workflow told intake (None: open, or reopened since)."""
    return submissions.closed_at(case_id)


class Message(BaseModel):
    """What the complainant wrote after the submission (a reply, a later chat message)."""

    received_at: datetime
    reply: bool
    text: str
    attachments: list[str]


def _messages(inbox: Inbox, code: str) -> list[Message]:
    submission = submission_of(inbox.submissions, code)
    key = inbox.submissions.personal_key(submission.received.personal_ref)
    found = []
    for event in inbox.submissions.events.get(submission.id):
        if not isinstance(event, Submission.MessageAdded):
            continue
        opened: dict[str, Any] = key.open(event.sealed) if key else {"text": ERASED}
        names = [str(a.get("filename", "lampiran")) for a in opened.get("attachments", [])]
        reply = isinstance(event, Submission.ComplainantReplied)
        found.append(
            Message(
                received_at=event.received_at,
                reply=reply,
                text=opened.get("text", ""),
                attachments=names,
            )
        )
    return found


@router.get("/own/{code}/messages", responses=GUARDED)
async def own_messages(code: HeldCode, inbox: CurrentInbox) -> list[Message]:
    """What the complainant wrote since the submission (code + receipt secret)."""
    return await store_call(_messages, inbox, code)


def _reply_text(text: str) -> str:
    """The reply's text, by the web form's rules (10 to 20,000 characters)."""

    class ReplyForm(BaseModel):
        text: Text

    try:
        return ReplyForm(text=text).text
    except ValidationError as error:
        errors = [field_error(dict(e)) for e in error.errors()]
        raise Problem(422, "Periksa kembali: text.", code="validation", errors=errors) from None


class Replied(BaseModel):
    """The reply was stored."""

    tracking_code: str
    received_at: datetime
    message: str


@router.post(
    "/own/{code}/replies", status_code=201, responses=GUARDED | problems(409, 413, 415, 422)
)
async def reply(
    code: HeldCode,
    inbox: CurrentInbox,
    _: PerAddressLimit,
    text: Annotated[str, Form(max_length=25_000, description="Isi balasan")],
    files: Files = None,
) -> Replied:
    """Reply on the tracking page with text and files (code + receipt secret). A reply to the
    office's request for information lets the case go on; any other reaches the officers."""
    checked = _reply_text(text)
    attachments = await attachments_of(inbox, files or [])
    submission = await store_call(submission_of, inbox.submissions, code)
    at = datetime.now(UTC)
    addition = Addition(
        channel=Channel.WEB,
        message_id=f"reply:{uuid4()}",
        text=checked,
        received_at=at,
        attachments=attachments,
        reply=True,
    )
    await inbox.add(submission.id, addition)
    message = "Balasan Anda sudah kami terima dan diteruskan kepada petugas."
    return Replied(tracking_code=code, received_at=at, message=message)


class ResolutionForm(BaseModel):
    """ "Sudah selesai?": whether the answer solved it."""

    model_config = ConfigDict(extra="forbid")

    solved: StrictBool = Field(description="true: sudah selesai; false: belum selesai")


def _answer_resolution(inbox: Inbox, code: str, solved: bool, due: float) -> None:
    checked_and_saved(partial(_answer_resolution_once, inbox, code, solved, due))


def _answer_resolution_once(inbox: Inbox, code: str, solved: bool, due: float) -> None:
    submission = submission_of(inbox.submissions, code)
    closed = closed_at(inbox.submissions, submission.id)
    if closed is None:
        raise Problem(409, "Pengaduan ini belum selesai ditangani.", code="not-closed")
    answered = submission.resolution_answered_at
    if answered is not None and answered >= closed:
        detail = "Anda sudah menjawab untuk penyelesaian ini. Terima kasih."
        raise Problem(409, detail, code="resolution-answered")
    submission.answer_resolution(solved=solved, at=datetime.now(UTC))
    inbox.submissions.save(submission, deadline=due)


@router.post("/own/{code}/resolution", status_code=201, responses=GUARDED | problems(409, 422))
async def answer_resolution(
    code: HeldCode, form: ResolutionForm, inbox: CurrentInbox, _: PerAddressLimit
) -> dict[str, Any]:
    """ "Sudah selesai?" after the answer (code + receipt secret): "belum" within the reopen
    window reopens the case; beyond it an officer decides."""
    await inbox.write(partial(_answer_resolution, inbox, code, form.solved))
    message = (
        "Terima kasih. Mohon isi survei kepuasan."
        if form.solved
        else "Terima kasih. Petugas akan menangani kembali pengaduan Anda."
    )
    return {"tracking_code": code, "solved": form.solved, "message": message}

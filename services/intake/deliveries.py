"""The messages to complainants, for officers: listed on the case, failed ones counted for the
worklist, a failed one sent again. A delivery shows its state, never the text or the address
(both are composed from the sealed submission when it is sent)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Request
from psycopg.rows import DictRow
from pydantic import BaseModel

from services.intake.api import CurrentInbox
from services.intake.inbox import Inbox, UnknownSubmission
from services.intake.outbound.dispatcher import ERASED_REASON
from services.intake.outbound.messages import PURPOSES
from services.intake.reach import store_call
from shared.access import Facet, privacy_of, visible
from shared.auth import CurrentOfficer, Forbidden, Officer
from shared.channels import CHANNEL_LABELS, Channel
from shared.problems import Problem, problems
from shared.sop import OFFICE_ROLES, writers

router = APIRouter(prefix="/v1", tags=["deliveries"])

STATES: dict[str, str] = {
    "pending": "Menunggu dikirim",
    "sent": "Terkirim",
    "failed": "Gagal dikirim",
    "erased": "Dibatalkan (data pribadi dihapus)",
}
"""A delivery's state and its label: sent, given up (failed; cancelled by an erasure) or not yet."""

COLUMNS = "id, case_id, channel, purpose, created_at, attempts, sent_at, gave_up_at, last_error"
LISTED = 200
"""Cases listed with failed messages at most (the count covers them all)."""
FAILED = "gave_up_at IS NOT NULL AND sent_at IS NULL AND last_error IS DISTINCT FROM 'erased'"


class DeliveryView(BaseModel):
    """One message to the complainant and how its sending went."""

    id: UUID
    channel: str
    channel_label: str
    purpose: str
    purpose_label: str
    state: str
    state_label: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None


class FailedCase(BaseModel):
    """A case with messages that could not be sent."""

    case_id: UUID
    tracking_code: str
    failed: int


class FailedDeliveries(BaseModel):
    """For the worklist: how many messages failed, on which cases."""

    count: int
    cases: list[FailedCase]


def state_of(row: DictRow) -> str:
    """Sent, failed, cancelled by an erasure, or pending (retried until the attempts run out)."""
    if row["sent_at"] is not None:
        return "sent"
    if row["gave_up_at"] is not None:
        return "erased" if row["last_error"] == ERASED_REASON else "failed"
    return "pending"


def _view(row: DictRow) -> DeliveryView:
    state, purpose = state_of(row), row["purpose"]
    return DeliveryView(
        id=row["id"],
        channel=row["channel"],
        channel_label=CHANNEL_LABELS.get(Channel(row["channel"]), row["channel"]),
        purpose=purpose,
        purpose_label=PURPOSES[purpose].label if purpose in PURPOSES else purpose,
        state=state,
        state_label=STATES[state],
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        failed_at=row["gave_up_at"] if state == "failed" else None,
    )


def _officer(officer: Officer) -> None:
    if not officer.roles & OFFICE_ROLES:
        raise Forbidden("Hanya petugas kantor yang dapat melihat pengiriman pesan.")


def _may_see(inbox: Inbox, case_id: UUID, officer: Officer) -> bool:
    """Whether the case is of an agency the officer serves and they may see its status there
    (the access table)."""
    submission = inbox.submissions.submission(case_id)
    if submission is None:
        return False
    roles = officer.roles_in(inbox.submissions.agency_of(submission))
    if not roles:
        return False
    received = submission.received
    privacy = privacy_of(anonymous=received.anonymous, confidential=received.confidential)
    step = inbox.submissions.current_step(submission)
    return Facet.STATUS in visible(roles, privacy, step)


def _check(inbox: Inbox, case_id: UUID, officer: Officer) -> None:
    """404 unless this officer may see the case's status (the access table)."""
    _officer(officer)
    if not _may_see(inbox, case_id, officer):
        raise UnknownSubmission()


def _listed(inbox: Inbox, case_id: UUID, officer: Officer) -> list[DeliveryView]:
    _check(inbox, case_id, officer)
    rows = inbox.submissions.query(
        "SELECT " + COLUMNS + " FROM {s}.deliveries WHERE case_id = %s ORDER BY created_at, id",
        (case_id,),
    )
    return [_view(row) for row in rows]


def _failed(inbox: Inbox, officer: Officer) -> FailedDeliveries:
    """Only the cases this officer may see (the access table, this agency), filtered before
    the first `LISTED` are taken, so neither the list nor the count tells of a hidden case."""
    _officer(officer)
    rows = inbox.submissions.query(
        "SELECT d.case_id, i.tracking_code, count(*) AS failed FROM {s}.deliveries d "
        "JOIN {s}.submission_index i USING (case_id) WHERE " + FAILED + " "
        "GROUP BY d.case_id, i.tracking_code ORDER BY max(d.gave_up_at) DESC, d.case_id",
        (),
    )
    cases = [FailedCase(**row) for row in rows if _may_see(inbox, row["case_id"], officer)]
    return FailedDeliveries(count=sum(case.failed for case in cases), cases=cases[:LISTED])


def _retry(inbox: Inbox, case_id: UUID, delivery_id: UUID, officer: Officer) -> DeliveryView:
    _check(inbox, case_id, officer)
    submission = inbox.submissions.submission(case_id)
    assert submission is not None  # _check: seen
    agency = inbox.submissions.agency_of(submission)
    if not officer.roles_in(agency) & writers(agency):  # the coordinator reads, sends nothing
        raise Forbidden("Hanya petugas instansi yang menangani kasus ini dapat mengirim ulang.")
    inbox.submissions.execute(
        "UPDATE {s}.deliveries SET gave_up_at = NULL, attempts = 0, next_at = now(), "
        "last_error = NULL WHERE id = %s AND case_id = %s AND " + FAILED,
        (delivery_id, case_id),
    )
    rows = inbox.submissions.query(
        "SELECT " + COLUMNS + " FROM {s}.deliveries WHERE id = %s AND case_id = %s",
        (delivery_id, case_id),
    )
    if not rows:
        raise Problem(404, "Pengiriman tidak ditemukan.", code="unknown-delivery")
    return _view(rows[0])


CaseId = Annotated[UUID, Path(description="Id kasus (sama dengan id pengaduan)")]


@router.get("/submissions/{case_id}/deliveries", responses=problems(401, 403, 404, 422))
async def list_deliveries(
    case_id: CaseId, officer: CurrentOfficer, inbox: CurrentInbox
) -> list[DeliveryView]:
    """Every message to the complainant of this case, with its state (oldest first)."""
    return await store_call(_listed, inbox, case_id, officer)


@router.get("/deliveries/failed", responses=problems(401, 403))
async def failed_deliveries(officer: CurrentOfficer, inbox: CurrentInbox) -> FailedDeliveries:
    """The messages that could not be sent after every attempt, by case (for the worklist)."""
    return await store_call(_failed, inbox, officer)


@router.post(
    "/submissions/{case_id}/deliveries/{delivery_id}/retry",
    responses=problems(401, 403, 404, 422),
)
async def retry_delivery(
    case_id: CaseId,
    delivery_id: UUID,
    officer: CurrentOfficer,
    inbox: CurrentInbox,
    request: Request,
) -> DeliveryView:
    """Send a failed message again (its attempts start over); any other is left as it is."""
    view = await store_call(_retry, inbox, case_id, delivery_id, officer)
    dispatcher: Any = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None and view.state == "pending":
        dispatcher.wake()
    return view

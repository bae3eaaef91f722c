"""What the intake routers share: their dependencies and the receipt they answer with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from services.intake.draft import Receipt
from services.intake.inbox import Erased, Inbox, KeyReused, NotTheSender, UnknownSubmission
from shared.limits import RateLimiter
from shared.receipts import secret_for, tracking_link
from shared.refusals import Refused
from shared.settings import Settings

# What the intake refuses (services/intake/inbox.py), as its API answers it.
REFUSALS: dict[type[Refused], int] = {
    UnknownSubmission: 404,
    Erased: 409,
    KeyReused: 422,
    NotTheSender: 403,  # (the webhooks answer it themselves: Meta is told nothing of the case)
}


async def _inbox(request: Request) -> Inbox:
    inbox: Inbox = request.app.state.inbox
    return inbox


async def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


CurrentInbox = Annotated[Inbox, Depends(_inbox)]
CurrentLimiter = Annotated[RateLimiter, Depends(_limiter)]
CurrentSettings = Annotated[Settings, Depends(_settings)]


class ReceiptOut(BaseModel):
    """The answer to a stored submission: the tracking code, and for the complainant's own
    receipt (the web form, the officer's printed receipt) its secret and the tracking page's
    link that carries it in the fragment (never the JSON API)."""

    tracking_code: str
    track_url: str
    receipt_secret: str | None = None


async def _receipt_key(request: Request) -> bytes:
    key: bytes = request.app.state.receipt_guard.key
    return key


ReceiptKey = Annotated[bytes, Depends(_receipt_key)]


def receipt_out(
    receipt: Receipt,
    response: Response,
    key: bytes | None = None,
    *,
    page: str = "/lacak",
    public_url: str = "",
) -> ReceiptOut:
    """201 for a new submission, 200 with Idempotent-Replayed for a repeat; with the receipt
    key, the secret and the link to the complainant's own view."""
    code = receipt.tracking_code
    if receipt.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/reporting/v1/track/{code}"  # the resource, for machines
    secret = secret_for(key, code) if key else None
    track_url = tracking_link(public_url, page, code, secret)
    return ReceiptOut(tracking_code=code, track_url=track_url, receipt_secret=secret)

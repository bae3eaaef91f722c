"""What the intake routers share: their dependencies and the receipt they answer with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from services.intake.draft import Receipt
from services.intake.inbox import Erased, Inbox, KeyReused, UnknownSubmission
from services.intake.limits import RateLimiter
from shared.refusals import Refused
from shared.settings import Settings

# What the intake refuses (services/intake/inbox.py), as its API answers it.
REFUSALS: dict[type[Refused], int] = {UnknownSubmission: 404, Erased: 409, KeyReused: 422}


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
    """The answer to a stored submission."""

    tracking_code: str
    track_url: str


def receipt_out(receipt: Receipt, response: Response) -> ReceiptOut:
    """201 for a new submission, 200 with Idempotent-Replayed for a repeat."""
    track_url = f"/reporting/v1/track/{receipt.tracking_code}"
    if receipt.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = track_url
    return ReceiptOut(tracking_code=receipt.tracking_code, track_url=track_url)

"""What the intake routers share: their dependencies and the receipt they answer with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from services.intake.draft import Receipt
from services.intake.store import Writer
from shared.settings import Settings


async def _writer(request: Request) -> Writer:
    writer: Writer = request.app.state.writer
    return writer


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


IntakeWriter = Annotated[Writer, Depends(_writer)]
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

"""Meta webhooks: an edit or a withdrawal changes a message only of its own sender."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from tests.intake.conftest import Desk
from tests.intake.meta import (
    IG_ACCOUNT_ID,
    SITI_IGSID,
    SITI_WA,
    ig_message,
    instagram,
    wa_edit,
    wa_messages,
    wa_revoke,
    wa_text,
)

COMPLAINT = "Izin usaha saya belum selesai setelah tiga minggu, mohon dibantu."
STRANGER_WA = "6289999999999"
STRANGER_IG = "17841400009999"


def _refused(caplog: pytest.LogCaptureFixture, message_id: str) -> None:
    """The refusal is logged by the amendment's id, naming no account."""
    lines = [r.getMessage() for r in caplog.records if message_id in r.getMessage()]
    assert any("refused" in line for line in lines), lines
    assert not any(STRANGER_WA in line or SITI_WA in line for line in lines)
    assert not any(STRANGER_IG in line or SITI_IGSID in line for line in lines)


@pytest.mark.parametrize("kind", ["edit", "revoke"])
async def test_a_whatsapp_amendment_from_another_sender_changes_nothing(
    desk: Desk, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    code = (await desk.whatsapp(wa_text(COMPLAINT, "wamid.A1"))).json()["received"][0]
    amendment = (
        wa_edit("wamid.Z1", "wamid.A1", "Laporan dicabut.", sender=STRANGER_WA)
        if kind == "edit"
        else wa_revoke("wamid.Z1", "wamid.A1", sender=STRANGER_WA)
    )
    with caplog.at_level(logging.WARNING):
        answer = await desk.whatsapp(wa_messages(amendment, sender=STRANGER_WA, name="Orang"))
    assert answer.status_code == 200, answer.text
    assert code["tracking_code"] not in answer.text
    assert [r.get("amended") for r in answer.json()["received"]] in ([], [None])
    _refused(caplog, "wamid.Z1")
    assert await desk.events() == ["ComplaintReceived"]
    view = await desk.submission(code["tracking_code"])
    assert view["text"] == COMPLAINT
    assert view["withdrawn_at"] is None


async def test_a_whatsapp_amendment_from_its_own_sender_still_changes_it(desk: Desk) -> None:
    await desk.whatsapp(wa_text(COMPLAINT, "wamid.A2"))
    await desk.whatsapp(wa_text("Nomor berkas saya 12345.", "wamid.A3"))
    edited = await desk.whatsapp(wa_messages(wa_edit("wamid.Z2", "wamid.A2", "Teks baru")))
    assert edited.json()["received"][0]["amended"] == "edit"
    withdrawn = await desk.whatsapp(wa_messages(wa_revoke("wamid.Z3", "wamid.A3")))
    assert withdrawn.json()["received"][0]["amended"] == "withdraw"


def _event(sender: str, **fields: Any) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"sender": {"id": sender}, "recipient": {"id": IG_ACCOUNT_ID}, "timestamp": now} | fields


@pytest.mark.parametrize("kind", ["message_edit", "is_deleted"])
async def test_an_instagram_amendment_from_another_sender_changes_nothing(
    desk: Desk, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    first = await desk.instagram(instagram(ig_message("mid.A1", COMPLAINT)))
    code = first.json()["received"][0]["tracking_code"]
    amendment = (
        _event(STRANGER_IG, message_edit={"mid": "mid.A1", "text": "Dicabut.", "num_edit": 1})
        if kind == "message_edit"
        else ig_message("mid.A1", sender=STRANGER_IG, is_deleted=True)
    )
    with caplog.at_level(logging.WARNING):
        answer = await desk.instagram(instagram(amendment))
    assert answer.status_code == 200, answer.text
    assert code not in answer.text
    assert [r.get("amended") for r in answer.json()["received"]] in ([], [None])
    _refused(caplog, "mid.A1#")
    assert await desk.events() == ["ComplaintReceived"]
    view = await desk.submission(code)
    assert view["text"] == COMPLAINT
    assert view["withdrawn_at"] is None

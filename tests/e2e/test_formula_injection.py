"""Acceptance, through the gateway: an officer's answer that is a spreadsheet formula downloads
as inert text in cases.csv (behind a single quote) and cases.xlsx (a text cell)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from openpyxl import load_workbook
from pydantic import SecretStr

from services.reporting.case_search import ANSWER_COLUMN
from services.workflow.issuer import Issuer
from shared.settings import Settings
from shared.sop import Role
from tests.e2e.test_journey import FORM
from tests.polling import eventually
from tests.system import running, with_free_ports

ANSWER = ANSWER_COLUMN[1]  # the answer's header in the files
ANSWERS = ('=HYPERLINK("http://evil","klik")', "+1+1", "-2+3", "@SUM(A1)")


def _signing(settings: Settings) -> Settings:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    return with_free_ports(settings).model_copy(update={"auth_signing_key": SecretStr(pem)})


async def test_formula_answers_download_inert_through_the_gateway(
    settings: Settings, tmp_path: Path
) -> None:
    configured = _signing(settings)
    issuer = Issuer(configured, configured.auth_signing_key.get_secret_value())
    token = issuer.mint(subject="tim-1", name="Petugas", roles=[Role.TIM_PENGADUAN])
    officer = {"Authorization": f"Bearer {token}"}
    async with running(configured, tmp_path) as system:
        await system.start("gateway")
        async with httpx.AsyncClient(base_url=system.url("gateway"), timeout=30) as http:
            for answer in ANSWERS:
                await _answer(http, officer, answer)

            async def all_answered() -> bool:
                cases = (await http.get("/reporting/v1/cases", headers=officer)).json()
                return sorted(c.get("public_answer") or "" for c in cases) == sorted(ANSWERS)

            assert await eventually(all_answered, within=20)
            got = await http.get("/reporting/v1/cases.csv", headers=officer)
            assert got.status_code == 200, got.text
            rows = csv.DictReader(io.StringIO(got.text.lstrip("\ufeff"), newline=""))
            assert sorted(r[ANSWER] for r in rows) == sorted(f"'{a}" for a in ANSWERS)
            got = await http.get("/reporting/v1/cases.xlsx", headers=officer)
            assert got.status_code == 200, got.text
    sheet = load_workbook(io.BytesIO(got.content)).active
    assert sheet is not None
    assert [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"] == []
    header: list[Any] = [cell.value for cell in sheet[2]]
    column = header.index(ANSWER)
    written = [str(row[column]) for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert sorted(written) == sorted(ANSWERS)


async def _answer(http: httpx.AsyncClient, officer: dict[str, str], answer: str) -> None:
    """Submit a web complaint and resolve it at once with this answer."""
    submitted = await http.post("/intake/v1/complaints", json=FORM)
    assert submitted.status_code == 201, submitted.text
    code = submitted.json()["tracking_code"]

    async def case_id() -> str | None:
        found = (await http.get(f"/reporting/v1/cases?code={code}", headers=officer)).json()
        return found[0]["case_id"] if found else None

    case = await eventually(case_id, within=20)

    async def resolved() -> bool:  # workflow may not have opened the case yet
        done = await http.post(
            f"/workflow/v1/cases/{case}/identification/resolve",
            json={"version": 1, "answer": answer},
            headers=officer,
        )
        return done.status_code == 200

    assert await eventually(resolved, within=20)

"""Reading the files reporting publishes as a person would: a PDF drawn and its text read by
poppler (pdftoppm, pdftotext), an XLSX's rows on every sheet."""

from __future__ import annotations

import asyncio
import io
import subprocess
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from PIL import Image


def _drawn_text(content: bytes, folder: Path) -> str:
    path = folder / "dokumen.pdf"
    path.write_bytes(content)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(folder / "page")], check=True)
    pages = sorted(folder.glob("page-*.png"))
    assert pages, "pdftoppm drew no page"
    with Image.open(pages[0]) as first:
        assert first.convert("L").getextrema() != (255, 255)  # a drawn page, not a blank one
        assert first.width > 300
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


async def pdf_text(content: bytes, folder: Path) -> str:
    """The PDF rendered to PNG pages (pdftoppm), and its text (pdftotext), spaces collapsed."""
    return " ".join((await asyncio.to_thread(_drawn_text, content, folder)).split())


def sheet_rows(content: bytes) -> list[list[Any]]:
    """Every row of every sheet of the workbook, trailing empty cells dropped."""
    rows = []
    for sheet in load_workbook(io.BytesIO(content)).worksheets:
        for row in sheet.iter_rows(values_only=True):
            values = list(row)
            while values and values[-1] is None:
                values.pop()
            rows.append(values)
    return rows

"""The office's letters as pure functions: number, signature, WIB times, the logo."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from PIL import Image

from services.reporting import printing
from services.reporting.letter import BLANK, Letter, Office, Section
from shared.settings import Settings

MADE = datetime(2025, 11, 3, 2, 5, tzinfo=UTC)


def test_the_number_follows_the_pattern_and_times_are_wib() -> None:
    office = Office.of(Settings(recap_number_pattern="B-{roman}/{month}/{year}"))
    assert office.number(2025, 11) == "B-XI/11/2025"
    assert office.stamp(MADE) == "3 November 2025 09:05 WIB"
    assert "dpmptsp-gresik" not in " ".join(office.letterhead())


def test_an_unnamed_head_of_office_leaves_dotted_lines_to_fill_in() -> None:
    lines = Office.of(Settings()).signature(date(2025, 11, 3))
    assert lines[0] == "Gresik, 3 November 2025"
    assert BLANK in lines
    assert lines[-1] == f"NIP. {BLANK}"


def test_the_logo_is_drawn_beside_the_letterhead(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    Image.new("RGB", (80, 96), (30, 110, 140)).save(logo)
    office = Office.of(Settings(office_logo_path=str(logo)))
    letter = Letter(office, "JUDUL", ["Bulan"], [Section("A", ["Kanal", "Jumlah"], [])], MADE)
    assert b"/Subtype /Image" in printing.pdf(letter)
    without = Letter(Office.of(Settings()), "JUDUL", [], [], MADE)
    assert b"/Subtype /Image" not in printing.pdf(without)

"""The personal-data detector: its targets on the labelled set, and the rules behind them."""

from __future__ import annotations

import logging
import sys

import pytest

from bench.pii import scores
from shared import pii
from tests.pii_corpus import corpus


def test_targets_on_the_labelled_set() -> None:
    measured = scores(corpus(), pii.find)
    for kind in ("nik", "phone", "email"):
        assert (measured[kind]["recall_ratio"] or 0) >= 0.98, kind
        assert (measured[kind]["precision_ratio"] or 0) >= 0.95, kind
    assert (measured["name"]["recall_ratio"] or 0) >= 0.8


@pytest.mark.parametrize(
    ("digits", "nik"),
    [
        ("3578011508950001", True),  # Surabaya, a man born 15-08-1995
        ("3578015508950002", True),  # a woman: day + 40
        ("3578013208950001", False),  # day 32
        ("3578011513950001", False),  # month 13
        ("9978011508950001", False),  # no province 99
        ("3500011508950001", False),  # regency 00
        ("3578001508950001", False),  # district 00
        ("3578011508950000", False),  # serial 0000
    ],
)
def test_a_nik_is_checked_against_its_structure(digits: str, nik: bool) -> None:
    assert [f.kind for f in pii.find(f"NIK {digits}")] == (["nik"] if nik else [])


def test_look_alikes_are_left_alone() -> None:
    text = (
        "Invoice 3578011508950001 dibayar Rp 1.250.000 tanggal 02.03.2024 pukul 08.30, "
        "NIB 9120001234567, kode 5KSD-M023, ID pelanggan PLN 081843260804, RT 03 RW 05."
    )
    assert pii.find(text) == []


def test_masked_text_keeps_the_last_four_digits_of_a_nik_only() -> None:
    text = (
        "Nama saya Budi Santoso, NIK 3578 0115 0895 0001, HP +62 812-3456-7890, "
        "kantor (031) 123 4567, budi.s@gmail.com, nopol L 1234 AB.\nHormat saya,\nBudi Santoso"
    )
    assert pii.mask(text) == (
        "Nama saya [nama], NIK [NIK ****0001], HP [telepon], kantor [telepon], [email], "
        "nopol [nomor polisi].\nHormat saya,\n[nama]"
    )
    assert pii.identifiers(text) == [
        ("nik", "3578011508950001"),
        ("phone", "+62 812-3456-7890"),
        ("phone", "(031) 123 4567"),
        ("email", "budi.s@gmail.com"),
    ]


def test_log_lines_never_carry_personal_data() -> None:
    try:
        raise ValueError("cannot parse 'NIK 3578011508950001, HP 0812-3456-7890'")
    except ValueError:
        record = logging.LogRecord(
            "aduan",
            logging.ERROR,
            __file__,
            1,
            "text was %s",
            ("budi.s@gmail.com",),
            sys.exc_info(),
        )
    assert pii.MaskingFilter().filter(record)
    line = logging.Formatter("%(message)s").format(record)
    assert "text was [email]" in line
    assert "[NIK ****0001], HP [telepon]" in line
    assert "3578011508950001" not in line


def test_identifiers_alone_are_those_of_the_whole_find_on_the_labelled_set() -> None:
    """`identifiers(text)` runs only the detectors that can find an erasable kind; it gives
    exactly what the whole detection gives."""
    texts = [sample.text for sample in corpus()]
    assert len(texts) > 100
    for text in texts:
        assert pii.identifiers(text) == pii.identifiers(text, pii.find(text)), text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("warga Bu Sri Wahyuni mengeluh", "warga Bu [nama] mengeluh"),
        ("Pelapor Dewi Lestari datang ke loket", "Pelapor [nama] datang ke loket"),
        ("Tetangga saya, Mbak Ani Rahayu, juga", "Tetangga saya, Mbak [nama], juga"),
        ("Kemarin Mas Joko Susilo menelepon", "Kemarin Mas [nama] menelepon"),
        ("Kak Rina bilang sudah lama", "Kak [nama] bilang sudah lama"),
        ("bu lurah tidak ada di kantor", "bu lurah tidak ada di kantor"),
        ("Pelapor tidak hadir saat dipanggil", "Pelapor tidak hadir saat dipanggil"),
        ("harga emas naik, masa berlaku izin habis", "harga emas naik, masa berlaku izin habis"),
        ("kontraktornya PT Mas Jaya Abadi", "kontraktornya PT Mas Jaya Abadi"),
    ],
)
def test_a_name_after_the_everyday_forms_of_address_is_found(text: str, masked: str) -> None:
    """Bu, Mbak, Mas, Kak and "Pelapor" without its colon come before a name as often as
    Ibu and Bapak do."""
    assert pii.mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "NIK 3525010101900001, 081234567890",
        "Terlapor: Bapak Joko, NIK 3525010101900001, 081234567890",
        "Rp 1.500.000, 081234567890",
        "kode 5KSD-M023 081234567890",
        "Klinik 081234567890",  # a cue's letters inside a word: no cue
        "Teknik Sipil 081234567890",
        "kilometer 081234567890",
        "presiden 081234567890",
    ],
)
def test_a_phone_after_the_value_of_another_number_is_found(text: str) -> None:
    """A cue ("NIK", "Rp", "kode") says the number right after it is not a phone; the one
    after that number still may be: it was shown in clear to the roles without identity."""
    assert ("phone", "081234567890") in pii.identifiers(text)
    assert "081234567890" not in pii.mask(text)

"""The community satisfaction survey (SKM) by PermenPANRB 14/2017, as data.

Nine elements (unsur), each with its own question and its own four answers, scored 1 to 4;
the respondent's profile (age group, sex, education, occupation) and a suggestion.

The index, as the regulation's annex computes it: each element's mean of the answered values
(NRR, 1–4) is weighted by 1/9 (the annex rounds it to 0,111 when it prints the example:
"NRR tertimbang = NRR × 0,111"; the exact weight is used here, so the index spans exactly
25–100 as the grade table does); their sum is the unit's index (IKM, 1–4), converted to 25–100
by × 25 (the "nilai dasar").
"""

from __future__ import annotations

from dataclasses import dataclass

ELEMENT_COUNT = 9
"""NRR tertimbang: each element's mean weighs 1 / ELEMENT_COUNT (the regulation's 0,111)."""
CONVERSION = 25
"""Nilai dasar: the index (1–4) times this is the IKM on 25–100."""
FEWEST_SHOWN = 5
"""An SKM of fewer responses shows their count only: its scores and profile would be one
respondent's, or a few, whom an officer who knows which case closed could name."""


@dataclass(frozen=True)
class Element:
    """One SKM element: its id (stored order), label, question and four answers (1 to 4)."""

    id: str
    label: str
    question: str
    answers: tuple[str, str, str, str]


SKM: tuple[Element, ...] = (
    Element(
        "persyaratan",
        "Persyaratan",
        "Bagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan dengan jenis "
        "pelayanannya?",
        ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"),
    ),
    Element(
        "prosedur",
        "Sistem, mekanisme, dan prosedur",
        "Bagaimana pemahaman Saudara tentang kemudahan prosedur pelayanan di unit ini?",
        ("Tidak mudah", "Kurang mudah", "Mudah", "Sangat mudah"),
    ),
    Element(
        "waktu",
        "Waktu penyelesaian",
        "Bagaimana pendapat Saudara tentang kecepatan waktu dalam memberikan pelayanan?",
        ("Tidak cepat", "Kurang cepat", "Cepat", "Sangat cepat"),
    ),
    Element(
        "biaya",
        "Biaya / tarif",
        "Bagaimana pendapat Saudara tentang kewajaran biaya/tarif dalam pelayanan?",
        ("Sangat mahal", "Cukup mahal", "Murah", "Gratis"),
    ),
    Element(
        "produk",
        "Produk spesifikasi jenis pelayanan",
        "Bagaimana pendapat Saudara tentang kesesuaian produk pelayanan antara yang tercantum "
        "dalam standar pelayanan dengan hasil yang diberikan?",
        ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"),
    ),
    Element(
        "kompetensi",
        "Kompetensi pelaksana",
        "Bagaimana pendapat Saudara tentang kompetensi/kemampuan petugas dalam pelayanan?",
        ("Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten"),
    ),
    Element(
        "perilaku",
        "Perilaku pelaksana",
        "Bagaimana pendapat Saudara tentang perilaku petugas dalam pelayanan terkait kesopanan "
        "dan keramahan?",
        (
            "Tidak sopan dan ramah",
            "Kurang sopan dan ramah",
            "Sopan dan ramah",
            "Sangat sopan dan ramah",
        ),
    ),
    Element(
        "pengaduan",
        "Penanganan pengaduan, saran dan masukan",
        "Bagaimana pendapat Saudara tentang penanganan pengaduan pengguna layanan?",
        (
            "Tidak ada",
            "Ada tetapi tidak berfungsi",
            "Berfungsi kurang maksimal",
            "Dikelola dengan baik",
        ),
    ),
    Element(
        "sarana",
        "Sarana dan prasarana",
        "Bagaimana pendapat Saudara tentang kualitas sarana dan prasarana?",
        ("Buruk", "Cukup", "Baik", "Sangat baik"),
    ),
)

ELEMENTS: tuple[str, ...] = tuple(element.label for element in SKM)
"""The nine elements' labels, in the stored order of the scores."""

PROFILE: dict[str, tuple[str, dict[str, str]]] = {
    "age_group": (
        "Usia",
        {
            "under_20": "Di bawah 20 tahun",
            "20_29": "20–29 tahun",
            "30_39": "30–39 tahun",
            "40_49": "40–49 tahun",
            "50_59": "50–59 tahun",
            "60_plus": "60 tahun ke atas",
        },
    ),
    "sex": ("Jenis kelamin", {"male": "Laki-laki", "female": "Perempuan"}),
    "education": (
        "Pendidikan terakhir",
        {
            "sd": "SD ke bawah",
            "smp": "SMP",
            "sma": "SMA/SMK",
            "diploma": "D1/D2/D3/D4",
            "s1": "S1",
            "s2_plus": "S2 ke atas",
        },
    ),
    "occupation": (
        "Pekerjaan utama",
        {
            "pns": "PNS",
            "tni_polri": "TNI/Polri",
            "swasta": "Pegawai swasta",
            "wirausaha": "Wirausaha",
            "pelajar": "Pelajar/Mahasiswa",
            "lainnya": "Lainnya",
        },
    ),
}
"""The respondent's profile: field → (label, {stored id: label})."""

# Lowest index of each grade (mutu pelayanan) and its meaning, as the regulation's table has
# them: A 88,31–100; B 76,61–88,30; C 65,00–76,60; D 25,00–64,99.
GRADES: tuple[tuple[float, str, str], ...] = (
    (88.31, "A", "Sangat baik"),
    (76.61, "B", "Baik"),
    (65.00, "C", "Kurang baik"),
    (25.00, "D", "Tidak baik"),
)


def element_means(responses: list[list[int | None]]) -> list[float | None]:
    """Each element's mean of the answered values (NRR); None for an element nobody answered."""
    means: list[float | None] = []
    for column in zip(*responses, strict=True):
        answered = [value for value in column if value is not None]
        means.append(sum(answered) / len(answered) if answered else None)
    return means


def index_of(means: list[float | None]) -> float:
    """IKM on 25–100: the sum of each element's NRR × 1/9, times 25 (two decimals)."""
    total = sum(mean for mean in means if mean is not None)
    return round(total * CONVERSION / ELEMENT_COUNT, 2)


def grade(index: float) -> tuple[str, str]:
    """The grade letter and its label for an index (below 25,00 reads as D)."""
    for floor, letter, label in GRADES:
        if index >= floor:
            return letter, label
    return GRADES[-1][1], GRADES[-1][2]

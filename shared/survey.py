"""The community satisfaction survey (SKM, PermenPANRB 14/2017): nine elements rated 1 to 4.

The index (IKM) is the mean of the nine elements' mean scores, times 25 (so 25 to 100).
"""

from __future__ import annotations

ELEMENTS: tuple[str, ...] = (
    "Persyaratan",
    "Sistem, mekanisme, dan prosedur",
    "Waktu penyelesaian",
    "Biaya / tarif",
    "Produk spesifikasi jenis pelayanan",
    "Kompetensi pelaksana",
    "Perilaku pelaksana",
    "Penanganan pengaduan, saran dan masukan",
    "Sarana dan prasarana",
)

# Lowest index of each grade (mutu pelayanan) and its meaning.
GRADES: tuple[tuple[float, str, str], ...] = (
    (88.31, "A", "Sangat baik"),
    (76.61, "B", "Baik"),
    (65.00, "C", "Kurang baik"),
    (25.00, "D", "Tidak baik"),
)


def index_of(element_means: list[float]) -> float:
    """IKM on 25–100 from the nine elements' mean scores (1–4)."""
    return round(sum(element_means) / len(element_means) * 25, 2)


def grade(index: float) -> tuple[str, str]:
    """The grade letter and its label for an index."""
    for floor, letter, label in GRADES:
        if index >= floor:
            return letter, label
    return GRADES[-1][1], GRADES[-1][2]

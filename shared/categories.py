"""Complaint and consultation categories: ids are stored, labels are for people."""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "perizinan_berusaha": "Perizinan berusaha (OSS)",
    "perizinan_non_berusaha": "Perizinan non-berusaha",
    "persyaratan": "Informasi persyaratan dan prosedur",
    "waktu_layanan": "Waktu penyelesaian layanan",
    "biaya": "Biaya / tarif layanan",
    "petugas": "Sikap dan perilaku petugas",
    "sarana": "Sarana dan prasarana",
    "pungli": "Pungutan liar / gratifikasi",
    "lainnya": "Lainnya",
}

"""What a register's headers and values mean: the default tables, and a mapping that extends
them (a TOML or JSON file, and --column options). Labels compare case-, space- and
punctuation-insensitively ("No.", "NO", "no" are one header)."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.categories import CATEGORIES
from shared.channels import CHANNEL_LABELS, Channel
from shared.sop import Kind
from shared.vocabulary import Group, Status

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def normalize(label: object) -> str:
    """The comparable form of a header or a value."""
    return _NOT_WORD.sub(" ", str(label).casefold()).strip()


FIELDS = (
    "register_ref",
    "received_at",
    "text",
    "kind",
    "channel",
    "category",
    "agency",
    "status",
    "closed_at",
    "name",
    "phone",
    "email",
    "address",
    "nik",
)
"""What a column can hold (field ids; --column and mapping files may also use FIELD_NAMES)."""

FIELD_NAMES = {
    "nomor": "register_ref",
    "tanggal": "received_at",
    "isi": "text",
    "jenis": "kind",
    "kanal": "channel",
    "kategori": "category",
    "instansi": "agency",
    "tanggal_selesai": "closed_at",
    "nama": "name",
    "telepon": "phone",
    "alamat": "address",
}
"""Indonesian names of the fields, for those who write the mapping."""

BRIEF = frozenset({"masalah", "uraian singkat", "pokok pengaduan"})
"""Text headers that name a subject, not the whole text: another text column is taken first."""

HEADERS: dict[str, tuple[str, ...]] = {
    "register_ref": ("no", "nomor", "no register", "nomor register", "no reg", "no pengaduan",
                     "nomor pengaduan", "no agenda", "nomor agenda", "no tiket", "nomor tiket"),
    "received_at": ("tanggal", "tgl", "tanggal pengaduan", "tgl pengaduan", "tanggal masuk",
                    "tgl masuk", "tanggal diterima", "tanggal terima", "tanggal laporan",
                    "waktu", "waktu pengaduan", "tanggal aduan"),
    "text": ("isi", "uraian", "isi pengaduan", "uraian pengaduan", "pengaduan", "keluhan",
             "permasalahan", "isi laporan", "uraian masalah", "masalah", "isi aduan",
             "uraian singkat", "pokok pengaduan", "isi konsultasi", "uraian konsultasi",
             "konsultasi"),
    "kind": ("jenis", "jenis layanan", "jenis pengaduan", "tipe", "jenis laporan"),
    "channel": ("kanal", "media", "sarana", "media pengaduan", "sarana pengaduan", "saluran",
                "kanal pengaduan", "via", "sumber", "sumber pengaduan"),
    "category": ("kategori", "topik", "klasifikasi", "kategori pengaduan", "jenis masalah",
                 "bidang", "topik pengaduan"),
    "agency": ("instansi", "instansi terkait", "unit", "opd", "unit kerja"),
    "status": ("status", "status penyelesaian", "status pengaduan", "status tindak lanjut"),
    "closed_at": ("tanggal selesai", "tgl selesai", "tanggal ditanggapi", "tgl ditanggapi",
                  "tanggal tanggapan", "tanggal penyelesaian", "tanggal jawaban",
                  "selesai", "ditanggapi", "tanggal tindak lanjut"),
    "name": ("nama", "nama pelapor", "nama pengadu", "nama pemohon", "pelapor", "pengadu"),
    "phone": ("telepon", "telp", "tlp", "no telp", "no telepon", "nomor telepon", "hp", "no hp",
              "nomor hp", "no wa", "nomor wa", "kontak", "no kontak"),
    "email": ("email", "e mail", "surel", "alamat email"),
    "address": ("alamat", "alamat pelapor", "alamat pemohon"),
    "nik": ("nik", "no ktp", "nomor ktp", "ktp", "no nik"),
}  # fmt: skip

CHANNELS: dict[str, tuple[str, ...]] = {
    Channel.LETTER: ("surat", "surat masuk", "surat resmi", "pos", "surat dinas"),
    Channel.PHONE: ("telepon", "telpon", "telp", "tlp", "phone", "call center", "hotline"),
    Channel.SMS: ("sms", "pesan singkat"),
    Channel.EMAIL: ("email", "e mail", "surel", "surat elektronik"),
    Channel.WHATSAPP: ("whatsapp", "wa", "whats app", "watsap", "wa business"),
    Channel.INSTAGRAM: ("instagram", "ig", "dm instagram"),
    Channel.LAPOR: ("lapor", "sp4n", "sp4n lapor", "lapor go id", "sp4n lapor go id"),
    Channel.OPEN311: ("open311", "open 311", "georeport"),
    Channel.WEB: ("web", "website", "situs", "situs web", "laman", "online", "formulir online"),
    Channel.COUNTER: ("loket", "langsung", "datang langsung", "tatap muka", "loket pengaduan",
                      "counter", "formulir", "form", "walk in", "ruang pengaduan"),
    Channel.SUGGESTION_BOX: ("kotak saran", "kotak pengaduan", "kotak aduan"),
    Channel.QR: ("qr", "qr code", "quick response", "kode qr"),
}  # fmt: skip

STATUSES: dict[str, tuple[str, ...]] = {
    Status.RESOLVED: ("selesai", "sudah selesai", "tuntas", "ditanggapi", "sudah ditanggapi",
                 "terjawab", "dijawab", "sudah dijawab", "closed", "done", "resolved",
                 "sudah ditindaklanjuti", "ditindaklanjuti", "clear"),
    Status.REJECTED: ("ditolak", "tolak", "bukan kewenangan", "tidak dapat diproses", "rejected",
                 "tidak ditindaklanjuti"),
    Group.OPEN: ("proses", "dalam proses", "diproses", "sedang diproses", "belum selesai", "belum",
             "open", "baru", "menunggu", "pending", "on progress", "in progress", "terbuka"),
}  # fmt: skip

KINDS: dict[str, tuple[str, ...]] = {
    Kind.COMPLAINT: ("pengaduan", "aduan", "keluhan", "complaint", "laporan"),
    Kind.CONSULTATION: ("konsultasi", "pertanyaan", "consultation", "tanya", "pojok oss"),
}

CATEGORY_ALIASES: dict[str, tuple[str, ...]] = {
    "perizinan_berusaha": ("oss", "nib", "perizinan berusaha", "izin usaha", "perizinan oss"),
    "perizinan_non_berusaha": ("non berusaha", "perizinan non berusaha", "imb", "pbg", "izin"),
    "persyaratan": ("persyaratan", "prosedur", "informasi", "syarat", "alur"),
    "waktu_layanan": ("waktu", "waktu layanan", "lama", "keterlambatan", "terlambat"),
    "biaya": ("biaya", "tarif", "retribusi"),
    "petugas": ("petugas", "pelayanan petugas", "sikap petugas", "perilaku petugas"),
    "sarana": ("sarana", "prasarana", "fasilitas", "sarana prasarana"),
    "pungli": ("pungli", "pungutan liar", "gratifikasi", "suap"),
    "lainnya": ("lainnya", "lain lain", "lain"),
}


def _table(aliases: dict[str, tuple[str, ...]], *extra: dict[Any, str]) -> dict[str, str]:
    """normalized label -> id, from the alias lists and any id/label pairs."""
    table = {normalize(label): key for key, labels in aliases.items() for label in labels}
    for pairs in extra:
        table |= {normalize(label): key for key, label in pairs.items()}
    table |= {normalize(key): key for key in aliases}
    return table


class MappingError(ValueError):
    """A mapping file or option that cannot be used (message in Bahasa Indonesia)."""


@dataclass
class Mapping:
    """Which header holds which field, and what the register's values mean."""

    columns: dict[str, str] = field(default_factory=dict)  # field -> header, as given
    channels: dict[str, str] = field(default_factory=lambda: _table(CHANNELS, CHANNEL_LABELS))
    statuses: dict[str, str] = field(default_factory=lambda: _table(STATUSES))
    kinds: dict[str, str] = field(default_factory=lambda: _table(KINDS))
    categories: dict[str, str] = field(default_factory=lambda: _table(CATEGORY_ALIASES, CATEGORIES))

    def assign(self, name: str, header: str) -> None:
        """Say which header holds a field (a field id or its Indonesian name)."""
        key = FIELD_NAMES.get(name.strip().lower(), name.strip().lower())
        if key not in FIELDS:
            known = ", ".join((*FIELDS, *FIELD_NAMES))
            raise MappingError(f"Kolom '{name}' tidak dikenal; yang dikenal: {known}.")
        self.columns[key] = header

    def extend(self, values: dict[str, Any]) -> None:
        """Add a mapping file's tables: [columns], [channels], [statuses], [kinds], [categories]."""
        for name, header in dict(values.get("columns", {})).items():
            self.assign(name, str(header))
        allowed = {
            "channels": (self.channels, {c.value for c in Channel}),
            "statuses": (self.statuses, set(STATUSES)),
            "kinds": (self.kinds, {k.value for k in Kind}),
            "categories": (self.categories, set(CATEGORIES)),
        }
        for section, (table, ids) in allowed.items():
            for label, value in dict(values.get(section, {})).items():
                if value not in ids:
                    raise MappingError(
                        f"[{section}] '{label}' = '{value}': bukan salah satu dari {sorted(ids)}."
                    )
                table[normalize(label)] = str(value)


def load_mapping(path: Path | None, columns: Iterable[str]) -> Mapping:
    """The default mapping, extended by a mapping file and `field=Header` options."""
    mapping = Mapping()
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8-sig")
            values = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        except (OSError, ValueError) as error:
            raise MappingError(f"Berkas pemetaan {path} tidak dapat dibaca: {error}") from error
        mapping.extend(values)
    for option in columns:
        name, separator, header = option.partition("=")
        if not separator or not header.strip():
            raise MappingError(f"Tulis --column sebagai kolom=Judul, bukan '{option}'.")
        mapping.assign(name, header.strip())
    return mapping


def header_fields(mapping: Mapping, headers: list[str]) -> dict[str, int]:
    """field -> column index: the mapping's columns first, then the default header names."""
    found: dict[str, int] = {}
    normalized = [normalize(header) for header in headers]
    for key, header in mapping.columns.items():
        if normalize(header) in normalized:
            found[key] = normalized.index(normalize(header))
    taken = set(found.values())
    for key, aliases in HEADERS.items():
        if key in mapping.columns or key in found:  # a header named for it is that one or none
            continue
        # Of two columns a field's names fit, the first from the left, unless it is only a
        # subject ("Masalah" before "Uraian Pengaduan": the full text is the complaint's).
        fitting = [
            (label in BRIEF, index)
            for index, label in enumerate(normalized)
            if label in aliases and index not in taken
        ]
        if fitting:
            found[key] = min(fitting)[1]
            taken.add(found[key])
    return found

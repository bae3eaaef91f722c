"""`python -m services.intake import FILE`: the command line of the register import."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from eventsourcing.persistence import InterfaceError, OperationalError

from services.intake.register.importer import BATCH, run
from services.intake.register.labels import FIELD_NAMES, FIELDS, MappingError, load_mapping
from services.intake.register.reading import UnreadableRegister
from services.intake.register.report import REPORT_SUFFIXES
from shared.settings import Settings

EPILOG = f"""
Kolom (--column KOLOM=Judul): {", ".join(FIELDS)}; atau dalam bahasa Indonesia:
{", ".join(FIELD_NAMES)}. Berkas pemetaan (TOML atau JSON) berisi bagian [columns]
dan, untuk nilai yang tidak dikenal, [channels], [statuses], [kinds], [categories].
Kode keluar: 0 semua baris layak, 1 ada baris yang ditolak, 2 berkas tidak dapat dipakai.
"""


def parser() -> argparse.ArgumentParser:
    """The options."""
    options = argparse.ArgumentParser(
        prog="python -m services.intake import",
        description="Impor buku register pengaduan lama (XLSX atau CSV) ke Aduan.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_argument("file", type=Path, help="berkas register (.xlsx atau .csv)")
    options.add_argument(
        "--dry-run", action="store_true", help="periksa saja, tanpa menyimpan apa pun"
    )
    options.add_argument("--mapping", type=Path, help="berkas pemetaan kolom dan nilai")
    options.add_argument(
        "--column", action="append", default=[], metavar="KOLOM=Judul", help="judul kolom"
    )
    options.add_argument("--sheet", help="nama lembar XLSX (bawaan: lembar pertama)")
    options.add_argument(
        "--report",
        type=Path,
        help="berkas laporan lengkap per baris: .csv, .xlsx atau .json "
        "(bawaan: NAMA-REGISTER.laporan.csv di folder kerja)",
    )
    options.add_argument("--batch", type=int, default=BATCH, help="baris per transaksi")
    options.add_argument("--no-progress", action="store_true", help="tanpa bilah kemajuan")
    return options


def main(argv: list[str]) -> int:
    """Run the import; the exit code says how it went."""
    args = parser().parse_args(argv)
    target = args.report or Path(f"{args.file.stem}.laporan.csv")
    if target.suffix.lower() not in REPORT_SUFFIXES:
        print(
            "Tidak dapat mengimpor: berkas laporan harus .csv, .xlsx atau .json.", file=sys.stderr
        )
        return 2
    if not os.access(target.resolve().parent, os.W_OK):
        print(f"Tidak dapat mengimpor: laporan tidak dapat ditulis ke {target}.", file=sys.stderr)
        return 2
    try:
        mapping = load_mapping(args.mapping, args.column)
        report = run(
            Settings(),
            args.file,
            mapping,
            sheet=args.sheet,
            dry_run=args.dry_run,
            batch=max(1, args.batch),
            progress=not args.no_progress and sys.stderr.isatty(),
        )
    except (MappingError, UnreadableRegister) as error:
        print(f"Tidak dapat mengimpor: {error}", file=sys.stderr)
        return 2
    except (OperationalError, InterfaceError, OSError) as error:
        print(f"Penyimpanan tidak dapat dihubungi: {error}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    try:
        report.write(target)
    except OSError as error:  # the import itself is done: its exit code stands
        print(f"Laporan lengkap tidak dapat ditulis ke {target}: {error}", file=sys.stderr)
    else:
        print(f"Laporan lengkap per baris: {target.resolve()}")
    return 1 if report.rejected else 0

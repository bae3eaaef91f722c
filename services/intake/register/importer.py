"""The import: a register file's rows into intake's event store, a batch per group commit.

One pass reads, checks and commits: every row is checked (and reported) whether or not it is
stored; the dry run stops before the store. A row's submission id is deterministic, so a
re-import, an overlapping file or a rerun after a crash stores nothing twice: rows already
stored are skipped by one index query per batch, and Writer.commit answers any other repeat.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tqdm import tqdm

from services.intake.pseudonyms import Pseudonyms
from services.intake.records import Rows
from services.intake.register.cells import Issue, cell_text
from services.intake.register.dates import written_month_first
from services.intake.register.labels import Mapping, normalize
from services.intake.register.reading import (
    Layout,
    Sheet,
    Spreading,
    find_layout,
    read_sheet,
    registers_beside,
)
from services.intake.register.report import Report
from services.intake.register.rows import RegisterRow, RowReader
from services.intake.store import SCHEMA, IndexRow, Pending, Submissions, open_submissions
from services.intake.submission import History, Received, Submission
from services.intake.writer import Writer
from shared import pii
from shared.db import ensure_schema, setup_lock
from shared.pii import mask
from shared.sealing import SealingKey
from shared.settings import Settings
from shared.working_time import MONTHS

BATCH = 500


def run(
    settings: Settings,
    path: Path,
    mapping: Mapping,
    *,
    sheet: str | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
    progress: bool = False,
) -> Report:
    """Check every row of the file and, unless a dry run, store the fit ones once each."""
    report, rows = read(settings, path, mapping, sheet=sheet, dry_run=dry_run, progress=progress)
    if dry_run:
        for _ in rows:
            pass
        return report
    store = Store.open(settings)
    try:
        store_all(store, batched(rows, batch), report)
    finally:
        store.close()
    return report


def store_all(store: Store, chunks: Iterable[list[RegisterRow]], report: Report) -> None:
    """Commit each batch while the next one is read: one commit at a time, in file order
    (the reading is CPU, a commit mostly waits for the database)."""
    with ThreadPoolExecutor(1, thread_name_prefix="import-store") as storing:
        saving: Future[None] | None = None
        for chunk in chunks:
            if saving is not None:
                saving.result()  # its failure ends the import here
            saving = storing.submit(store.save, chunk, report)
        if saving is not None:
            saving.result()


def read(
    settings: Settings,
    path: Path,
    mapping: Mapping,
    *,
    sheet: str | None = None,
    dry_run: bool = True,
    progress: bool = False,
) -> tuple[Report, Iterator[RegisterRow]]:
    """The file's report, and its rows fit to import as they are read (the report fills as
    they are)."""
    data = read_sheet(path, sheet)
    layout = find_layout(data, mapping)
    at = layout.fields
    columns = Spreading(
        whole=frozenset(at[key] for key in ("text", "register_ref") if key in at),
        own=frozenset(at[key] for key in ("received_at", "register_ref") if key in at),
        kept=frozenset(at[key] for key in ("register_ref",) if key in at),
    )
    header = HeaderAgain.of(layout)
    again = [number for number, cells in data.records if header.repeats(cells)]
    data, continued = data.spread(layout.header_row, columns, skip=again)
    report = Report(path.name, dry_run, layout.header_row, unmapped=layout.unmapped)
    beside = registers_beside(path, data, mapping) if sheet is None else []
    if beside:
        names = ", ".join(f"'{name}'" for name in beside)
        message = (
            f"buku kerja ini juga memuat lembar {names} berisi register; yang dibaca hanya "
            f"'{data.name}'. Impor lembar lain dengan --sheet NAMA"
        )
        report.issues.append(Issue(layout.header_row, "", "other_sheets", message, False))
    for number, owner in sorted(continued.items()):
        message = (
            f"lanjutan baris {owner} (sel isi atau nomor digabung); isinya ditambahkan ke sana"
        )
        report.issues.append(Issue(number, "", "continued_row", message, rejected=False))
    report.columns = {key: layout.headers[index] for key, index in layout.fields.items()}
    tz, now = ZoneInfo(settings.timezone), datetime.now(UTC)
    month_first = frozenset(key for key in DATES if _month_first(data, layout, key))
    for key in sorted(month_first):
        message = "tanggal di kolom ini ditulis bulan dahulu (mis. 03/25/2022); dibaca demikian"
        column = layout.headers[layout.fields[key]]
        report.issues.append(Issue(layout.header_row, column, "month_first", message, False))
    reader = RowReader(layout, mapping, settings.agency, tz, now, month_first, data.epoch)
    return report, scan(data, reader, report, progress=progress)


DATES = ("received_at", "closed_at")


def _month_first(sheet: Sheet, layout: Layout, key: str) -> bool:
    """Whether the numeric dates of this field's column are written month first."""
    index = layout.fields.get(key)
    if index is None:
        return False
    rows = (cells for number, cells in sheet.records if number > layout.header_row)
    return written_month_first(cells[index] for cells in rows if index < len(cells))


TOTAL_LENGTH = 40
"""A total line starts with its word, in a short first cell: a complaint that starts with
"Jumlah bantuan…" is a complaint (rejected if it has no date, never skipped)."""
TOTAL = re.compile(r"^\s*(jumlah|total|sub\s*total|grand\s*total|rekapitulasi)\b", re.I)


@dataclass(frozen=True)
class HeaderAgain:
    """The header as a row repeating it reads (a register printed page by page, then typed
    back or exported): its mapped columns' labels, and each of its rows as written (a header
    of two rows: either of them), normalised once. A row's mapped cells are compared until the
    first that differs, and the whole row only when its first cell opens a header row:
    normalising every cell of every row (the complaint's text with them) was most of the
    comparison's cost."""

    mapped: tuple[str, ...]
    rows: frozenset[tuple[str, ...]]
    firsts: frozenset[str]  # the first cell of each of `rows`

    @classmethod
    def of(cls, layout: Layout) -> HeaderAgain:
        rows = frozenset(_written(row) for row in layout.written)
        return cls(
            mapped=tuple(normalize(layout.headers[i]) for i in layout.fields.values()),
            rows=rows,
            firsts=frozenset(row[0] if row else "" for row in rows),
        )

    def repeats(self, cells: tuple[Any, ...]) -> bool:
        """Whether the row is one of the header's rows as written."""
        first = normalize(cell_text(cells[0])) if cells else ""
        return first in self.firsts and _written(cells) in self.rows

    def maps(self, texts: list[str]) -> bool:
        """Whether the mapped columns' texts are their labels."""
        return all(normalize(text) == label for text, label in zip(texts, self.mapped, strict=True))


def page_furniture(
    layout: Layout, cells: tuple[Any, ...], header: HeaderAgain
) -> tuple[str, str] | None:
    """A row that is the header again (`header`: the layout's) or a total line: its code and
    message; None for any other row."""
    texts = [cell_text(cells[i]) if i < len(cells) else "" for i in layout.fields.values()]
    if header.maps(texts) or header.repeats(cells):
        return "header_repeated", "judul kolom diulang (halaman cetak); dilewati"
    received = texts[list(layout.fields).index("received_at")]
    first = next((cell_text(cell) for cell in cells if cell_text(cell)), "")
    undated = not any(map(str.isdigit, received)) or COUNT.fullmatch(received.strip())
    if TOTAL.match(first) and len(first) <= TOTAL_LENGTH and undated:
        return "total_row", "baris jumlah atau total; dilewati"
    return None


COUNT = re.compile(r"\d{1,4}|\d{1,3}(?:[.,]\d{3})+")
"""A count a total line may put under the date (JUMLAH | 4): no date is written so (a day number
has five digits, a compact date eight)."""


_MONTH_NAMES = "|".join(name.lower() for name in MONTHS)
HEADING = re.compile(
    rf"^\s*((bulan\s+)?({_MONTH_NAMES})(\s+(tahun\s+)?\d{{4}})?|(daftar\s+)?(pengaduan|"
    rf"konsultasi|aspirasi|saran)(\s+(tahun\s+)?\d{{4}})?)\s*:?\s*$",
    re.I,
)
"""A heading between a register's rows: a month's (a register kept in one sheet, month by
month), a kind's (its complaints, then its consultations)."""
SIGNATURE = re.compile(
    r"^\s*(mengetahui|menyetujui|kepala\b|plt\b|plh\b|a\.\s?n\.|nip\b|ttd\b|"
    r"tanda\s+tangan|dibuat\s+oleh|diperiksa\s+oleh|\w[\w .'-]*,\s*\d{1,2}\s+("
    + _MONTH_NAMES
    + r")\s+\d{4}\s*$)",
    re.I,
)
"""The first line of a signature block: "Mengetahui,", "Kepala Dinas …", "NIP. …", a place and
a day ("Gresik, 31 Desember 2023")."""
FOOTNOTE = re.compile(r"^\s*(keterangan|ket|catatan|sumber|nb|n\.b)\s*[:.]", re.I)
"""The first line of the notes at a register's foot: "Keterangan:", "Sumber: …", "Catatan:"."""
SIGNATURE_CELLS = 2
"""A row of a signature block holds one or two cells (a line under each signatory)."""


def signed_off(
    layout: Layout, cells: tuple[Any, ...], signing: bool, foot: bool
) -> tuple[str, str] | None:
    """A month's heading, or a line of the signature block or of the notes at the register's
    foot (`foot`: after its last dated row): its code and message; None for any other row. A
    signature's first line is a short row without a date whose cell outside the text column
    opens a signature (`SIGNATURE`) or the notes (`FOOTNOTE`); every short row without a date
    after it is a line of it (a name, a rank, a note). Above the foot such a row is a complaint
    without its date: rejected, seen."""
    at = layout.fields
    filled = {i: text for i, cell in enumerate(cells) if (text := cell_text(cell))}
    if len(filled) == 1 and HEADING.match(next(iter(filled.values()))):
        return "month_heading", "judul bulan atau bagian; dilewati"
    if not foot or len(filled) > SIGNATURE_CELLS or _dated(filled.get(at["received_at"])):
        return None
    outside = [text for i, text in filled.items() if i != at["text"]]
    if any(FOOTNOTE.match(text) for text in outside):
        return "signature", "keterangan di kaki register; dilewati"
    opens = any(SIGNATURE.match(text) for text in outside)
    return ("signature", "blok tanda tangan; dilewati") if signing or opens else None


def _dated(text: str | None) -> bool:
    """Whether a date cell's text may be a date: not empty, with a digit, and no signature's
    line ("NIP. 1970…", "Gresik, 31 Desember 2023" sit in the date column as often as not)."""
    return bool(text) and any(map(str.isdigit, text or "")) and not SIGNATURE.match(text or "")


def _written(cells: tuple[Any, ...]) -> tuple[str, ...]:
    """A row's cells as compared with a header's: normalised, the empty ones at its end cut."""
    texts = [normalize(cell_text(cell)) for cell in cells]
    while texts and not texts[-1]:
        texts.pop()
    return tuple(texts)


def scan(
    sheet: Sheet, reader: RowReader, report: Report, *, progress: bool
) -> Iterator[RegisterRow]:
    """The rows fit to import, each identity once; everything else goes into the report."""
    seen: dict[str, tuple[int, str, str]] = {}  # identity -> its first row, fingerprint, gist
    signing = False  # in a signature block
    contents: dict[str, int] = {}
    records = [record for record in sheet.records if record[0] > reader.layout.header_row]
    day = reader.layout.fields["received_at"]
    dated = [n for n, cells in records if day < len(cells) and _dated(cell_text(cells[day]))]
    last_dated = max(dated, default=reader.layout.header_row)  # the foot is below it
    numbers = [reader.layout.header_row, *(number for number, _ in records)]
    header = HeaderAgain.of(reader.layout)
    report.blank += sum(b - a - 1 for a, b in itertools.pairwise(numbers))  # empty rows between
    for number, cells in tqdm(records, unit=" baris", desc="impor", disable=not progress):
        if not any(cell_text(cell) for cell in cells):
            report.blank += 1
            continue
        furniture = page_furniture(reader.layout, cells, header) or signed_off(
            reader.layout, cells, signing, foot=number > last_dated
        )
        if furniture is not None:  # a printed page's header again, a total, a signature
            signing = signing or furniture[0] == "signature"
            report.blank += 1
            report.issues.append(Issue(number, "", *furniture, rejected=False))
            continue
        signing = False  # a row of the register after all
        report.rows += 1
        row, issues = reader.read(number, cells)
        if row is None:
            report.rejected += 1
            report.issues.extend(issues)
            continue
        earlier = seen.get(row.identity)
        if earlier is not None and row.another_than(earlier[2]):
            issues.append(_reused(row, f"baris {earlier[0]}"))
            row = row.renumbered()
            earlier = seen.get(row.identity)
        if earlier is not None:
            _repeat(row, earlier[0], earlier[1], report)
            continue
        seen[row.identity] = (row.row, row.fingerprint, row.gist)
        first = contents.setdefault(row.content, row.row)
        if first != row.row:
            message = f"isi, tanggal dan pelapor sama dengan baris {first} (nomor berbeda); diimpor"
            issues.append(Issue(row.row, "", "possible_duplicate", message, rejected=False))
        report.issues.extend(issues)
        report.fit.add(row.row)
        yield row


def _repeat(row: RegisterRow, first: int, fingerprint: str, report: Report) -> None:
    if fingerprint == row.fingerprint:
        report.duplicates += 1
        message = f"sama persis dengan baris {first}; dilewati"
        report.issues.append(Issue(row.row, "", "duplicate", message, rejected=False))
        return
    report.rejected += 1
    same = "nomor register (dan tahun)" if row.register_ref else "isi, tanggal dan pelapor"
    message = f"{same} sama dengan baris {first}, tetapi kolom lain berbeda; baris {first} dipakai"
    report.issues.append(Issue(row.row, "", "conflict", message, rejected=True))


def _reused(row: RegisterRow, first: str) -> Issue:
    message = (
        f"nomor register (dan tahun) sama dengan {first}, tetapi pengaduannya lain (jenis, "
        "pelapor, atau tanggal dan isinya berbeda; penomoran dimulai lagi?); diimpor sebagai "
        "pengaduan tersendiri"
    )
    return Issue(row.row, "", "number_reused", message, rejected=False)


def batched(rows: Iterable[RegisterRow], size: int) -> Iterator[list[RegisterRow]]:
    """Consecutive lists of `size` rows (the last one shorter)."""
    chunk: list[RegisterRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class Store:
    """Intake's event store, as the import writes to it."""

    submissions: Submissions
    writer: Writer
    pseudonyms: Pseudonyms
    agency: str
    tz: ZoneInfo

    @classmethod
    def open(cls, settings: Settings) -> Store:
        """Create intake's schema and tables if need be (as the service does on start)."""
        submissions, pseudonyms = asyncio.run(_prepare(settings))
        tz = ZoneInfo(settings.timezone)
        return cls(submissions, Writer(submissions), pseudonyms, settings.agency, tz)

    def close(self) -> None:
        """Release the connections."""
        self.submissions.close()

    def save(self, rows: list[RegisterRow], report: Report) -> None:
        """Commit the rows not stored yet, in one transaction."""
        rows = self._placed(rows, report)
        stored = self.submissions.find_many([row.case_id for row in rows])
        fresh = [row for row in rows if row.case_id not in stored]
        for row in rows:
            found = stored.get(row.case_id)
            if found is not None:
                report.already += 1
                # (a row imported before rows were fingerprinted by what they say: its cells')
                if found.fingerprint not in (row.fingerprint, row.cells_fingerprint):
                    message = "sudah diimpor sebelumnya dengan isi lain; perubahan tidak diterapkan"
                    report.issues.append(Issue(row.row, "", "changed_since_import", message, False))
        if not fresh:
            return
        outcomes = self.writer.commit([self.pending(row) for row in fresh])
        replayed = sum(outcome.replayed for outcome in outcomes)
        report.imported += len(outcomes) - replayed
        report.already += replayed

    def _placed(self, rows: list[RegisterRow], report: Report) -> list[RegisterRow]:
        """Each row with a register number under the identity the store knows it by: its number
        alone if the complaint stored under it is this one (a repeat or a correction), else its
        number and day if stored so, else its number and day if another complaint has
        its number (a number used again), else as the file gave it."""
        numbered = [row for row in rows if row.register_ref]
        if not numbered:
            return rows
        bases = {row.row: row.numbered() for row in numbered}
        owns = {row.row: row.renumbered() for row in numbered}
        ids = [each.case_id for each in (*bases.values(), *owns.values())]
        stored = self.submissions.find_many(ids)
        placed, taken = [], set()
        for row in rows:
            choice = row
            if row.register_ref:
                base, own = bases[row.row], owns[row.row]
                under = stored.get(base.case_id)
                if under is not None and not row.another_than(self._gist(under)):
                    choice = base
                elif own.case_id in stored or under is not None:
                    choice = own
                    if under is not None and row.identity != own.identity:
                        report.issues.append(
                            _reused(row, "pengaduan yang sudah diimpor sebelumnya")
                        )
            if choice.case_id in taken:  # two rows of the file the store tells apart no better
                choice = row
            taken.add(choice.case_id)
            placed.append(choice)
        return placed

    def _gist(self, found: IndexRow) -> str | None:
        """A stored row's gist; of a row imported before gists were kept, its day alone."""
        if found.gist is not None:
            return found.gist
        submission: Submission = self.submissions.repository.get(found.case_id)
        received_at = submission.received.received_at.astimezone(self.tz)
        return f"{received_at.date().isoformat()}:"

    def pending(self, row: RegisterRow) -> Pending:
        """The row sealed under a personal key of its own, like any submission."""
        key = SealingKey.new()
        contact = vars(row.contact) if row.contact else None
        sealed = key.seal(
            {"text": row.text, "contact": contact, "attachments": [], "register": row.extra}
        )
        history = History(
            row.source_channel, row.source_category, row.register_ref, row.outcome, row.closed_at
        )

        def build(code: str) -> Submission:
            received = Received(
                kind=row.kind.value,
                channel=row.channel.value,
                channel_message_id=row.identity,
                tracking_code=code,
                agency=self.agency,
                received_at=row.received_at,
                category=row.category,
                anonymous=False,
                confidential=False,
                personal_ref=key.ref,
                sealed=sealed,
            )
            return Submission.import_(id=row.case_id, received=received, history=history)

        identities = [(digest, row.case_id) for digest in self.pseudonyms.of_contact(row.contact)]
        found = list(row.personal)  # found once, when the row was read
        extra = [value for value in (row.extra or {}).values() if isinstance(value, str)]
        typed = [*pii.identifiers(row.text, found), *(p for t in extra for p in pii.identifiers(t))]
        mentions = [(digest, row.case_id) for digest in self.pseudonyms.of_found(typed)]
        name = row.contact.name if row.contact else None
        rows = Rows(
            identities=identities,
            mentions=mentions,
            words=[(row.case_id, mask(row.text, found))],  # searchable like any submission
            indexed=[row.case_id],  # every text of it is in `words`: no backfill at start
            names=[(digest, row.case_id) for digest in self.pseudonyms.of_name(name)],
        )
        return Pending(
            row.case_id, build, key, row.fingerprint, rows, agency=self.agency, gist=row.gist
        )


async def _prepare(settings: Settings) -> tuple[Submissions, Pseudonyms]:
    async with setup_lock(settings, SCHEMA):
        await ensure_schema(settings, SCHEMA)
        submissions = await asyncio.to_thread(open_submissions, settings)
        pseudonyms = await Pseudonyms.load(settings)
    return submissions, pseudonyms

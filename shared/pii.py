"""Personal data typed into free text: found, and masked where the reader may not see it.

The contract every surface uses: `find(text)` lists what was found, `mask(text)` replaces it
(a NIK keeps its last four digits; `[telepon]`, `[email]`, `[nama]`, see `PLACEHOLDERS`), and
`identifiers(text)` gives the ones an erasure finds a person by (NIK, phone, e-mail).

What it knows, each by its structure and not by its look alone:
- NIK: 16 digits whose province code is a real one (Kemendagri), whose regency and district
  codes are plausible and whose birth date (DDMMYY, +40 on the day for women) is a calendar
  date; a 16-digit number named as something else (invoice, NIB, ID pelanggan) is not one.
- phone: Indonesian mobile and landline numbers in their usual spellings (+62, 62, 0…,
  "(031) 123 4567", spaces, dots, dashes), kept when `phonenumbers` says the number is valid.
- email; vehicle plates (a real region letter code, "L 1234 AB"); NPWP (formatted, or 15/16
  digits named NPWP); bank accounts (digits next to a bank name or "rek."); names after the
  cues Indonesian letters use (nama saya, a.n., Bapak/Ibu, Sdr., ttd, hormat saya).

NIKs are parsed by lokal-id (its `parse_nik`: the province code, regency and district not 00,
the birth date with +40 for women, a serial other than 0000); on top of it a regency code must
be a kabupaten (01-59) or kota (71-79) code.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import phonenumbers
from lokal import parse_nik


@dataclass(frozen=True)
class Found:
    """One piece of personal data in a text: its kind, where it stands, what it says."""

    kind: str
    start: int
    end: int
    value: str


PLACEHOLDERS = {
    "phone": "[telepon]",
    "email": "[email]",
    "name": "[nama]",
    "plate": "[nomor polisi]",
    "npwp": "[NPWP]",
    "account": "[rekening]",
}
"""What a masked item of each kind reads as (a NIK keeps its last four digits)."""

KINDS = ("nik", *PLACEHOLDERS)

LABELS = {
    "nik": "NIK",
    "phone": "telepon",
    "email": "email",
    "name": "nama",
    "plate": "nomor polisi",
    "npwp": "NPWP",
    "account": "rekening",
}
"""Each kind as officers read it (reports, the case page's marks)."""

ERASABLE = ("nik", "phone", "email")
"""The kinds an erasure request names a person by (services/intake/personal.py)."""

PLATE_REGIONS = frozenset(
    [
        "A",
        "B",
        "D",
        "E",
        "F",
        "G",
        "H",
        "K",
        "L",
        "M",
        "N",
        "P",
        "R",
        "S",
        "T",
        "W",
        "Z",
        "AA",
        "AB",
        "AD",
        "AE",
        "AG",
        "BA",
        "BB",
        "BD",
        "BE",
        "BG",
        "BH",
        "BK",
        "BL",
        "BM",
        "BN",
        "BP",
        "DA",
        "DB",
        "DC",
        "DD",
        "DE",
        "DG",
        "DH",
        "DK",
        "DL",
        "DM",
        "DN",
        "DR",
        "DS",
        "DT",
        "EA",
        "EB",
        "ED",
        "KB",
        "KH",
        "KT",
        "KU",
        "PA",
        "PB",
        "PG",
        "PT",
    ]
)
"""Region letters of Indonesian vehicle plates (tanda nomor kendaraan bermotor)."""

_NIK_CUES = re.compile(
    r"\b(?:(?P<nik>nik|ktp|e-?ktp|kependudukan)|invoice|inv|faktur|tagihan|nib|pelanggan|resi|"
    r"transaksi|referensi|ref|order|pesanan|kode|va|virtual\s*account|npwp|rek(?:ening)?|"
    r"kk|kartu\s*keluarga|akta|sertifikat|bpjs|kis|izin|nomor\s*induk\s*berusaha)\b",
    re.IGNORECASE,
)
"""What names a 16-digit number just before it: a NIK (`nik`), or something else."""

_SENTENCE = re.compile(r"[.!?;]\s|\n")
_SIXTEEN = re.compile(r"(?<![\w.,/-])\d{4}[ .-]?\d{4}[ .-]?\d{4}[ .-]?\d{4}(?![\w/]|[.,-]\d)")

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][\w.+-]*\s?(?:@|\[at\]|\(at\))\s?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
    r"\.[A-Za-z]{2,}(?![\w-])",
    re.IGNORECASE,
)

_AT = re.compile(r"@|\[at\]|\(at\)", re.IGNORECASE)

_PHONE = re.compile(
    r"(?<![\w+/.,-])(?:\+\s?62|62|\(0\d{2,4}\)|0)(?:[\s.-]{0,2}\d{1,6}){2,6}(?![\w/])"
)
_GROUP = re.compile(r"\d+")

_NOT_PHONE = re.compile(
    r"\b(?:tanggal|tgl|invoice|faktur|nib|npwp|resi|kode|rek(?:ening)?|nik|rp\.?|pelanggan|"
    r"pln|pdam|meter|transaksi|nomor\s*polisi|nopol)\W{0,4}(?:[^\W\d]\w*\W{1,3})?"
    r"(?:no\.?\W{0,3})?$",
    re.IGNORECASE,
)

_PLATE = re.compile(r"(?<![\w-])([A-Z]{1,2})[ -]?(\d{1,4})[ -]?([A-Z]{1,3})(?![\w-])")

_NPWP_FORMATTED = re.compile(r"(?<![\d.])\d{2}\.\d{3}\.\d{3}\.\d[-.]\d{3}\.\d{3}(?![\d.]\d)")
_NPWP_CUED = re.compile(r"NPWP\W{0,4}(?:no\.?\W{0,3})?(\d[\d .-]{13,20}\d)", re.IGNORECASE)

_BANK = (
    r"(?:BRI|BCA|BNI|BSI|BTN|Mandiri|CIMB(?:\s*Niaga)?|Danamon|Permata|Muamalat|Mega|"
    r"Bank\s+(?:Jatim|Jateng|DKI|BJB|Syariah\s+Indonesia|[A-Z][a-z]+)|"
    r"rek\.?|rekening|no\.?\s*rek\.?)"
)
_ACCOUNT = re.compile(
    _BANK + r"(?:\W{1,4}(?:no\.?|nomor|rekening|rek\.?)){0,2}\W{0,4}(\d(?:[ .-]?\d){7,17})(?!\d)",
    re.IGNORECASE,
)

_NAME_WORD = r"(?:[A-Z][a-z'’]+\.?|[A-Z]{2,}|[A-Z]\.)"
_LOWER_WORD = r"(?:[a-z][a-z'’]+)"
_STRONG_CUE = re.compile(
    r"(?:nama\s+saya(?:\s+adalah)?|nama\s*(?:lengkap|pelapor|pemohon)?\s*:|atas\s+nama|"
    r"\ba\.\s?n\.?)\s*",
    re.IGNORECASE,
)
_WEAK_CUE = re.compile(
    r"(?:\b(?:[Ss]aya|[Bb]apak|[Bb]pk\.?|[Ii]bu|[Ss]dr[ia]?\.?|[Ss]audara(?:i)?|[Pp]ak|"
    r"[Tt]td\.?|[Hh]ormat\s+saya,?|[Ss]alam,?)|(?<!PT )(?<!CV )(?<!UD )\b(?:[Bb]u|[Mm]bak?|"
    r"[Mm]as|[Kk]ak|Pelapor|Pemohon)\b\s*:?|(?<=\d)[ \t]*\()"
    r"[ \t]*\n?[ \t]*"
)
_NOT_NAME = frozenset(
    [
        "kepala",
        "dinas",
        "camat",
        "lurah",
        "bupati",
        "wali",
        "kota",
        "walikota",
        "sekretaris",
        "kabid",
        "bidang",
        "petugas",
        "admin",
        "pak",
        "bapak",
        "ibu",
        "saudara",
        "saudari",
        "sdr",
        "sdri",
        "warga",
        "pemohon",
        "pelapor",
        "yang",
        "dan",
        "atau",
        "dengan",
        "untuk",
        "dari",
        "ke",
        "di",
        "pada",
        "ini",
        "itu",
        "mohon",
        "ingin",
        "mau",
        "sudah",
        "belum",
        "telah",
        "tidak",
        "bukan",
        "akan",
        "sedang",
        "juga",
        "hanya",
        "sangat",
        "sebagai",
        "selaku",
        "adalah",
        "merupakan",
        "kami",
        "kita",
        "mereka",
        "anda",
        "dia",
        "beliau",
        "terima",
        "kasih",
        "tolong",
        "minta",
        "selamat",
        "pagi",
        "siang",
        "sore",
        "malam",
        "nomor",
        "no",
        "nik",
        "hp",
        "telepon",
        "wa",
        "whatsapp",
        "email",
        "alamat",
        "rt",
        "rw",
        "jl",
        "jalan",
        "desa",
        "kelurahan",
        "kecamatan",
        "kabupaten",
        "kota",
        "provinsi",
        "dinas",
        "kantor",
        "pt",
        "cv",
        "ud",
        "tbk",
        "tanggal",
        "tgl",
        "bulan",
        "tahun",
        "rp",
        "rupiah",
        "izin",
        "perizinan",
        "pengaduan",
        "laporan",
        "keluhan",
        "terkait",
        "tentang",
        "mengenai",
        "soal",
        "atas",
        "nama",
        "kepada",
        "yth",
        "sebut",
        "bisa",
        "dapat",
        "harus",
        "perlu",
        "masih",
        "lagi",
        "baru",
        "lama",
        "sekali",
        "sampai",
        "hingga",
        "sejak",
        "karena",
        "sebab",
        "agar",
        "supaya",
        "jika",
        "kalau",
        "namun",
        "tetapi",
        "tapi",
        "oleh",
        "bagian",
        "staf",
        "pegawai",
        "oss",
        "pbg",
        "slf",
        "nib",
        "siup",
        "imb",
        "dpmptsp",
        "tim",
        "humas",
        "layanan",
        "pusat",
    ]
)
_NAME_MAX_WORDS = 4


def _nik_structured(digits: str) -> bool:
    """Whether 16 digits can be a NIK: PP KK CC DDMMYY SSSS with real codes and date."""
    regency = int(digits[2:4])
    return parse_nik(digits).valid and (1 <= regency <= 59 or 71 <= regency <= 79)


def _niks(text: str) -> Iterator[Found]:
    for match in _SIXTEEN.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        before = _SENTENCE.split(text[max(0, match.start() - 40) : match.start()])[-1]
        cues = list(_NIK_CUES.finditer(before))
        if cues and cues[-1].group("nik") is None:
            continue  # the nearest cue names it something else: an invoice, a NIB
        if _nik_structured(digits):
            yield Found("nik", match.start(), match.end(), match.group())


def _phone_valid(spelled: str) -> bool:
    digits = re.sub(r"[^\d+]", "", spelled)
    try:
        number = phonenumbers.parse(digits, "ID")
    except phonenumbers.NumberParseException:
        return False
    return number.country_code == 62 and phonenumbers.is_valid_number(number)


def _phones(text: str) -> Iterator[Found]:
    for match in _PHONE.finditer(text):
        if _NOT_PHONE.search(text[max(0, match.start() - 30) : match.start()]):
            continue
        groups = list(_GROUP.finditer(match.group()))
        first = groups[0].group()
        if first == "0" and len(groups[1].group()) < 2:
            continue
        if first.startswith("0") and first != "0" and len(first) < 3:
            continue  # "02.03.2024" is a date
        for last in range(len(groups), 0, -1):  # the longest run of groups that is a number
            end = match.start() + groups[last - 1].end()
            spelled = text[match.start() : end]
            if sum(len(g.group()) for g in groups[:last]) >= 8 and _phone_valid(spelled):
                yield Found("phone", match.start(), end, spelled)
                break


def _emails(text: str) -> Iterator[Found]:
    if _AT.search(text) is None:  # no address without its "@" (a quick look first)
        return
    for match in _EMAIL.finditer(text):
        yield Found("email", match.start(), match.end(), match.group())


def _plates(text: str) -> Iterator[Found]:
    for match in _PLATE.finditer(text):
        region, number, _suffix = match.groups()
        if region in PLATE_REGIONS and not number.startswith("0"):
            yield Found("plate", match.start(), match.end(), match.group())


def _npwps(text: str) -> Iterator[Found]:
    for match in _NPWP_FORMATTED.finditer(text):
        yield Found("npwp", match.start(), match.end(), match.group())
    for match in _NPWP_CUED.finditer(text):
        if len(re.sub(r"\D", "", match.group(1))) in (15, 16):
            yield Found("npwp", match.start(1), match.end(1), match.group(1))


def _accounts(text: str) -> Iterator[Found]:
    for match in _ACCOUNT.finditer(text):
        if len(re.sub(r"\D", "", match.group(1))) <= 16:
            yield Found("account", match.start(1), match.end(1), match.group(1))


def _name_after(text: str, at: int, strong: bool) -> Found | None:
    """The name starting at `at`, if the words there read as one."""
    word = re.compile(
        rf"(?:{_NAME_WORD}|{_LOWER_WORD})" if strong else _NAME_WORD,
    )
    words: list[tuple[int, int]] = []
    position = at
    while len(words) < _NAME_MAX_WORDS:
        match = word.match(text, position)
        if match is None or match.group().rstrip(".").lower() in _NOT_NAME:
            break
        words.append((match.start(), match.end()))
        gap = re.compile(r"[ \t]+").match(text, match.end())
        if gap is None:
            break
        position = gap.end()
    if not words:
        return None
    start, end = words[0][0], words[-1][1]
    value = text[start:end]
    if not strong and (len(value.rstrip(".")) < 3 or re.fullmatch(r"[A-Z]{2,4}", value)):
        return None  # "saya PNS", "Ibu RT": an abbreviation, not a name
    return Found("name", start, end, value)


def _names(text: str) -> Iterator[Found]:
    for cue, strong in ((_STRONG_CUE, True), (_WEAK_CUE, False)):
        for match in cue.finditer(text):
            found = _name_after(text, match.end(), strong)
            if found is not None:
                yield found


_DETECTORS: tuple[Callable[[str], Iterator[Found]], ...] = (
    _emails,
    _npwps,
    _niks,
    _accounts,
    _phones,
    _plates,
    _names,
)
"""In order of trust: where two finds overlap, the earlier detector's wins."""


_IDENTIFYING = _DETECTORS[: _DETECTORS.index(_phones) + 1]
"""The detectors up to the last that finds an ERASABLE kind: a later one never takes a place
an earlier one found, so these alone give the identifiers."""


def find(
    text: str, detectors: tuple[Callable[[str], Iterator[Found]], ...] = _DETECTORS
) -> list[Found]:
    """The personal data in a text, in order, without overlaps (`detectors`: only these)."""
    kept: list[Found] = []
    for detector in detectors:
        for item in detector(text):
            if all(item.end <= other.start or item.start >= other.end for other in kept):
                kept.append(item)
    return sorted(kept, key=lambda item: item.start)


def placeholder(item: Found) -> str:
    """What a masked item reads as."""
    if item.kind == "nik":
        return f"[NIK ****{re.sub(r'[^0-9]', '', item.value)[-4:]}]"
    return PLACEHOLDERS.get(item.kind, "[nama]")


def mask(text: str, found: list[Found] | None = None) -> str:
    """The text with every piece of personal data replaced by its placeholder (`found`: what
    `find(text)` gave, when the caller has it already)."""
    parts, at = [], 0
    for item in find(text) if found is None else found:
        parts += [text[at : item.start], placeholder(item)]
        at = item.end
    return "".join(parts) + text[at:]


class MaskingFilter(logging.Filter):
    """Logs never carry personal data: a log handler's filter that masks what a message (or
    its traceback: an error may quote a value) holds, whatever logger wrote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = mask(message), None
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def identifiers(text: str, found: list[Found] | None = None) -> list[tuple[str, str]]:
    """The (kind, value) pairs an erasure may find the writer of this text by (`found`: what
    `find(text)` gave, when the caller has it already)."""
    found = find(text, _IDENTIFYING) if found is None else found
    return [(item.kind, normalized(item)) for item in found if item.kind in ERASABLE]


def normalized(item: Found) -> str:
    """One spelling of an identifier: bare digits for a NIK, E.164 for a phone."""
    if item.kind == "nik":
        return re.sub(r"\D", "", item.value)
    if item.kind == "email":
        return re.sub(r"\s*(?:\[at\]|\(at\))\s*|\s*@\s*", "@", item.value, flags=re.IGNORECASE)
    return item.value

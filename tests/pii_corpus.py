"""A labelled synthetic set of Indonesian complaint texts with personal data in them.

    .venv/bin/python -m tests.pii_corpus        (prints a few texts with their labels)

Each text is built from parts, so the position of every NIK, phone number, e-mail address,
plate, NPWP, bank account and name is known. Texts also carry look-alikes that are not
personal data: 16-digit invoice and NIB numbers, customer ids, dates, times, amounts, tracking
codes, parcel numbers, RT/RW. The same seed gives the same set (bench/pii.py and
tests/shared/test_pii.py read it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import phonenumbers
from lokal import PROVINCES

from shared.pii import PLATE_REGIONS
from shared.tracking_code import ALPHABET

SEED = 17
SIZE = 400


@dataclass(frozen=True)
class Label:
    """One piece of personal data in a sample: its kind and where it stands."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Sample:
    """A text and what it holds."""

    text: str
    labels: tuple[Label, ...]


FIRST = [
    "Budi",
    "Siti",
    "Agus",
    "Dewi",
    "Rahmat",
    "Nur",
    "Sri",
    "Eko",
    "Wahyu",
    "Andi",
    "Putri",
    "Yohanes",
    "Maria",
    "Hendra",
    "Lina",
    "Muhammad",
    "Ahmad",
    "Fitri",
    "Ratna",
    "Bambang",
    "Slamet",
    "Sugeng",
    "Retno",
    "Indah",
    "Yusuf",
    "Aisyah",
    "Rizky",
    "Dimas",
    "Ayu",
    "Fajar",
    "Heru",
    "Joko",
    "Lestari",
    "Wulan",
    "Teguh",
    "Yanti",
    "Made",
    "Ketut",
    "Nyoman",
    "Kadek",
    "Fransiska",
    "Stefanus",
    "Hana",
    "Irfan",
    "Galih",
    "Asep",
    "Ujang",
    "Dadang",
    "Cucu",
    "Euis",
    "Imas",
    "Taufik",
    "Hadi",
    "Rudi",
    "Yuli",
    "Novi",
    "Citra",
    "Bayu",
]
LAST = [
    "Santoso",
    "Wijaya",
    "Pratama",
    "Saputra",
    "Hidayat",
    "Kurniawan",
    "Setiawan",
    "Nugroho",
    "Rahayu",
    "Lestari",
    "Susanti",
    "Hartono",
    "Simanjuntak",
    "Siregar",
    "Tanoto",
    "Gunawan",
    "Purnomo",
    "Wibowo",
    "Hasibuan",
    "Nasution",
    "Sitompul",
    "Halim",
    "Suryadi",
    "Permana",
    "Kusuma",
    "Maulana",
    "Ramadhan",
    "Firmansyah",
    "Anggraini",
    "Handayani",
    "Suharto",
    "Prasetyo",
    "Utomo",
    "Syahputra",
    "Lubis",
    "Sembiring",
    "Manurung",
]
MOBILE = [
    "811",
    "812",
    "813",
    "821",
    "822",
    "823",
    "852",
    "853",
    "851",
    "855",
    "856",
    "857",
    "858",
    "877",
    "878",
    "881",
    "882",
    "883",
    "884",
    "885",
    "887",
    "888",
    "895",
    "896",
    "897",
    "898",
    "899",
    "831",
    "832",
    "838",
]
AREAS = [
    "21",
    "22",
    "24",
    "31",
    "341",
    "342",
    "343",
    "321",
    "322",
    "325",
    "331",
    "335",
    "351",
    "354",
    "358",
    "361",
    "274",
    "271",
    "411",
    "61",
]
DOMAINS = [
    "gmail.com",
    "yahoo.com",
    "yahoo.co.id",
    "ymail.com",
    "outlook.com",
    "hotmail.com",
    "mail.com",
]
PLACES = "Gresik Menganti Kebomas Manyar Cerme Driyorejo Wringinanom Sidayu Bungah Duduksampeyan"


def nik(rng: random.Random) -> str:
    """A NIK with the real structure (province, regency, district, birth date, serial)."""
    province = rng.choice(sorted(PROVINCES))
    regency = rng.choice([*range(1, 30), *range(71, 80)])
    district = rng.randint(1, 35)
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(0, 99)
    if rng.random() < 0.5:
        day += 40
    serial = rng.randint(1, 9999)
    return f"{province}{regency:02}{district:02}{day:02}{month:02}{year:02}{serial:04}"


def spelled_nik(rng: random.Random) -> str:
    digits = nik(rng)
    style = rng.random()
    if style < 0.7:
        return digits
    if style < 0.9:
        return " ".join(digits[i : i + 4] for i in range(0, 16, 4))
    return "-".join((digits[:4], digits[4:8], digits[8:12], digits[12:]))


def phone(rng: random.Random) -> str:
    """An Indonesian phone number as people write it."""
    while True:
        if rng.random() < 0.8:
            prefix, rest = rng.choice(MOBILE), rng.randint(7, 9)
            national = prefix + "".join(str(rng.randint(0, 9)) for _ in range(rest))
            mobile = True
        else:
            prefix = rng.choice(AREAS)
            national = (
                prefix
                + str(rng.randint(2, 8))
                + "".join(str(rng.randint(0, 9)) for _ in range(5 if len(prefix) == 3 else 6))
            )
            mobile = False
        parsed = phonenumbers.parse("0" + national, "ID")
        if phonenumbers.is_valid_number(parsed):
            break
    head, tail = national[: len(prefix)], national[len(prefix) :]
    style = rng.randrange(8)
    if not mobile:
        return [
            f"(0{head}) {tail[:3]} {tail[3:]}",
            f"0{head}-{tail}",
            f"0{head} {tail}",
            f"(0{head}) {tail}",
            f"+62 {head} {tail}",
            f"0{head}{tail}",
            f"0{head}.{tail}",
            f"62{head}{tail}",
        ][style]
    groups = [tail[:4], tail[4:]]
    return [
        "0" + national,
        f"0{head}-{groups[0]}-{groups[1]}",
        f"0{head} {groups[0]} {groups[1]}",
        f"+62 {head}-{groups[0]}-{groups[1]}",
        f"+62{national}",
        f"62{national}",
        f"0{head}.{groups[0]}.{groups[1]}",
        f"+62 {head} {groups[0]} {groups[1]}",
    ][style]


def email(rng: random.Random, name: str) -> str:
    first, *rest = name.lower().split()
    local = rng.choice(
        [
            first,
            f"{first}.{rest[0] if rest else 'id'}",
            f"{first}{rng.randint(1, 99)}",
            f"{first}_{rng.randint(1970, 2005)}",
        ]
    )
    address = f"{local}@{rng.choice(DOMAINS)}"
    return address.upper() if rng.random() < 0.05 else address


def plate(rng: random.Random) -> str:
    region = rng.choice(sorted(PLATE_REGIONS))
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.randint(1, 3)))
    return f"{region} {rng.randint(1, 9999)} {letters}"


def npwp(rng: random.Random) -> str:
    d = "".join(str(rng.randint(0, 9)) for _ in range(15))
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}.{d[8]}-{d[9:12]}.{d[12:]}"


def account(rng: random.Random) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(rng.randint(10, 15)))


def full_name(rng: random.Random) -> str:
    words = [rng.choice(FIRST)] + [rng.choice(LAST) for _ in range(rng.choice([0, 1, 1, 2]))]
    return " ".join(words)


Part = str | tuple[str, str]  # plain text, or (kind, value)


def _opening(rng: random.Random, name: str) -> list[Part]:
    return rng.choice(
        [
            ["Nama saya ", ("name", name), ". "],
            ["Saya ", ("name", name), ", warga Desa ", rng.choice(PLACES.split()), ". "],
            ["Dengan hormat, saya ", ("name", name), " ingin menyampaikan pengaduan. "],
            ["Yth. Bapak/Ibu petugas, nama saya ", ("name", name.lower()), " dari Gresik. "],
            ["Perkenalkan, nama lengkap: ", ("name", name), "\n"],
            ["Assalamualaikum. ", "Pelapor: ", ("name", name), "\n"],
            ["Pelapor ", ("name", name), " datang ke loket. "],
            ["Warga atas nama Bu ", ("name", name), " mengeluh. "],
            ["Tetangga saya, Mbak ", ("name", name), ", juga belum dilayani. "],
            ["Kemarin Mas ", ("name", name), " menelepon kantor. "],
            ["Pelapor tidak hadir saat dipanggil. "],
            ["Selamat pagi. "],
            ["Saya PNS di Kecamatan Manyar. "],
            ["Mohon maaf, Ibu Kota Kabupaten jauh dari desa kami. "],
        ]
    )


def _issue(rng: random.Random) -> list[Part]:
    code = (
        "".join(rng.choice(ALPHABET) for _ in range(4))
        + "-"
        + "".join(rng.choice(ALPHABET) for _ in range(4))
    )
    return rng.choice(
        [
            ["Permohonan PBG saya dengan kode ", code, " belum diproses sejak 12-05-2024. "],
            ["Saya sudah membayar retribusi Rp 1.250.000 tetapi izin belum terbit. "],
            ["Pengajuan NIB 9120001234567 ditolak tanpa alasan pada tanggal 03/04/2024. "],
            [
                "Tagihan dengan No. Invoice ",
                "".join(str(rng.randint(0, 9)) for _ in range(16)),
                " sudah saya bayar lunas. ",
            ],
            [
                "NIB perusahaan kami ",
                "".join(str(rng.randint(0, 9)) for _ in range(16)),
                " tidak muncul di sistem OSS. ",
            ],
            [
                "ID pelanggan PLN ",
                "".join(str(rng.randint(0, 9)) for _ in range(12)),
                " tidak sesuai alamat RT 03 RW 05. ",
            ],
            ["Berkas dikirim lewat JNE resi ", "CGK", str(rng.randint(10**11, 10**12)), ". "],
            ["Petugas datang pukul 08.30 dan pulang pukul 10.15 tanpa memeriksa. "],
            ["Biaya Rp1.500.000,00 diminta di luar ketentuan, padahal gratis. "],
            [
                "Nomor transaksi ",
                "".join(str(rng.randint(0, 9)) for _ in range(16)),
                " tercatat gagal. ",
            ],
            ["Pelayanan di loket 3 lambat, antre dari jam 8 sampai jam 12. "],
            ["Mohon Bapak Kepala Dinas dan Ibu Camat menindaklanjuti laporan ini. "],
            ["Saya Mohon agar Sdr. Petugas OSS tidak mempersulit. "],
            ["Surat dari Kantor Pertanahan tertanggal 08-12-2023 belum kami terima. "],
            ["Telepon kantor dinas (031) selalu sibuk, nomor pengaduan 112 tidak menjawab. "],
            ["Izin usaha nomor 503/123/437.76/2024 belum ditandatangani. "],
        ]
    )


def _contact(rng: random.Random, name: str) -> list[Part]:
    choices: list[list[Part]] = [
        ["NIK saya ", ("nik", spelled_nik(rng)), ". "],
        ["No. KTP: ", ("nik", spelled_nik(rng)), "\n"],
        ["Data saya: ", ("nik", spelled_nik(rng)), ", HP ", ("phone", phone(rng)), ". "],
        ["Mohon hubungi saya di ", ("phone", phone(rng)), ". "],
        ["No WA ", ("phone", phone(rng)), " / telp kantor ", ("phone", phone(rng)), "\n"],
        ["Email: ", ("email", email(rng, name)), "\n"],
        [
            "Balasan bisa dikirim ke ",
            ("email", email(rng, name)),
            " atau ",
            ("phone", phone(rng)),
            ". ",
        ],
        [". Kendaraan saya bernopol ", ("plate", plate(rng)), " ditilang di depan kantor. "],
        ["NPWP: ", ("npwp", npwp(rng)), ". "],
        [
            "Dana dikembalikan ke rek. ",
            rng.choice(["BRI", "BCA", "Mandiri", "BNI", "BSI"]),
            " ",
            ("account", account(rng)),
            " a.n. ",
            ("name", name),
            ". ",
        ],
        ["Saya dilayani oleh Bapak ", ("name", full_name(rng)), " di loket 2. "],
        ["Petugas bernama Sdr. ", ("name", full_name(rng)), " meminta uang. "],
        ["Mohon disampaikan kepada Ibu ", ("name", full_name(rng)), ". "],
        ["Sertifikat atas nama ", ("name", name), " belum selesai. "],
        ["Kontak: ", ("phone", phone(rng)), " (", ("name", name), "). "],
        ["nik ", ("nik", spelled_nik(rng)), " hp ", ("phone", phone(rng)), " "],
    ]
    picked = rng.sample(choices, rng.randint(1, 3))
    return [part for parts in picked for part in parts]


def _closing(rng: random.Random, name: str) -> list[Part]:
    return rng.choice(
        [
            ["\n\nHormat saya,\n", ("name", name)],
            ["\nTerima kasih.\nttd\n", ("name", name)],
            ["\nSalam, ", ("name", name)],
            ["\nTerima kasih atas perhatiannya."],
            ["\nSalam, Tim OSS Kecamatan"],
            ["\nHormat kami,\nPT Maju Jaya Sentosa"],
            [" Mohon segera ditindaklanjuti."],
            ["\n\nPemohon: ", ("name", name), "\nNIK: ", ("nik", spelled_nik(rng))],
        ]
    )


def sample(rng: random.Random) -> Sample:
    """One complaint text and its labels."""
    name = full_name(rng)
    parts: list[Part] = [
        *_opening(rng, name),
        *_issue(rng),
        *_contact(rng, name),
        *(_issue(rng) if rng.random() < 0.5 else []),
        *_closing(rng, name),
    ]
    text, labels = "", []
    for part in parts:
        if isinstance(part, tuple):
            kind, value = part
            labels.append(Label(kind, len(text), len(text) + len(value)))
            text += value
        else:
            text += part
    return Sample(text, tuple(labels))


def corpus(seed: int = SEED, size: int = SIZE) -> list[Sample]:
    """The labelled set: the same seed, the same texts."""
    rng = random.Random(seed)
    return [sample(rng) for _ in range(size)]


if __name__ == "__main__":
    for item in corpus()[:5]:
        print(item.text)
        print([(label.kind, item.text[label.start : label.end]) for label in item.labels])
        print()

"""A file's type from its content (magic bytes), never the client's word; served as a download.

Intake and workflow both decide an attachment's type here, from its first bytes, and serve
stored files back with that type as an attachment the browser must not sniff or render.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import quote

from fastapi.responses import Response

from shared.text import BIDI_CONTROLS


def _mp3_frame(head: bytes) -> bool:
    """MPEG audio frame sync: 11 bits set, and a layer (00 is ADTS)."""
    return len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0


def _adts(head: bytes) -> bool:
    """AAC ADTS: 12 bits of sync, layer 00."""
    return len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0


def _text(content: bytes) -> bool:
    """Plain text: valid UTF-8 with no NUL."""
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _ftyp(content: bytes) -> bool:
    return content[4:8] == b"ftyp"


Test = Callable[[bytes], bool]

# Each type and how its content is recognised; the first that fits decides, unless the
# client's declared type is one that fits too (an M4A is both audio/mp4 and video/mp4).
SIGNATURES: tuple[tuple[str, Test], ...] = (
    ("application/pdf", lambda c: c.startswith(b"%PDF-")),
    ("image/png", lambda c: c.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image/jpeg", lambda c: c.startswith(b"\xff\xd8\xff")),
    ("image/webp", lambda c: c.startswith(b"RIFF") and c[8:12] == b"WEBP"),
    ("audio/ogg", lambda c: c.startswith(b"OggS")),
    ("audio/mpeg", lambda c: c.startswith(b"ID3") or _mp3_frame(c)),
    ("audio/aac", _adts),
    ("audio/mp4", lambda c: _ftyp(c) and c[8:11] == b"M4A"),
    ("video/mp4", _ftyp),
    ("audio/mp4", _ftyp),
    ("text/plain", _text),
)


TYPE_NAMES = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "audio/ogg": "OGG",
    "audio/mpeg": "MP3",
    "audio/aac": "AAC",
    "audio/mp4": "M4A",
    "video/mp4": "MP4",
    "text/plain": "TXT",
}
"""The short names people know the attachment types by (another: its subtype, HEIC)."""


def type_names(types: Iterable[str]) -> list[str]:
    """The types' short names, in order."""
    return [TYPE_NAMES.get(kind, kind.rsplit("/", 1)[-1].upper()) for kind in types]


def media_type(declared: str) -> str:
    """The bare media type, without parameters ("audio/ogg; codecs=opus" → "audio/ogg")."""
    return declared.split(";", 1)[0].strip().lower()


def candidates(content: bytes) -> list[str]:
    """Every type the content fits, most specific first."""
    found = [kind for kind, fits in SIGNATURES if fits(content)]
    return list(dict.fromkeys(found))


# Text has no magic: text declared as a binary type (HTML sent as "image/webp") is refused.
TEXT, UNTYPED = "text/plain", frozenset({"", "application/octet-stream"})


def decide(content: bytes, declared: str, allowed: Iterable[str]) -> str | None:
    """The allowed type the content is: the declared one if it fits, else the first that
    fits; None if the content is no allowed type (whatever was declared)."""
    said = media_type(declared)
    fitting = [kind for kind in candidates(content) if kind in set(allowed)]
    if fitting == [TEXT] and not (said.startswith("text/") or said in UNTYPED):
        return None
    if said in fitting:
        return said
    return fitting[0] if fitting else None


_UNSAFE = re.compile(rf"[\x00-\x1f\x7f/\\\"{BIDI_CONTROLS}]+")


def safe_filename(name: str, fallback: str = "lampiran") -> str:
    """A file name without paths, quotes, control characters or reordering controls (at most 150
    characters)."""
    cleaned = _UNSAFE.sub("_", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip(" .")
    return cleaned[:150] or fallback


def download(content: bytes, content_type: str, filename: str) -> Response:
    """Stored bytes as a download: their sniffed type, never rendered or sniffed by a browser."""
    name = safe_filename(filename)
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
    headers = {"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"}
    return Response(content, media_type=content_type, headers=headers)

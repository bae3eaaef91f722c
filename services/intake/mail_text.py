"""Text out of mail bytes, never failing: charsets with a fallback, encoded words (RFC 2047),
HTML bodies, one form of line end. What could not be decoded cleanly is added to `problems`."""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import quopri
import re
from html.parser import HTMLParser


class _Text(HTMLParser):
    """HTML to plain text: the text nodes, blocks on their own lines, no scripts or styles."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    HIDDEN = frozenset({"script", "style", "title"})  # not the mail's words
    CELLS = frozenset({"td", "th"})  # a table's cells: apart on their row

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag in self.CELLS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body."""
    parser = _Text()
    parser.feed(html)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def plain_lines(text: str) -> str:
    """Line ends as LF, whatever the mail used (CRLF, CR): one form for every body."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def decode(data: bytes, charset: str | None, problems: list[str]) -> str:
    """Bytes in their declared charset (`_decoded`), a half of a character's pair that some
    charsets (UTF-7, UTF-16) let through replaced: no UTF-8 text can hold it, so storing the
    mail, or its sender's name, would fail on every poll."""
    return LONE_SURROGATE.sub("\ufffd", _decoded(data, charset, problems))


def _decoded(data: bytes, charset: str | None, problems: list[str]) -> str:
    """Bytes in their declared charset; else UTF-8, else a replacement decoding (noted).

    A single-byte charset decodes any bytes without failing, so UTF-8 labelled as one (a common
    mistake of mail programs) would be read as garbage, silently: bytes that are valid UTF-8
    with characters beyond ASCII are read as UTF-8 whatever the label (text in a single-byte
    charset almost never happens to be valid UTF-8)."""
    name = (charset or "us-ascii").strip().strip('"').lower()[:40]
    if not data.isascii() and _single_byte(name):
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode("utf-8")
    try:
        return data.decode(name)
    except (LookupError, UnicodeDecodeError, ValueError) as error:
        unknown = not isinstance(error, UnicodeDecodeError)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if unknown:
        problems.append(f"charset '{name}' tidak dikenal; dibaca sebagai windows-1252")
        return data.decode("windows-1252", "replace")
    problems.append(f"sebagian isi tidak sesuai charset '{name}'")
    return data.decode("windows-1252" if name in ASCII else name, "replace")


def _single_byte(name: str) -> bool:
    """Whether a charset maps every byte to one character (latin-1, the windows-125x...)."""
    try:
        return codecs.lookup(name).name in SINGLE_BYTE
    except LookupError:
        return False


SINGLE_BYTE = frozenset(
    {"iso8859-1", "iso8859-15", "iso8859-2", "cp1250", "cp1252", "cp1257", "cp437"}
)
ASCII = frozenset({"us-ascii", "ascii", "us", "ansi_x3.4-1968"})
"""Declared by mail that is not: its 8-bit bytes are most often windows-1252."""
ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")


def _word(charset: str, encoding: str, text: str, problems: list[str]) -> str:
    """One encoded word (RFC 2047), in its charset as far as it goes."""
    data = text.encode("ascii", "replace")
    try:
        if encoding.upper() == "B":
            raw = base64.b64decode(data + b"=" * (-len(data) % 4))
        else:
            raw = quopri.decodestring(data.replace(b"_", b" "), header=True)
    except (ValueError, binascii.Error):
        problems.append("kepala surat rusak")
        return text
    return decode(raw, charset.split("*")[0], problems)


def header_text(value: str, problems: list[str]) -> str:
    """A raw header value unfolded, its encoded words (RFC 2047) and raw 8-bit text decoded."""
    value = re.sub(r"\r?\n(?=[ \t])", "", value)
    if any("\udc80" <= c <= "\udcff" for c in value):  # raw 8-bit bytes the parser escaped
        value = decode(value.encode("utf-8", "surrogateescape"), "unknown-8bit", problems)
    value = re.sub(r"(\?=)[ \t]+(?==\?)", r"\1", value)  # space between words is not text
    decoded = ENCODED_WORD.sub(lambda m: _word(m[1], m[2], m[3], problems), value)
    return decoded.replace("\r", " ").replace("\n", " ").strip()

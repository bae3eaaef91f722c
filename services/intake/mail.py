"""Reading complainants' mail: the words (plain or HTML), the attachments, the thread it is in,
forwarded mail inside it, and what kind of mail it is (services/intake/mail_kinds.py).

Reading never fails: each header and each part is decoded on its own, an unknown or wrong
charset falls back to a replacement decoding, and what could not be read is said in `problems`
(for officers, in Bahasa Indonesia). A mail with problems is `unreadable`; it keeps its raw bytes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email import errors, policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from uuid import UUID

from services.intake.draft import Attachment, believed
from services.intake.mail_kinds import Headers, MailKind, machine_kind
from services.intake.mail_text import decode, header_text, html_to_text, plain_lines
from shared.text import visible
from shared.tracking_code import normalize as normalize_code

CODE_IN_SUBJECT = re.compile(r"\b([0-9A-Za-z]{4}-[0-9A-Za-z]{4})\b")
OUR_MESSAGE_ID = re.compile(r"<aduan\.([0-9a-f-]{36})\.", re.IGNORECASE)
MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}>")  # printable ASCII, as RFC 5322 has it
ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
INLINE_FORWARD = re.compile(
    r"^-{3,}\s*(forwarded message|pesan terusan|original message|pesan asli)\s*-{3,}\s*$"
    r"|^begin forwarded message:",
    re.IGNORECASE | re.MULTILINE,
)
MAX_FORWARD_DEPTH = 3
MAX_PART_DEPTH = 20
"""Multiparts nested deeper than this are not read (a mail program nests three or four)."""
MAX_REFERENCES = 50
STRUCTURE_DEFECTS: dict[type[errors.MessageDefect], str] = {
    errors.CloseBoundaryNotFoundDefect: "batas bagian MIME tidak ditutup",
    errors.StartBoundaryNotFoundDefect: "batas bagian MIME tidak ditemukan",
    errors.NoBoundaryInMultipartDefect: "multipart tanpa batas bagian",
    errors.MultipartInvariantViolationDefect: "struktur multipart rusak",
    errors.MissingHeaderBodySeparatorDefect: "kepala surat rusak",
    errors.InvalidBase64CharactersDefect: "isi base64 rusak",
    errors.InvalidBase64LengthDefect: "isi base64 rusak",
}


@dataclass(frozen=True)
class Mail:
    """One message from the mailbox, read."""

    message_id: str
    sender_name: str | None
    sender: str
    subject: str
    text: str
    sent_at: datetime
    references: tuple[str, ...]  # oldest first: References, then In-Reply-To
    attachments: tuple[Attachment, ...]
    kind: MailKind = MailKind.NEW
    problems: tuple[str, ...] = ()
    raw: bytes = field(default=b"", repr=False)
    recipients: tuple[str, ...] = ()  # the addresses it was sent to, the delivered-to first
    reply_to: tuple[str | None, str] | None = None  # the one Reply-To's name and address

    @property
    def answer_to(self) -> tuple[str | None, str]:
        """Whom the office answers: the one `Reply-To` (RFC 5322 §3.6.2: a website's form
        mails from noreply@ with the person's address there; the receipt went to noreply@),
        else the sender. Only the answer: which case a mail joins, and the sender's limit,
        stay the `From`'s (a `Reply-To` is anyone's to write, and no server checks it)."""
        return self.reply_to if self.reply_to else (self.sender_name, self.sender)

    def thread_hints(self) -> tuple[UUID | None, str | None]:
        """A case id from a reply to our receipt, and a tracking code from the subject."""
        case_id = None
        for reference in self.references:
            found = OUR_MESSAGE_ID.search(reference)
            if found:
                case_id = UUID(found.group(1))
        # The first that is a code (its check character right): "Re: data-data izin [XRWD-S563]"
        codes = (match.group(1) for match in CODE_IN_SUBJECT.finditer(self.subject))
        return case_id, next((code for code in codes if normalize_code(code)), None)


def _headers(message: Message, problems: list[str]) -> Headers:
    found: dict[str, tuple[str, ...]] = {}
    for name, value in message.raw_items():
        text = header_text(str(value), problems)
        found[name.lower()] = (*found.get(name.lower(), ()), text)
    return found


def _first(headers: Headers, name: str) -> str:
    return next(iter(headers.get(name, ())), "")


def _text_of(part: Message, problems: list[str]) -> str:
    """A text part decoded, its line ends as LF, HTML as its text."""
    try:
        payload = part.get_payload(decode=True)
        charset = part.get_content_charset()
    except (ValueError, LookupError, TypeError, AttributeError):
        problems.append("satu bagian isi tidak dapat didekode")
        return ""
    if not isinstance(payload, bytes):
        return ""
    text = plain_lines(decode(payload, charset, problems))
    return html_to_text(text) if part.get_content_type() == "text/html" else text.strip()


def _body_part(message: EmailMessage, *kinds: str) -> Message | None:
    try:
        body = message.get_body(preferencelist=kinds)
    except (KeyError, ValueError, TypeError, AttributeError):
        body = None
    return body


STUB_CHARACTERS = 200
"""A plain part this short whose words are mostly not the HTML part's is a stub ("This is an
HTML message…"), not the mail's words."""


def _body_text(message: EmailMessage, problems: list[str]) -> str:
    """The mail's words: its plain part, else its HTML as text. An HTML part is read too when
    the plain part beside it says nothing (blank, as some mail programs send it) or is a stub:
    the words are in the HTML then."""
    plain, html = _body_part(message, "plain"), _body_part(message, "html")
    text = _text_of(plain, problems) if plain is not None else ""
    if html is None or html is plain:
        return text
    if plain is not None and len(text) >= STUB_CHARACTERS and visible(text):
        return text
    html_text = _text_of(html, problems)
    if not visible(text):
        return html_text
    mine, theirs = _words(text), _words(html_text)
    return html_text if theirs and len(mine & theirs) < len(mine) / 2 else text


def _words(text: str) -> set[str]:
    return {word for word in re.findall(r"\w{3,}", text.lower())}


def _defects(message: Message) -> list[str]:
    found = [d for part in message.walk() for d in part.defects]
    labels = [
        label
        for kind, label in STRUCTURE_DEFECTS.items()
        if any(isinstance(d, kind) for d in found)
    ]
    return sorted(set(labels))  # fmt: skip


@dataclass
class _Reading:
    """One message (or a forwarded one inside it) being read."""

    depth: int = 0
    problems: list[str] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)
    forwards: list[str] = field(default_factory=list)

    def body(self, message: EmailMessage) -> str:
        """The mail's words: its plain (or alternative) text parts in order; only when none
        says anything, its HTML ones (a mixed plain and HTML, without an alternative, is the
        same words twice)."""
        self.problems.extend(_defects(message))
        texts: list[tuple[str, str]] = []
        self.gather(message, texts, words=True, depth=0)
        plain = [text for kind, text in texts if kind != "text/html" and visible(text)]
        words = plain or [text for kind, text in texts if kind == "text/html" and text]
        return "\n\n".join([*words, *self.forwards]).strip()

    def gather(
        self, part: Message, texts: list[tuple[str, str]], *, words: bool, depth: int
    ) -> None:
        """Every part of the mail in order: text parts are its words, any other part a file
        (a forwarded message: its own words and files). Of an alternative, one version is
        the words (`_body_text`) and the files of every version are kept: an inline photo
        lies beside the HTML that shows it. The standard library's `get_body` and
        `iter_attachments` look at one level only: a photo pasted into a Gmail body beside
        an attachment, and Apple Mail's text after an inline photo, were lost that way."""
        if depth > MAX_PART_DEPTH:
            self.problems.append("susunan bagian surat terlalu dalam")
            return
        kind = part.get_content_type()
        if kind.startswith("message/") or not part.is_multipart():
            if _is_text(part, self.problems):
                if words:
                    texts.append((kind, _text_of(part, self.problems)))
            else:
                self.attachment(part)
            return
        if kind == "multipart/alternative" and words:
            assert isinstance(part, EmailMessage)
            texts.append((kind, _body_text(part, self.problems)))
            words = False  # the other versions' text is the same words
        try:
            children = list(part.iter_parts()) if isinstance(part, EmailMessage) else []
        except (KeyError, ValueError, TypeError, AttributeError):
            self.problems.append("lampiran tidak dapat dipisahkan dari isi")
            return
        for child in children:
            self.gather(child, texts, words=words, depth=depth + 1)

    def attachment(self, part: Message) -> None:
        if part.get_content_type() == "message/rfc822":
            self.forward(part)
            return
        try:
            content = part.get_payload(decode=True)
            filename = part.get_filename() or "lampiran"
        except (ValueError, LookupError, TypeError, AttributeError):
            self.problems.append("satu lampiran tidak dapat didekode")
            return
        if isinstance(content, bytes):
            name = header_text(filename, self.problems)[:200] or "lampiran"
            file = Attachment(name, part.get_content_type(), content=content)
            if file not in self.files:  # the same photo in two versions of the body
                self.files.append(file)

    def forward(self, part: Message) -> None:
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        if not isinstance(inner, EmailMessage) or self.depth >= MAX_FORWARD_DEPTH:
            self.problems.append("pesan terusan tidak dapat dibaca")
            return
        reading = _Reading(depth=self.depth + 1)
        headers = _headers(inner, reading.problems)
        text = reading.body(inner)
        said = [f"{label}: {_first(headers, name)}" for label, name in FORWARD_HEADERS]
        self.forwards.append("\n".join(["---------- Pesan terusan ----------", *said, "", text]))
        self.files.extend(reading.files)
        self.problems.extend(f"pesan terusan: {p}" for p in reading.problems)


FORWARD_HEADERS = (("Dari", "from"), ("Tanggal", "date"), ("Subjek", "subject"))


def _is_text(part: Message, problems: list[str]) -> bool:
    """Whether a part is words of the mail: plain or HTML text, shown in the body (not an
    attached file, which has a file name or says it is an attachment)."""
    if part.get_content_type() not in ("text/plain", "text/html"):
        return False
    try:
        return part.get_content_disposition() != "attachment" and not part.get_filename()
    except (ValueError, LookupError, TypeError, AttributeError):
        problems.append("satu bagian isi tidak dapat didekode")
        return False


def _sent_at(value: str) -> datetime:
    """The Date header, as far as it is believed (`believed`); the mailbox's own time of
    arrival replaces it when the mail is taken from the mailbox (`arrived`)."""
    try:
        return believed(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return believed(None)


def arrived(mail: Mail, moment: datetime | None) -> Mail:
    """The mail received when the office's mailbox server says it arrived (IMAP INTERNALDATE),
    never later than now: the sender's Date header is the sender's word, which may be anything.
    The server's is the office's own, believed however old (a mail left unseen for weeks while
    the mailbox was not read was received weeks ago)."""
    if moment is None or moment.tzinfo is None:
        return mail
    return replace(mail, sent_at=min(moment, datetime.now(UTC)))


def _message_id(value: str, raw: bytes) -> str:
    """The mail's own id; without a usable one its content is its identity."""
    found = MESSAGE_ID.search(value)
    if found:
        return found.group(0)
    return "<sha256." + hashlib.sha256(raw).hexdigest() + "@aduan>"


def _sender(message: Message, problems: list[str]) -> tuple[str | None, str]:
    """Name and address from the raw `From` (a decoded name may hold commas or brackets)."""
    found = _one_address(message, "from", problems)
    if found is None or not found[1]:
        problems.append("alamat pengirim tidak terbaca")
        return (found[0] if found else None), ""
    return found


def _one_address(
    message: Message, header: str, problems: list[str]
) -> tuple[str | None, str] | None:
    """The name and address a header names when it names one (the address "" if it is no
    address); None when the header is absent, given twice or names several."""
    raw = [str(value) for name, value in message.raw_items() if name.lower() == header]
    pairs = getaddresses([re.sub(r"\r?\n(?=[ \t])", "", raw[0])]) if len(raw) == 1 else []
    if len(pairs) != 1:
        return None
    shown, address = pairs[0]
    name = header_text(shown, problems)[:200] or None
    address = address.strip().lower()
    return name, address if ADDRESS.match(address) and ".." not in address else ""


RECIPIENT_HEADERS = ("delivered-to", "x-original-to", "to", "cc")
"""Where a mail says it was sent: the mail server's own word first, then the writer's."""


def _recipients(headers: Headers) -> tuple[str, ...]:
    """Every address the mail was sent to, lower-case, in the order of RECIPIENT_HEADERS."""
    found: list[str] = []
    for name in RECIPIENT_HEADERS:
        for _, address in getaddresses(list(headers.get(name, ()))):
            address = address.strip().lower()
            if ADDRESS.match(address) and address not in found:
                found.append(address)
    return tuple(found)


def _references(headers: Headers) -> tuple[str, ...]:
    found: list[str] = []
    for name in ("references", "in-reply-to"):
        for value in headers.get(name, ()):
            found += [ref for ref in MESSAGE_ID.findall(value) if ref not in found]
    return tuple(found[-MAX_REFERENCES:])


def read(raw: bytes) -> Mail:
    """Read one raw RFC 5322 message, as far as it can be read."""
    try:
        return _read(raw)
    except Exception as error:  # noqa: BLE001 - the parser's own bug must not stop the mailbox
        return unparsed(raw, f"surat tidak dapat diurai ({type(error).__name__})")


def _kind(headers: Headers, subject: str, text: str, reading: _Reading) -> MailKind:
    """Machine mail first (services/intake/mail_kinds.py), then what a person's mail is."""
    machine = machine_kind(headers, subject)
    if machine is not None:
        return machine
    if reading.problems:
        return MailKind.UNREADABLE
    if reading.forwards or INLINE_FORWARD.search(text):
        return MailKind.FORWARD
    if not (subject.strip() or text or reading.files):
        return MailKind.EMPTY
    return MailKind.NEW


def _read(raw: bytes) -> Mail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    reading = _Reading()
    headers = _headers(message, reading.problems)
    name, sender = _sender(message, reading.problems)
    reply_to = _one_address(message, "reply-to", [])
    subject = _first(headers, "subject")[:500]
    text = reading.body(message)
    return Mail(
        message_id=_message_id(_first(headers, "message-id"), raw),
        sender_name=name,
        sender=sender,
        subject=subject,
        text=text,
        sent_at=_sent_at(_first(headers, "date")),
        references=_references(headers),
        recipients=_recipients(headers),
        attachments=tuple(reading.files),
        kind=_kind(headers, subject, text, reading),
        problems=tuple(dict.fromkeys(reading.problems)),
        raw=raw,
        reply_to=reply_to if reply_to and reply_to[1] else None,
    )


def unparsed(raw: bytes, problem: str) -> Mail:
    """A mail nothing could be read of but its bytes: kept whole, for an officer to open."""
    head, _, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    problems: list[str] = []
    found = re.search(
        rb"^message-id:[ \t]*(<[!-;=?-~]{1,250}>)", head, re.IGNORECASE | re.MULTILINE
    )
    message_id = _message_id(found.group(1).decode("ascii", "replace") if found else "", raw)
    text = plain_lines(decode(body[:20_000], "utf-8", problems)).strip()
    return Mail(
        message_id=message_id,
        sender_name=None,
        sender="",
        subject="",
        text=text,
        sent_at=datetime.now(UTC),
        references=(),
        attachments=(),
        kind=MailKind.UNREADABLE,
        problems=(problem,),
        raw=raw,
    )


def without_content(mail: Mail, problem: str) -> Mail:
    """The same mail marked unreadable (its handling failed): its files are kept only inside
    its raw bytes, sealed."""
    problems = (*mail.problems, problem)
    return replace(mail, kind=MailKind.UNREADABLE, attachments=(), problems=problems)

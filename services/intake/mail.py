"""Reading complainants' mail: the words (plain or HTML), the attachments, the thread it is in."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from uuid import UUID

from services.intake.draft import Attachment

CODE_IN_SUBJECT = re.compile(r"\b([0-9A-Za-z]{4}-[0-9A-Za-z]{4})\b")
OUR_MESSAGE_ID = re.compile(r"<aduan\.([0-9a-f-]{36})\.", re.IGNORECASE)


class _Text(HTMLParser):
    """HTML to plain text: the text nodes, blocks on their own lines, no scripts or styles."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
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


@dataclass(frozen=True)
class Mail:
    """One message from the mailbox, read."""

    message_id: str
    sender_name: str | None
    sender: str
    subject: str
    text: str
    sent_at: datetime
    references: tuple[str, ...]
    attachments: tuple[Attachment, ...]

    def thread_hints(self) -> tuple[UUID | None, str | None]:
        """A case id from a reply to our receipt, and a tracking code from the subject."""
        case_id = None
        for reference in self.references:
            found = OUR_MESSAGE_ID.search(reference)
            if found:
                case_id = UUID(found.group(1))
        code = CODE_IN_SUBJECT.search(self.subject)
        return case_id, code.group(1) if code else None


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    return html_to_text(text) if part.get_content_type() == "text/html" else text.strip()


def _attachments(message: EmailMessage) -> tuple[Attachment, ...]:
    found = []
    for part in message.iter_attachments():
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes):
            continue
        filename = part.get_filename() or "lampiran"
        found.append(Attachment(filename, part.get_content_type(), content=content))
    return tuple(found)


def _sent_at(message: EmailMessage) -> datetime:
    now = datetime.now(UTC)
    try:
        sent = parsedate_to_datetime(str(message["date"]))
    except (TypeError, ValueError, IndexError):
        return now
    if sent.tzinfo is None:
        return now
    return min(sent.astimezone(UTC), now)


def read(raw: bytes) -> Mail:
    """Parse one raw RFC 5322 message."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    message_id = str(message["message-id"] or "").strip()
    if not message_id:  # no id of its own: its content is its identity
        message_id = "<sha256." + hashlib.sha256(raw).hexdigest() + "@aduan>"
    [(name, address)] = getaddresses([str(message["from"] or "")])[:1] or [("", "")]
    references = " ".join(str(message[h] or "") for h in ("in-reply-to", "references"))
    return Mail(
        message_id=message_id,
        sender_name=name or None,
        sender=address.strip().lower(),
        subject=str(message["subject"] or ""),
        text=_body(message),
        sent_at=_sent_at(message),
        references=tuple(re.findall(r"<[^>]+>", references)),
        attachments=_attachments(message),
    )

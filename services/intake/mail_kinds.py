"""The kinds of mail the mailbox tells apart, how each is recognised and what it does.

One table (`HANDLING`), the header signals it reads (`SIGNALS`), and the markdown of both that
docs/channels.md carries word for word (tests/intake/test_mail_pure.py keeps them equal).
Machine mail (auto-replies, bounces, list mail) and empty mail open nothing and are never
answered: answering a responder is a mail loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class MailKind(StrEnum):
    """What a mail is, as far as the mailbox is concerned."""

    NEW = "new"
    REPLY = "reply"
    FORWARD = "forward"
    UNREADABLE = "unreadable"
    AUTO_FORWARD = "auto_forward"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    LIST = "list"
    EMPTY = "empty"


Headers = Mapping[str, tuple[str, ...]]
"""A mail's headers by lower-case name, each value decoded (RFC 2047) and unfolded."""


@dataclass(frozen=True)
class Signal:
    """A header that marks machine mail: `header` matching `test` (shown in the docs as `shown`)."""

    kind: MailKind
    header: str
    shown: str
    test: Callable[[str], bool]


def _not_no(value: str) -> bool:
    return value.strip().lower() != "no"


def _any(value: str) -> bool:
    return True


def _value_in(*values: str) -> Callable[[str], bool]:
    return lambda value: value.strip().lower() in values


def _report(value: str) -> bool:
    return value.split(";")[0].strip().lower() == "multipart/report"


_LISTS = _value_in("bulk", "list", "junk")


def _bounce_sender(value: str) -> bool:
    """A mail system's own address: the sender of its delivery reports (a plain-text
    "Undeliverable" from postmaster@ opened a case and was sent a receipt)."""
    return any(box in value.lower() for box in ("mailer-daemon@", "postmaster@"))


SIGNALS: tuple[Signal, ...] = (
    Signal(MailKind.BOUNCE, "Return-Path", "`<>`", lambda v: v.replace(" ", "") == "<>"),
    Signal(MailKind.BOUNCE, "Content-Type", "`multipart/report` (DSN, read receipt)", _report),
    Signal(MailKind.BOUNCE, "From", "`MAILER-DAEMON@…`, `postmaster@…`", _bounce_sender),
    Signal(MailKind.BOUNCE, "X-Failed-Recipients", "present (Exim's, Postfix's bounces)", _any),
    Signal(
        MailKind.AUTO_FORWARD, "Auto-Submitted", "`auto-forwarded`", _value_in("auto-forwarded")
    ),
    Signal(MailKind.AUTO_REPLY, "Auto-Submitted", "any other value but `no`", _not_no),
    Signal(MailKind.AUTO_REPLY, "X-Autoreply", "present", _any),
    Signal(MailKind.AUTO_REPLY, "X-Autorespond", "present", _any),
    Signal(MailKind.AUTO_REPLY, "Precedence", "`auto_reply`", _value_in("auto_reply")),
    Signal(MailKind.LIST, "Precedence", "`bulk`, `list`, `junk`", _LISTS),
    Signal(MailKind.LIST, "List-Id", "present", _any),
    Signal(MailKind.LIST, "List-Unsubscribe", "present", _any),
)  # fmt: skip
"""In this order: a bounce that also says Auto-Submitted is a bounce."""

AUTOMATIC_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto[- ]?reply|autoreply|auto:|"
    r"balasan otomatis|di luar kantor|undeliverable|delivery status notification)",
    re.IGNORECASE,
)
WEAK_SIGNALS = ("X-Auto-Response-Suppress", "X-Loop", "X-MS-Exchange-Inbox-Rules-Loop")
"""Headers that ordinary mail may carry too: machine mail only with such a subject."""


@dataclass(frozen=True)
class Handling:
    """What the mailbox does with one kind of mail."""

    recognised_by: str
    does: str
    answered: str
    kept: bool  # stored as a submission or a part of one
    receipt: bool = True  # a new case's receipt is mailed to its sender (kept mail only)


def _signals(kind: MailKind) -> str:
    return ", ".join(f"`{s.header}` {s.shown}" for s in SIGNALS if s.kind == kind)


HANDLING: dict[MailKind, Handling] = {
    MailKind.NEW: Handling(
        "none of the rows below",
        "opens a case: subject and body (plain, or the text of an HTML-only mail) and the "
        "allowed attachments; a refused file is recorded with its reason (`refused`)",
        "receipt with the tracking code, naming each refused file and what is accepted",
        kept=True,
    ),
    MailKind.REPLY: Handling(
        "our receipt's or the original's Message-ID anywhere in `In-Reply-To`/`References`, "
        "or the tracking code in the subject, **and** the case's own sender",
        "joins the case as a part (`MessageAdded`)",
        "none, unless a file was refused: then a mail naming it and what is accepted (our "
        "mail threads on the whole `References` chain)",
        kept=True,
    ),
    MailKind.FORWARD: Handling(
        "an attached `message/rfc822`, or an inline `---------- Forwarded message ---------`",
        "as a new mail or a reply; the inner mail's sender, date, subject, text and files "
        "are kept",
        "as a new mail or a reply",
        kept=True,
    ),
    MailKind.UNREADABLE: Handling(
        "the parser fails, an unknown charset, a broken MIME structure (an unclosed "
        "boundary), an unreadable `From`",
        "kept like a new mail or a reply with what could be decoded, marked "
        "**tidak terbaca** with the reasons; the raw mail is kept sealed (`surat-asli.eml`)",
        "receipt, if the sender's address could be read, saying part of it was unreadable",
        kept=True,
    ),
    MailKind.AUTO_FORWARD: Handling(
        _signals(MailKind.AUTO_FORWARD) + " (a rule passing a citizen's mail on, RFC 3834)",
        "kept as a new mail, a reply or a forward would be",
        "none: an automatic sender is never answered (a mail loop)",
        kept=True,
        receipt=False,
    ),
    MailKind.BOUNCE: Handling(
        _signals(MailKind.BOUNCE), "nothing is kept; flagged seen, logged and counted", "none",
        kept=False,
    ),
    MailKind.AUTO_REPLY: Handling(
        f"{_signals(MailKind.AUTO_REPLY)}; a subject like \"Out of office\" or \"Automatic "
        f"reply\" only with {', '.join(f'`{h}`' for h in WEAK_SIGNALS)}",
        "nothing is kept; flagged seen, logged and counted",
        "none",
        kept=False,
    ),
    MailKind.LIST: Handling(
        _signals(MailKind.LIST), "nothing is kept; flagged seen, logged and counted", "none",
        kept=False,
    ),
    MailKind.EMPTY: Handling(
        "a person's mail with no subject, no text and no file", "nothing is kept; flagged seen, "
        "logged and counted", "none",
        kept=False,
    ),
}  # fmt: skip

DROPPED = frozenset(kind for kind, handling in HANDLING.items() if not handling.kept)


def machine_kind(headers: Headers, subject: str) -> MailKind | None:
    """The kind of machine mail these headers mark, or None for a person's mail."""
    for signal in SIGNALS:
        if any(signal.test(value) for value in headers.get(signal.header.lower(), ())):
            return signal.kind
    weak = any(name.lower() in headers for name in WEAK_SIGNALS)
    if weak and AUTOMATIC_SUBJECT.search(subject):
        return MailKind.AUTO_REPLY
    return None


def table() -> str:
    """The markdown table docs/channels.md carries."""
    rows = ["| mail | recognised by | what happens | answered with |", "|---|---|---|---|"]
    for kind, handling in HANDLING.items():
        cells = (f"`{kind.value}`", handling.recognised_by, handling.does, handling.answered)
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)

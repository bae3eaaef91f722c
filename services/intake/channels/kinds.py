"""Every kind of message Meta's webhooks bring (WhatsApp Cloud API, Instagram), decided once.

The one table: what each kind does (opens or joins a case, amends an earlier message, or never
opens a case) and what is kept of it. The webhook parsers read it; docs/channels.md shows it
(`python -m services.intake.channels.kinds` prints it) and a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.channels import Channel


class Effect(StrEnum):
    """What a kind of message does to the sender's case."""

    CONTENT = "opens or joins a case"
    EDIT = "amends: replaces the earlier message's text"
    WITHDRAW = "amends: marks the earlier message withdrawn"
    IGNORED = "never opens a case"


@dataclass(frozen=True)
class Kind:
    """One kind of message as Meta names it, and what intake does with it."""

    channel: Channel
    name: str  # the message `type` (WhatsApp: `interactive/<its type>`), or what Meta sends
    effect: Effect
    keeps: str  # what is kept of it (for the docs)


WA, IG = Channel.WHATSAPP, Channel.INSTAGRAM
C, E, W, X = Effect.CONTENT, Effect.EDIT, Effect.WITHDRAW, Effect.IGNORED
MEDIA = "media id, type, file name and caption (a refused type is recorded and named back)"

KINDS: tuple[Kind, ...] = (
    Kind(WA, "text", C, "the body; an empty or blank body is nothing to keep"),
    Kind(WA, "image", C, MEDIA),
    Kind(WA, "audio", C, MEDIA),
    Kind(WA, "video", C, MEDIA),
    Kind(WA, "document", C, MEDIA),
    Kind(WA, "sticker", C, MEDIA),
    Kind(WA, "location", C, "`[Lokasi] name, address (lat, long)`; the place as data"),
    Kind(WA, "contacts", C, "`[Kontak] name (phone), …`; the cards as data"),
    Kind(WA, "button", C, "the button's text; its payload as data"),
    Kind(WA, "interactive/button_reply", C, "the button's title; its id as data"),
    Kind(WA, "interactive/list_reply", C, "`title — description`; the row's id as data"),
    Kind(WA, "interactive/nfm_reply", C, "`[Formulir]`, `field: answer` lines; answers as data"),
    Kind(WA, "order", C, "`[Pesanan]`, its text and one line per item; the order as data"),
    Kind(WA, "edit", E, "new text (body or caption) for `original_message_id`; the old kept"),
    Kind(WA, "revoke", W, "`original_message_id` is marked withdrawn (its words stay on record)"),
    Kind(WA, "interactive/call_permission_reply", X, "an answer to a call-permission request"),
    Kind(WA, "interactive", X, "another interactive type, or one without title or answers"),
    Kind(WA, "reaction", X, "an emoji on one of our messages"),
    Kind(WA, "system", X, "the user changed number, or similar"),
    Kind(WA, "unsupported", X, "a type the Cloud API cannot deliver (`unknown` in older versions)"),
    Kind(WA, "unknown", X, "as `unsupported`"),
    Kind(WA, "request_welcome", X, "the user opened the chat for the first time"),
    Kind(WA, "statuses", X, "sent, delivered, read or failed reports of our messages"),
    Kind(WA, "calls", X, "call events (the `calls` field) and every field other than `messages`"),
    Kind(IG, "message", C, "the text; attachments' CDN URLs by type (`file`: refused, named back)"),
    Kind(IG, "message/quick_reply", C, "the text; the quick reply's payload as data"),
    Kind(IG, "postback", C, "the button's title; its payload as data"),
    Kind(IG, "message_edit", E, "new text for `mid`; the old kept"),
    Kind(IG, "message/is_deleted", W, "`mid` is marked withdrawn (its words stay on record)"),
    Kind(IG, "message/is_echo", X, "our own reply, echoed"),
    Kind(IG, "message/is_unsupported", X, "a message Instagram cannot deliver"),
    Kind(IG, "reaction", X, "an emoji on a message"),
    Kind(IG, "read", X, "a read receipt"),
    Kind(IG, "referral", X, "the user came from an ad or link"),
    Kind(IG, "changes", X, "comments, mentions and every other field"),
)  # fmt: skip

TABLE = {(kind.channel, kind.name): kind for kind in KINDS}
ANY_OTHER = "(any other)"
"""A kind Meta adds later: acknowledged and logged, never a case until the table decides it."""


def kind_of(channel: Channel, name: str) -> Kind:
    """The row of a kind; a kind not in the table is ignored."""
    return TABLE.get((channel, name)) or Kind(channel, ANY_OTHER, X, "logged; nothing kept")


def markdown() -> str:
    """The table as docs/channels.md shows it."""
    lines = ["| channel | kind | effect | what is kept |", "|---|---|---|---|"]
    lines += [f"| {k.channel.value} | `{k.name}` | {k.effect.value} | {k.keeps} |" for k in KINDS]
    lines.append(f"| both | {ANY_OTHER} | {X.value} | logged; nothing kept |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())

"""What Meta's webhooks share (WhatsApp Cloud API, Instagram messaging): the GET handshake,
the X-Hub-Signature-256 check over the raw body, and turning chat messages into submissions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ValidationError

from services.intake.agencies import ADDRESSED, conversation_sender
from services.intake.attachments import screen
from services.intake.channels.kinds import Effect
from services.intake.draft import Amendment, Attachment, Contact, Draft, Receipt, believed
from services.intake.inbox import Inbox, NotTheSender, is_new_conversation_request
from services.intake.reach import store_call
from shared.channels import Channel
from shared.limits import RateLimiter, TooManyRequests
from shared.problems import Problem, field_error, problems
from shared.sop import Kind
from shared.text import visible, without_control_characters_in

Model = TypeVar("Model", bound=BaseModel)

log = logging.getLogger(__name__)

WEBHOOK_RESPONSES = problems(400, 401, 409, 413, 415, 422, 429, 503)
HANDSHAKE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "hub.challenge, echoed", "content": {"text/plain": {}}},
    **problems(403, 422),
}
SIGNED_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Meta's webhook payload, signed with X-Hub-Signature-256",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    "parameters": [
        {
            "name": "X-Hub-Signature-256",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "sha256=<hex HMAC-SHA256 of the raw body under the app secret>",
        }
    ],
}


AMEND_WAIT_SECONDS = 600
"""An edit or a withdrawal of a message not received yet, sent less than this long ago, waits
for it: Meta delivers a notification that failed again later, and the original, delayed, may
come meanwhile. Past it, a withdrawal withdraws nothing and an edit's words are content."""


class AmendedNotYetReceived(Problem):
    """409: an edit or a withdrawal came before the message it changes; the rest of the
    notification is stored, and Meta is asked to deliver it again."""

    def __init__(self) -> None:
        super().__init__(
            409,
            "Pesan yang diubah atau ditarik belum diterima; kirim ulang sebentar lagi.",
            code="amended-message-not-received",
            headers={"Retry-After": "60"},
        )


class BadSignature(Problem):
    """Missing or wrong X-Hub-Signature-256: 401."""

    def __init__(self) -> None:
        super().__init__(401, "Tanda tangan webhook tidak sah.", code="bad-signature")


def signature(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 header value Meta sends for a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> None:
    """Constant-time check of the signature; an unset secret accepts nothing."""
    if not secret or not header:
        raise BadSignature()
    if not hmac.compare_digest(signature(secret, body).encode(), header.strip().encode()):
        raise BadSignature()


def handshake(mode: str | None, token: str | None, challenge: str | None, expected: str) -> Any:
    """Meta's subscription check: echo hub.challenge when the verify token matches."""
    if mode != "subscribe" or not expected or token is None:
        raise Problem(403, "Verifikasi webhook ditolak.", code="bad-verify-token")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Problem(403, "Verifikasi webhook ditolak.", code="bad-verify-token")
    if not challenge:
        raise Problem(422, "hub.challenge wajib diisi.", code="validation")
    return PlainTextResponse(challenge)


async def signed_payload(request: Request, secret: str, model: type[Model], kind: str) -> Model:
    """The verified, parsed payload; 401 before anything is parsed, then 400/422."""
    body = await request.body()
    verify(secret, body, request.headers.get("x-hub-signature-256"))
    try:
        raw = without_control_characters_in(json.loads(body))  # Meta cannot be asked again
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise Problem(400, "Isi webhook bukan JSON yang sah.", code="malformed-json") from error
    if not isinstance(raw, dict) or raw.get("object") != kind:
        detail = f"Objek webhook tidak dikenal; yang diterima hanya '{kind}'."
        raise Problem(422, detail, code="unknown-object")
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        errors = [field_error(dict(e)) for e in error.errors()]
        raise Problem(
            422, "Isi webhook tidak sesuai format Meta.", code="validation", errors=errors
        ) from error


def each_of_shape(model: type[Model], items: Iterable[Any], what: str) -> Iterator[Model]:
    """Each of a notification's parts (an entry, a change, a contact) that fits its shape; one
    that does not costs the others nothing: logged (its shape, not its words) and skipped."""
    for item in items:
        try:
            yield model.model_validate(item)
        except ValidationError as error:
            wrong = sorted({".".join(map(str, e["loc"])) or "(whole)" for e in error.errors()})
            log.warning("%s not of Meta's shape (%s): ignored", what, ", ".join(wrong)[:200])


@dataclass(frozen=True)
class ChatMessage:
    """One message from a chat channel, as the platform described it."""

    channel: Channel
    message_id: str
    account: str
    name: str | None
    sent_at: datetime
    text: str
    attachments: tuple[Attachment, ...] = ()
    data: dict[str, Any] | None = None  # structured answers, beside their readable text
    effect: Effect = Effect.CONTENT
    amends: str | None = None  # the earlier message an edit or a withdrawal changes
    recipient: str = ""  # the address written to (a phone_number_id, an Instagram account id)

    @property
    def worth_keeping(self) -> bool:
        """Whether it holds anything: a message with nothing to keep opens nothing."""
        if self.effect is Effect.CONTENT:
            return bool(visible(self.text) or self.attachments)
        if self.effect is Effect.EDIT:
            return bool(self.amends and visible(self.text))
        return self.effect is Effect.WITHDRAW and bool(self.amends)


def sent_at(timestamp: float) -> datetime:
    """When the platform says it was sent, as far as it is believed (`believed`)."""
    try:
        return believed(datetime.fromtimestamp(timestamp, UTC))
    except (OverflowError, OSError, ValueError):
        return believed(None)


def _is_number(message: ChatMessage) -> bool:
    """Whether the account is a WhatsApp phone number, E.164's digits (a BSUID, `ID.1502…`, is
    not, nor Arabic-Indic digits, nor 40 of them)."""
    account = message.account
    return (
        message.channel is Channel.WHATSAPP
        and account.isascii()
        and account.isdigit()
        and 8 <= len(account) <= 15
    )


def _draft(inbox: Inbox, message: ChatMessage, agency: str) -> Draft:
    channel = message.channel.value
    contact = Contact(
        name=message.name,
        phone=f"+{message.account}" if _is_number(message) else None,  # not a BSUID
        account=message.account,
        account_channel=channel,
    )
    kept, refused = screen(inbox.settings, message.attachments)
    return Draft(
        kind=Kind.COMPLAINT,
        channel=message.channel,
        text=message.text,
        received_at=message.sent_at,
        agency=agency,
        message_id=message.message_id,
        contact=contact,
        attachments=kept,
        refused=refused,
        data=message.data,
        sender=conversation_sender(
            inbox.pseudonyms,
            home=inbox.settings.agency,
            channel=channel,
            account=message.account,
            agency=agency,
        ),
        identities=tuple(inbox.pseudonyms.of_contact(contact)),
        receipt=True,
    )


Answer = dict[str, Any]


async def ingest(inbox: Inbox, limiter: RateLimiter, messages: list[ChatMessage]) -> list[Answer]:
    """Redeliveries answered first (never counted against a limit), then each new message
    counted against its sender's limit, then stored in order; what each became.

    A sender past the limit costs nobody else: the other senders' messages (and theirs up to
    the limit) are stored, and then the notification is answered 429. Meta delivers it again
    later; what was stored is a redelivery then, and the rest is counted in its new window, so
    a notification of more messages than the limit goes through in turns, never refused whole
    for ever."""
    ignored = [message for message in messages if message.effect is Effect.IGNORED]
    if ignored:  # received: an edit or a deletion of one of them waits for nothing
        await store_call(inbox.acknowledge, [(m.channel, m.message_id) for m in ignored])
    messages = [message for message in messages if message.effect is not Effect.IGNORED]
    drafts = [_draft(inbox, message, await _agency(inbox, message)) for message in messages]
    answers: list[Answer | None] = []
    for draft in drafts:
        assert draft.message_id is not None
        replay = await store_call(inbox.replay, draft.channel, draft.message_id)
        answers.append(None if replay is None else _answer(draft.message_id, replay))
    fresh = [(m, d) for m, d, answer in zip(messages, drafts, answers, strict=True) if not answer]
    allowed, waiting, over_limit = [], set(), None
    for message, draft in fresh:
        assert draft.sender is not None
        if draft.sender in waiting:  # its earlier message waits: so do the later ones (order)
            continue
        try:
            await limiter.sender(draft.channel.value, draft.sender)
        except TooManyRequests as refusal:
            waiting.add(draft.sender)
            over_limit = refusal
            continue
        allowed.append((message, draft))
    stored = await _store_all(inbox, allowed)
    if over_limit is not None:
        raise over_limit
    if any("waiting" in answer for answer in stored):
        raise AmendedNotYetReceived()
    kept = iter(stored)
    return [answer or next(kept) for answer in answers]


async def _agency(inbox: Inbox, message: ChatMessage) -> str:
    """The agency whose number or account the message was written to (else the home one)."""
    kind = ADDRESSED[message.channel]
    return (await inbox.agencies.by_channel(kind, message.recipient)).id


def _answer(message_id: str, receipt: Receipt) -> Answer:
    if receipt.case_id == "None":  # a request for a new conversation
        return {"message_id": message_id, "conversation": "ended", "replayed": receipt.replayed}
    return {
        "message_id": message_id,
        "tracking_code": receipt.tracking_code,
        "replayed": receipt.replayed,
        "added": receipt.added,
    }


async def _store_all(inbox: Inbox, fresh: list[tuple[ChatMessage, Draft]]) -> list[Answer]:
    """Store in order. Files refused in a sender's later messages of this notification are
    named in the receipt of the case their first message opens, not in notices of their own."""
    told: set[int] = set()
    answers = []
    for index, (message, draft) in enumerate(fresh):
        followers = [] if index in told else _followers(fresh, index)
        named = tuple(refusal for j in followers for refusal in fresh[j][1].refused)
        answer = await _store(
            inbox, message, replace(draft, named=named, receipt=index not in told)
        )
        if answer.get("added") is False and not answer.get("replayed"):
            told.update(followers)
        answers.append(answer)
    return answers


def _followers(fresh: list[tuple[ChatMessage, Draft]], index: int) -> list[int]:
    """The sender's later messages with refused files, up to a request for a new case."""
    message, draft = fresh[index]
    if message.effect is not Effect.CONTENT or is_new_conversation_request(draft.text):
        return []
    found = []
    for j in range(index + 1, len(fresh)):
        later, later_draft = fresh[j]
        if later_draft.sender != draft.sender:
            continue
        if is_new_conversation_request(later_draft.text):
            break
        if later.effect is Effect.CONTENT and later_draft.refused:
            found.append(j)
    return found


async def _store(inbox: Inbox, message: ChatMessage, draft: Draft) -> Answer:
    assert draft.message_id is not None
    assert draft.sender is not None
    if message.effect is not Effect.CONTENT:
        amended = await _amend(inbox, message, draft)
        if amended is not None:
            return amended
        # an edit of a message we never stored: its words are content like any other
    if is_new_conversation_request(draft.text) and not draft.attachments and not draft.refused:
        async with inbox.locks.hold(draft.sender):
            await _end(inbox, draft)
        return {"message_id": draft.message_id, "conversation": "ended"}
    return _answer(draft.message_id, await inbox.converse(draft))


async def _amend(inbox: Inbox, message: ChatMessage, draft: Draft) -> Answer | None:
    """An edit or a withdrawal applied, waiting, refused or ignored; None for an edit of a
    message never stored. Only the sender of a message changes it: another sender's amendment
    is refused and its answer names nothing of the case that holds the message."""
    assert draft.message_id is not None
    assert message.amends is not None
    amendment = Amendment(
        channel=draft.channel,
        message_id=draft.message_id,
        amends=message.amends,
        received_at=draft.received_at,
        text=draft.text if message.effect is Effect.EDIT else None,
    )
    try:
        receipt = await inbox.amend(amendment, account=message.account)
    except NotTheSender:
        channel = message.channel.value
        log.warning(
            "%s amendment %s of another sender's message refused", channel, draft.message_id
        )
        return {"message_id": draft.message_id, "ignored": "not the sender's message"}
    if receipt is not None:
        return _answer(draft.message_id, receipt) | {"amended": message.effect.name.lower()}
    if await _awaited(inbox, message):
        return {"message_id": draft.message_id, "waiting": "its message not received yet"}
    if message.effect is Effect.WITHDRAW:
        return {"message_id": draft.message_id, "ignored": "nothing to withdraw"}
    return None


async def _awaited(inbox: Inbox, message: ChatMessage) -> bool:
    """Whether an amendment that found nothing to change waits for its message: sent less than
    `AMEND_WAIT_SECONDS` ago, of a message not received at all (one received that cannot be
    changed, such as an amendment, never will be)."""
    if datetime.now(UTC) - message.sent_at >= timedelta(seconds=AMEND_WAIT_SECONDS):
        return False
    assert message.amends is not None
    return await store_call(inbox.replay, message.channel, message.amends) is None


async def _end(inbox: Inbox, draft: Draft) -> None:
    assert draft.message_id is not None
    assert draft.sender is not None
    await store_call(inbox.end_conversation, draft.channel, draft.sender, draft.message_id)

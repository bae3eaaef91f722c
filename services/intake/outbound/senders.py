"""How each channel delivers: SMTP for mail, Meta's Graph API for WhatsApp and Instagram,
the LAPOR! adapter for SP4N-LAPOR!. A failure raises DeliveryFailed with a reason that names
no person (it is stored), and the delivery is retried later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Protocol

import aiosmtplib
import httpx

from services.intake.lapor import HttpLapor, LaporApi, LaporUnavailable
from services.intake.mail_text import plain_lines
from services.intake.outbound.messages import Outgoing
from shared.channels import Channel
from shared.settings import Settings


class DeliveryFailed(Exception):
    """The channel did not take the message; `reason` is safe to store."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Sender(Protocol):
    """Delivers one message on one channel."""

    async def send(self, outgoing: Outgoing) -> str | None:
        """Deliver, or raise DeliveryFailed; the platform's id of the message, if it gives one
        (a later report that it failed names it)."""


class Mailer:
    """Replies by SMTP, threaded under the complainant's mail."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, outgoing: Outgoing) -> str | None:
        """One mail."""
        settings = self.settings
        message = EmailMessage()
        origin = (outgoing.origin_name, outgoing.origin) if outgoing.origin else None
        message["From"] = formataddr(origin) if origin else settings.mail_from
        message["To"] = outgoing.to
        message["Subject"] = outgoing.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = outgoing.message_id
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: responders leave it be
        if outgoing.in_reply_to:
            message["In-Reply-To"] = outgoing.in_reply_to
        if outgoing.references:
            message["References"] = " ".join(outgoing.references)
        message.set_content(plain_lines(outgoing.text))  # CRLF on the wire, from LF only
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_user or None,
                password=settings.smtp_password.get_secret_value() or None,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                timeout=30,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            code = getattr(error, "code", "")
            raise DeliveryFailed(f"{type(error).__name__} {code}".strip()) from error
        return None  # its Message-ID is ours, and a bounce of it is dropped (mail_kinds)


class GraphSender:
    """Meta's Graph API: WhatsApp Cloud API text messages, Instagram Send API."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient, channel: Channel) -> None:
        self.settings, self.client, self.channel = settings, client, channel

    def _request(self, outgoing: Outgoing) -> tuple[str, dict[str, object], str]:
        base = f"{self.settings.graph_api_url.rstrip('/')}/{self.settings.graph_api_version}"
        if self.channel is Channel.WHATSAPP:
            # A phone number goes in `to`; a user known only by business-scoped user id (a
            # WhatsApp username, the number not shown) in `recipient`.
            to = "to" if outgoing.to.isdigit() else "recipient"
            body: dict[str, object] = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                to: outgoing.to,
            }
            body |= _text(outgoing) if outgoing.free_text else _template(self.settings, outgoing)
            token = self.settings.whatsapp_access_token.get_secret_value()
            number = outgoing.origin or self.settings.whatsapp_phone_number_id
            return f"{base}/{number}/messages", body, token
        body = {"recipient": {"id": outgoing.to}, "message": {"text": outgoing.text}}
        if not outgoing.free_text:  # past Meta's 24 hours: an officer's reply, within 7 days
            body |= {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        token = self.settings.instagram_access_token.get_secret_value()
        account = outgoing.origin or self.settings.instagram_account_id
        return f"{base}/{account}/messages", body, token

    async def send(self, outgoing: Outgoing) -> str | None:
        """One message; its id, as the Graph API names it (WhatsApp's `messages[0].id`,
        Instagram's `message_id`)."""
        url, body, token = self._request(outgoing)
        try:
            answer = await self.client.post(
                url, json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as error:
            raise DeliveryFailed(type(error).__name__) from error
        if not answer.is_success:
            raise DeliveryFailed(f"HTTP {answer.status_code}")
        return _message_id(answer)


def _message_id(answer: httpx.Response) -> str | None:
    """The sent message's id in a Graph API answer (None if it names none)."""
    try:
        said = answer.json()
    except ValueError:
        return None
    if not isinstance(said, dict):
        return None
    messages = said.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else said
    found = first.get("id") or first.get("message_id") if isinstance(first, dict) else None
    return found[:200] if isinstance(found, str) else None


def _text(outgoing: Outgoing) -> dict[str, object]:
    """A free-form message: only within 24 hours of the complainant's last message."""
    return {"type": "text", "text": {"preview_url": False, "body": outgoing.text}}


def _template(settings: Settings, outgoing: Outgoing) -> dict[str, object]:
    """The office's approved template: {{1}} the code, {{2}} what happened, {{3}} the link."""
    values = (outgoing.tracking_code, outgoing.happened, outgoing.link)
    return {
        "type": "template",
        "template": {
            "name": settings.whatsapp_template_name,
            "language": {"code": settings.whatsapp_template_language},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": value} for value in values],
                }
            ],
        },
    }


class LaporSender:
    """Follow-ups and the closure, pushed to SP4N-LAPOR!."""

    def __init__(self, api: LaporApi) -> None:
        self.api = api

    async def send(self, outgoing: Outgoing) -> str | None:
        """One follow-up."""
        try:
            await self.api.follow_up(
                lapor_id=outgoing.to,
                tracking_code=outgoing.tracking_code,
                message=outgoing.text,
                closed=outgoing.closed,
            )
        except LaporUnavailable as error:
            raise DeliveryFailed(f"LAPOR {error}") from error
        return None


def configured_senders(settings: Settings, client: httpx.AsyncClient) -> dict[Channel, Sender]:
    """The channels whose outbound is configured."""
    senders: dict[Channel, Sender] = {}
    if settings.smtp_host:
        senders[Channel.EMAIL] = Mailer(settings)
    if settings.whatsapp_access_token.get_secret_value() and settings.whatsapp_phone_number_id:
        senders[Channel.WHATSAPP] = GraphSender(settings, client, Channel.WHATSAPP)
    if settings.instagram_access_token.get_secret_value() and settings.instagram_account_id:
        senders[Channel.INSTAGRAM] = GraphSender(settings, client, Channel.INSTAGRAM)
    if settings.lapor_url:
        senders[Channel.LAPOR] = LaporSender(HttpLapor(settings, client))
    return senders

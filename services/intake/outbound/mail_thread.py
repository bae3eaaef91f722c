"""Which mail an outgoing mail answers: the complainant's latest in the case, with the whole
`References` chain of the case's mails (each mail's own chain is sealed with its words)."""

from __future__ import annotations

from typing import Any

from services.intake.store import Submissions
from services.intake.submission import Submission
from shared.channels import Channel
from shared.sealing import SealingKey

MAX_REFERENCES = 20
"""The first id and the latest ones: enough for every client to thread, bounded in size."""


def _ours(message_id: str | None) -> bool:
    """A mail without an id of its own is known by a made-up one no other server knows."""
    return bool(message_id) and not str(message_id).startswith("<sha256.")


def reply_chain(
    submissions: Submissions, submission: Submission, key: SealingKey, opened: dict[str, Any]
) -> tuple[str | None, tuple[str, ...]]:
    """`In-Reply-To` (the complainant's latest mail) and `References`, oldest first."""
    parent = submission.received.channel_message_id
    chain = [*(opened.get("references") or []), parent]
    for event in submissions.events.get(submission.id):
        if isinstance(event, Submission.MessageAdded) and event.channel == Channel.EMAIL:
            chain += [*(key.open(event.sealed).get("references") or []), event.channel_message_id]
            parent = event.channel_message_id
    ids = [str(i) for i in dict.fromkeys(chain) if _ours(i)]
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return (parent if _ours(parent) else None), tuple(ids)

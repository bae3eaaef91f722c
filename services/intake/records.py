"""The rows intake writes beside its events, in the same transaction (the recorder's hook).

Nothing here holds identity in clear: senders and identifiers are keyed hashes
(services/intake/pseudonyms.py), contents are sealed with the submission's personal key.
Attachments' bytes are not written here: they are stored before the commit (shared/blobs.py)
and the attachment row references them by hash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import LiteralString
from uuid import UUID

import psycopg
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal

from shared import blobs

TABLES = (
    "CREATE TABLE IF NOT EXISTS {s}.identities (hash text NOT NULL, case_id uuid NOT NULL, "
    "PRIMARY KEY (hash, case_id))",
    "CREATE TABLE IF NOT EXISTS {s}.mentions (hash text NOT NULL, case_id uuid NOT NULL, "
    "PRIMARY KEY (hash, case_id))",
    "CREATE TABLE IF NOT EXISTS {s}.conversations (channel text NOT NULL, sender text NOT NULL, "
    "case_id uuid NOT NULL, last_at timestamptz NOT NULL, PRIMARY KEY (channel, sender))",
    "CREATE TABLE IF NOT EXISTS {s}.processed_messages (channel text NOT NULL, "
    "message_id text NOT NULL, case_id uuid, PRIMARY KEY (channel, message_id))",
    "CREATE TABLE IF NOT EXISTS {s}.attachments (id uuid PRIMARY KEY, case_id uuid NOT NULL, "
    "content_type text NOT NULL, size integer NOT NULL, content bytea, blob text, "
    "stored_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS {s}.deliveries (id uuid PRIMARY KEY, case_id uuid NOT NULL, "
    "channel text NOT NULL, purpose text NOT NULL, sealed text, "
    "created_at timestamptz NOT NULL DEFAULT now(), "
    "next_at timestamptz NOT NULL DEFAULT now(), attempts integer NOT NULL DEFAULT 0, "
    "sent_at timestamptz, gave_up_at timestamptz, last_error text)",
    "CREATE INDEX IF NOT EXISTS deliveries_due ON {s}.deliveries (channel, next_at) "
    "WHERE sent_at IS NULL AND gave_up_at IS NULL",
    # The platform's id of a sent message (WhatsApp's wamid): its report that the message
    # could not be delivered names it.
    "ALTER TABLE {s}.deliveries ADD COLUMN IF NOT EXISTS platform_id text",
    "CREATE INDEX IF NOT EXISTS deliveries_platform ON {s}.deliveries (channel, platform_id) "
    "WHERE platform_id IS NOT NULL",
    # A platform's report of a failure that came before its message was recorded as sent (the
    # status overtook the answer to the send): applied when it is (services/intake/outbound/
    # dispatcher.py). A report naming no message of ours is forgotten after a day.
    "CREATE TABLE IF NOT EXISTS {s}.early_failures (channel text NOT NULL, "
    "platform_id text NOT NULL, reason text NOT NULL, "
    "reported_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (channel, platform_id))",
    "CREATE TABLE IF NOT EXISTS {s}.closures (case_id uuid PRIMARY KEY, "
    "closed_at timestamptz NOT NULL)",
    # The SOP step each case stands at (NULL: closed), from workflow's events: the access
    # policy lets the officers of that step read what the step needs (shared/access.py).
    "CREATE TABLE IF NOT EXISTS {s}.case_steps (case_id uuid PRIMARY KEY, step text)",
    # The agency that has each case now, once workflow moved it (CaseTransferred, CaseDeclined):
    # its officers read the submission; without a row, the agency it was submitted to.
    # (moved_at: when it last moved; a chat's window at the new agency's number opens after.)
    "CREATE TABLE IF NOT EXISTS {s}.case_agencies (case_id uuid PRIMARY KEY, agency text NOT NULL)",
    "ALTER TABLE {s}.case_agencies ADD COLUMN IF NOT EXISTS moved_at timestamptz",
    # What officers search a case by (services/intake/lookup.py): the words of its texts, with
    # personal data masked, as PostgreSQL's Indonesian full-text configuration stems them, and
    # keyed hashes of the words of the complainant's name. Erasure deletes both.
    "CREATE TABLE IF NOT EXISTS {s}.search_words (case_id uuid PRIMARY KEY, "
    "words tsvector NOT NULL)",
    "CREATE INDEX IF NOT EXISTS search_words_words ON {s}.search_words USING gin (words)",
    # The cases whose every text is in search_words (indexed on arrival, or by the backfill of
    # services/intake/lookup.py): a later message alone gives a case a search_words row.
    "CREATE TABLE IF NOT EXISTS {s}.search_indexed (case_id uuid PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS {s}.name_words (hash text NOT NULL, case_id uuid NOT NULL, "
    "PRIMARY KEY (hash, case_id))",
)

TEXT_SEARCH = "indonesian"
INDEXED_CHARACTERS = 100_000
"""Of each text, the characters searchable by word (a complaint is far shorter)."""
SEARCH_WORDS_BYTES = 500_000
"""A case's searchable words, written out, stay under this (a tsvector may not reach 1 MB)."""
"""PostgreSQL's text search configuration for the complaints' words (snowball, ships with 15)."""


@dataclass(frozen=True)
class Conversation:
    """A sender's open conversation: later messages within the window join `case_id`."""

    channel: str
    sender: str
    case_id: UUID
    last_at: datetime


@dataclass(frozen=True)
class StoredAttachment:
    """An attachment: its bytes, sealed with the submission's personal key, are the blob
    `blob` (their sha256), stored before the commit (shared/blobs.py)."""

    id: UUID
    case_id: UUID
    content_type: str
    size: int
    blob: str


@dataclass(frozen=True)
class Delivery:
    """A message to send to the complainant after the commit (receipt, closure, follow-up)."""

    id: UUID
    case_id: UUID
    channel: str
    purpose: str
    sealed: str | None = None


@dataclass
class Rows:
    """Everything written beside a save's events."""

    identities: list[tuple[str, UUID]] = field(default_factory=list)
    mentions: list[tuple[str, UUID]] = field(default_factory=list)  # typed into a text
    conversations: list[Conversation] = field(default_factory=list)
    processed: list[tuple[str, str, UUID | None]] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    erased: list[tuple[UUID, UUID]] = field(default_factory=list)  # (case_id, personal_ref)
    ended: list[UUID] = field(default_factory=list)  # cases closed: their conversations end
    closed: list[tuple[UUID, datetime]] = field(default_factory=list)  # the survey may open
    reopened: list[UUID] = field(default_factory=list)  # ... and close again
    steps: list[tuple[UUID, str | None]] = field(default_factory=list)  # the case's step now
    agencies: list[tuple[UUID, str, datetime]] = field(default_factory=list)  # agency now, since
    chats_moved: list[tuple[UUID, str, str]] = field(default_factory=list)  # (case, channel, key)
    words: list[tuple[UUID, str]] = field(default_factory=list)  # masked text to index
    indexed: list[UUID] = field(default_factory=list)  # cases with every text in `words`
    names: list[tuple[str, UUID]] = field(default_factory=list)  # hashes of the name's words

    @classmethod
    def merge(cls, many: Iterable[Rows]) -> Rows:
        """All rows of a group commit."""
        merged = cls()
        for rows in many:
            for name in vars(merged):
                getattr(merged, name).extend(getattr(rows, name))
        return merged


def _sql(text: LiteralString, schema: Identifier) -> Composed:
    return SQL(text).format(s=schema)


class RowWriter:
    """The statements, prepared for one schema. Their arrays go in binary (`%b`): in text,
    psycopg quotes every element with a regular expression (a tenth of a register import)."""

    def __init__(self, schema: str) -> None:
        s = Identifier(schema)
        self.create = [_sql(text, s) for text in TABLES] + blobs.statements(schema)
        self.identities = _sql(
            "INSERT INTO {s}.identities (hash, case_id) SELECT * FROM "
            "unnest(%b::text[], %b::uuid[]) ON CONFLICT DO NOTHING",
            s,
        )
        self.mentions = _sql(
            "INSERT INTO {s}.mentions (hash, case_id) SELECT * FROM "
            "unnest(%b::text[], %b::uuid[]) ON CONFLICT DO NOTHING",
            s,
        )
        self.conversations = _sql(
            "INSERT INTO {s}.conversations (channel, sender, case_id, last_at) SELECT * FROM "
            "unnest(%b::text[], %b::text[], %b::uuid[], %b::timestamptz[]) "
            "ON CONFLICT (channel, sender) DO UPDATE SET case_id = EXCLUDED.case_id, "
            "last_at = EXCLUDED.last_at",
            s,
        )
        self.processed = _sql(
            "INSERT INTO {s}.processed_messages (channel, message_id, case_id) SELECT * FROM "
            "unnest(%b::text[], %b::text[], %b::uuid[])",
            s,
        )
        self.attachments = _sql(
            "INSERT INTO {s}.attachments (id, case_id, content_type, size, blob) SELECT * "
            "FROM unnest(%b::uuid[], %b::uuid[], %b::text[], %b::integer[], %b::text[])",
            s,
        )
        self.deliveries = _sql(
            "INSERT INTO {s}.deliveries (id, case_id, channel, purpose, sealed) SELECT * FROM "
            "unnest(%b::uuid[], %b::uuid[], %b::text[], %b::text[], %b::text[]) "
            "ON CONFLICT DO NOTHING",
            s,
        )
        # A text's first INDEXED_CHARACTERS are searchable, and a case's words grow while they
        # stay under SEARCH_WORDS_BYTES: PostgreSQL refuses a tsvector of 1 MB, and the commit
        # with it (a mail of 900 KB of words was refused on every poll).
        self.words = SQL(
            "INSERT INTO {s}.search_words AS w (case_id, words) "
            "SELECT c, to_tsvector({config}::regconfig, left(t, {most})) "
            "FROM unnest(%b::uuid[], %b::text[]) AS u(c, t) ON CONFLICT (case_id) DO UPDATE "
            "SET words = CASE WHEN octet_length(w.words::text) + octet_length(EXCLUDED.words::text)"
            " < {bytes} THEN w.words || EXCLUDED.words ELSE w.words END"
        ).format(
            s=s,
            config=Literal(TEXT_SEARCH),
            most=Literal(INDEXED_CHARACTERS),
            bytes=Literal(SEARCH_WORDS_BYTES),
        )
        self.indexed = _sql(
            "INSERT INTO {s}.search_indexed (case_id) SELECT * FROM unnest(%b::uuid[]) "
            "ON CONFLICT DO NOTHING",
            s,
        )
        self.names = _sql(
            "INSERT INTO {s}.name_words (hash, case_id) SELECT * FROM "
            "unnest(%b::text[], %b::uuid[]) ON CONFLICT DO NOTHING",
            s,
        )
        self.end = _sql("DELETE FROM {s}.conversations WHERE case_id = ANY(%b::uuid[])", s)
        self.closed = _sql(
            "INSERT INTO {s}.closures (case_id, closed_at) SELECT * FROM "
            "unnest(%b::uuid[], %b::timestamptz[]) ON CONFLICT (case_id) "
            "DO UPDATE SET closed_at = EXCLUDED.closed_at",
            s,
        )
        self.reopened = _sql("DELETE FROM {s}.closures WHERE case_id = ANY(%b::uuid[])", s)
        self.steps = _sql(
            "INSERT INTO {s}.case_steps (case_id, step) SELECT * FROM "
            "unnest(%b::uuid[], %b::text[]) "
            "ON CONFLICT (case_id) DO UPDATE SET step = EXCLUDED.step",
            s,
        )
        self.agencies = _sql(
            "INSERT INTO {s}.case_agencies (case_id, agency, moved_at) SELECT * FROM "
            "unnest(%s::uuid[], %s::text[], %s::timestamptz[]) ON CONFLICT (case_id) "
            "DO UPDATE SET agency = EXCLUDED.agency, moved_at = EXCLUDED.moved_at",
            s,
        )
        # A moved case's chat under the key of the agency that has it now (the latest chat
        # wins a key two cases would take), then nowhere else.
        self.chats_moved = [
            _sql(
                "INSERT INTO {s}.conversations AS t (channel, sender, case_id, last_at) "
                "SELECT DISTINCT ON (c.channel, m.sender) c.channel, m.sender, c.case_id, "
                "c.last_at FROM {s}.conversations c JOIN unnest(%(cases)b::uuid[], "
                "%(channels)b::text[], %(senders)b::text[]) AS m(case_id, channel, sender) "
                "ON c.case_id = m.case_id AND c.channel = m.channel "
                "ORDER BY c.channel, m.sender, c.last_at DESC "
                "ON CONFLICT (channel, sender) DO UPDATE SET case_id = EXCLUDED.case_id, "
                "last_at = EXCLUDED.last_at WHERE EXCLUDED.last_at >= t.last_at",
                s,
            ),
            _sql(
                "DELETE FROM {s}.conversations c USING unnest(%(cases)b::uuid[], "
                "%(channels)b::text[], %(senders)b::text[]) AS m(case_id, channel, sender) "
                "WHERE c.case_id = m.case_id AND c.channel = m.channel AND c.sender <> m.sender",
                s,
            ),
        ]
        self.erase = [
            _sql(text, s)
            for text in (
                "UPDATE {s}.personal_keys SET key = NULL, erased_at = now() "
                "WHERE ref = ANY(%(refs)b::uuid[])",
                "DELETE FROM {s}.identities WHERE case_id = ANY(%(cases)b::uuid[])",
                "DELETE FROM {s}.mentions WHERE case_id = ANY(%(cases)b::uuid[])",
                "DELETE FROM {s}.name_words WHERE case_id = ANY(%(cases)b::uuid[])",
                "DELETE FROM {s}.search_words WHERE case_id = ANY(%(cases)b::uuid[])",
                "DELETE FROM {s}.conversations WHERE case_id = ANY(%(cases)b::uuid[])",
                "DELETE FROM {s}.attachments WHERE case_id = ANY(%(cases)b::uuid[])",
                "DELETE FROM {s}.blobs WHERE case_id = ANY(%(cases)b::uuid[])",
                # Unsent: cancelled; sent: what it said goes too (kept for a resend after a
                # platform's report that it failed).
                "UPDATE {s}.deliveries SET sealed = NULL, "
                "gave_up_at = CASE WHEN sent_at IS NULL THEN now() ELSE gave_up_at END, "
                "last_error = CASE WHEN sent_at IS NULL THEN 'erased' ELSE last_error END "
                "WHERE case_id = ANY(%(cases)b::uuid[])",
            )
        ]

    def write(self, curs: psycopg.Cursor[DictRow], rows: Rows) -> None:
        """Insert every row (an IntegrityError rolls the whole save back)."""
        self._insert(curs, rows)
        self._index(curs, rows)
        self._change(curs, rows)

    def _insert(self, curs: psycopg.Cursor[DictRow], rows: Rows) -> None:
        if rows.identities:
            curs.execute(self.identities, _columns(rows.identities, 2))
        if rows.mentions:
            curs.execute(self.mentions, _columns(set(rows.mentions), 2))
        if rows.conversations:  # one row per conversation: the latest moment wins
            latest = {(c.channel, c.sender): c for c in sorted(rows.conversations, key=_at)}
            curs.execute(self.conversations, _columns(map(vars_tuple, latest.values()), 4))
        if rows.processed:
            curs.execute(self.processed, _columns(rows.processed, 3))
        if rows.attachments:
            curs.execute(self.attachments, _columns(map(vars_tuple, rows.attachments), 5))
        if rows.deliveries:
            curs.execute(self.deliveries, _columns(map(vars_tuple, rows.deliveries), 5))

    def _index(self, curs: psycopg.Cursor[DictRow], rows: Rows) -> None:
        if rows.words:  # one statement per case: ON CONFLICT takes each row once
            texts: dict[UUID, list[str]] = {}
            for case_id, text in rows.words:
                texts.setdefault(case_id, []).append(text)
            curs.execute(self.words, (list(texts), ["\n".join(t) for t in texts.values()]))
        if rows.indexed:
            curs.execute(self.indexed, (rows.indexed,))
        if rows.names:
            curs.execute(self.names, _columns(rows.names, 2))

    def _change(self, curs: psycopg.Cursor[DictRow], rows: Rows) -> None:
        if rows.ended:
            curs.execute(self.end, (rows.ended,))
        if rows.closed:
            curs.execute(self.closed, _columns(rows.closed, 2))
        if rows.reopened:
            curs.execute(self.reopened, (rows.reopened,))
        if rows.steps:  # in event order: the last step of a case wins
            latest = dict(rows.steps)
            curs.execute(self.steps, _columns(latest.items(), 2))
        if rows.agencies:  # in event order: the last move of a case wins
            moves = {case_id: (case_id, agency, at) for case_id, agency, at in rows.agencies}
            curs.execute(self.agencies, _columns(moves.values(), 3))
        if rows.chats_moved:
            self._move_chats(curs, rows.chats_moved)
        if rows.erased:
            refs = {"cases": [c for c, _ in rows.erased], "refs": [r for _, r in rows.erased]}
            for statement in self.erase:
                curs.execute(statement, refs)

    def _move_chats(
        self, curs: psycopg.Cursor[DictRow], moved: list[tuple[UUID, str, str]]
    ) -> None:
        latest = {(case_id, channel): sender for case_id, channel, sender in moved}
        cases, channels = [c for c, _ in latest], [channel for _, channel in latest]
        keys = {"cases": cases, "channels": channels, "senders": list(latest.values())}
        for statement in self.chats_moved:
            curs.execute(statement, keys)


def _at(conversation: Conversation) -> datetime:
    return conversation.last_at


def vars_tuple(row: object) -> tuple[object, ...]:
    """A dataclass row's values in field order."""
    return tuple(vars(row).values())


def _columns(rows: Iterable[tuple[object, ...]], width: int) -> tuple[list[object], ...]:
    columns: tuple[list[object], ...] = tuple([] for _ in range(width))
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


PLATFORM_LOCK = (
    "pg_advisory_xact_lock(hashtextextended('platform ' || {channel} || ' ' || {id}, 0))"
)
"""Held while a platform's id of a message is recorded as sent, and while a failure report
naming it is applied or kept (formatted with the two as SQL): whichever comes second sees
the other's row, so a report that overtakes its send is never lost between them."""

"""Intake's event store: submissions, their tracking-code index and personal keys, in one commit.

Concurrent requests are group-committed by services/intake/writer.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, LiteralString
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from services.intake.records import Rows, RowWriter
from services.intake.submission import Submission
from shared import blobs
from shared.access import step_of
from shared.blobs import Blob
from shared.events import Envelope
from shared.recording import Extra, ExtraRowsRecorder
from shared.sealing import SealingKey
from shared.settings import Settings
from shared.sop import Step, sop_for
from shared.subject_locks import LOCK_EACH, lock_keys
from shared.tracking_code import new_code

SCHEMA = "intake"
HEARD_TABLE = (
    "CREATE TABLE IF NOT EXISTS {schema}.heard (case_id uuid PRIMARY KEY, version bigint NOT NULL)"
)
"""The version of each case's last workflow event intake applied (`SubmissionRecorder.follow`)."""
HEARD_LOCKS = "aduan.intake.case"
"""The class of the locks a batch of workflow's events holds on its cases."""
LOCK_CASES = LOCK_EACH.format(name="%s", keys="%s")
DEADLINE_SECONDS = Settings.model_fields["write_deadline_seconds"].default


def held_by(cases: LiteralString) -> LiteralString:
    """The case ids a query of case ids finds that the agencies `%(agencies)s` hold now: the
    one a case moved to, else the one it was submitted to. A submission whose agency the index
    does not know yet (`lookup.place_earlier` fills it in) is kept: its caller checks it."""
    return (
        "SELECT m.case_id FROM (" + cases + ") m "
        "JOIN {s}.submission_index i ON i.case_id = m.case_id "
        "LEFT JOIN {s}.case_agencies a ON a.case_id = m.case_id "
        "WHERE coalesce(a.agency, i.agency) = ANY(%(agencies)s) "
        "OR (a.agency IS NULL AND i.agency IS NULL)"
    )


@dataclass(frozen=True)
class IndexRow:
    """Looks a submission up by tracking code; the fingerprint tells a replay from a reuse."""

    case_id: UUID
    tracking_code: str
    fingerprint: str | None
    agency: str | None = None  # where it was submitted (written with it; not read back)
    gist: str | None = None  # an imported row's day and text (`RegisterRow.gist`)


class SubmissionRecorder(ExtraRowsRecorder):
    """Writes index rows and personal keys in the transaction that stores the events."""

    EXTRAS = (
        Extra(
            "index",
            (
                "CREATE TABLE IF NOT EXISTS {schema}.submission_index (case_id uuid PRIMARY KEY, "
                "tracking_code text NOT NULL UNIQUE, fingerprint text)",
                # The agency it was submitted to (a search is cut to the officer's agencies);
                # filled in for the submissions stored before it (services/intake/lookup.py).
                "ALTER TABLE {schema}.submission_index ADD COLUMN IF NOT EXISTS agency text",
                # An imported row's day and text: another complaint under its register number
                # is told from a correction of it (services/intake/register/importer.py).
                "ALTER TABLE {schema}.submission_index ADD COLUMN IF NOT EXISTS gist text",
            ),
            "INSERT INTO {schema}.submission_index "
            "(case_id, tracking_code, fingerprint, agency, gist) "
            "SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::text[])",
            lambda row: (row.case_id, row.tracking_code, row.fingerprint, row.agency, row.gist),
        ),
        Extra(
            "keys",
            (
                "CREATE TABLE IF NOT EXISTS {schema}.personal_keys (ref uuid PRIMARY KEY, "
                "key bytea, created_at timestamptz NOT NULL DEFAULT now(), erased_at timestamptz)",
            ),
            "INSERT INTO {schema}.personal_keys (ref, key) "
            "SELECT * FROM unnest(%b::uuid[], %b::bytea[])",
            lambda key: (key.ref, key.key),
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rows = RowWriter(self.datastore.schema)
        self.sql_create_statements.extend(self._rows.create)
        self.sql_create_statements.append(self._sql(HEARD_TABLE))
        self._heard = self._sql(
            "SELECT case_id, version FROM {schema}.heard WHERE case_id = ANY(%b::uuid[])"
        )
        self._hear = self._sql(
            "INSERT INTO {schema}.heard AS h (case_id, version) "
            "SELECT * FROM unnest(%b::uuid[], %b::bigint[]) ON CONFLICT (case_id) "
            "DO UPDATE SET version = greatest(h.version, EXCLUDED.version)"
        )

    def has_extras(self, **kwargs: Any) -> bool:
        """Index rows, keys, or intake's other rows (conversations, deliveries, ...)."""
        return super().has_extras(**kwargs) or kwargs.get("rows") is not None

    def write_extras(self, curs: psycopg.Cursor[DictRow], **kwargs: Any) -> None:
        """The index and keys, then conversations, processed messages, deliveries, erasures."""
        super().write_extras(curs, **kwargs)
        rows: Rows | None = kwargs.get("rows")
        if rows is not None:
            self._rows.write(curs, rows)

    def write_rows(self, rows: Rows) -> None:
        """Rows without events, in one transaction of their own."""
        with self.datastore.transaction(commit=True) as curs:
            self._rows.write(curs, rows)

    def follow(
        self, envelopes: Sequence[Envelope], rows_of: Callable[[list[Envelope]], Rows]
    ) -> Rows:
        """Workflow's events, applied once each, in one transaction: their cases held
        (shared/subject_locks.py), the events of a case heard already left out, the rows of
        the rest (`rows_of`) written with how far each case is heard now. Their rows."""
        cases = list({envelope.subject for envelope in envelopes})
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(LOCK_CASES, (HEARD_LOCKS, lock_keys(cases)))
            curs.execute(self._heard, (cases,))
            heard = {row["case_id"]: row["version"] for row in curs.fetchall()}
            fresh = [e for e in envelopes if e.streamversion > heard.get(e.subject, 0)]
            rows = rows_of(fresh)
            self._rows.write(curs, rows)
            last: dict[UUID, int] = {}
            for envelope in fresh:
                last[envelope.subject] = max(last.get(envelope.subject, 0), envelope.streamversion)
            if last:
                curs.execute(self._hear, (list(last), list(last.values())))
        return rows

    # The library tries a failed insert ten times; a person waiting for a receipt should hear
    # within the write deadline that the store is down (503, try again), not after a minute:
    # one quick retry (a connection the server dropped), and the writer's deadline bounds it.
    @retry((InterfaceError, OperationalError), max_attempts=3, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert with a short retry; the library's own retry is bypassed."""
        insert = PostgresApplicationRecorder.insert_events.__wrapped__
        result: Sequence[int] | None = insert(self, stored_events, **kwargs)
        return result


class Submissions(Application[UUID]):
    """The intake application: stores Submission aggregates."""

    def find(self, case_id: UUID) -> IndexRow | None:
        """The index row of a stored submission."""
        return self._index_row("case_id = %s", case_id)

    def find_many(self, case_ids: list[UUID]) -> dict[UUID, IndexRow]:
        """The index rows of those stored already."""
        rows = self.query(
            "SELECT case_id, tracking_code, fingerprint, gist FROM {s}.submission_index "
            "WHERE case_id = ANY(%b::uuid[])",
            (case_ids,),
        )
        return {row["case_id"]: IndexRow(**row) for row in rows}

    def find_by_code(self, tracking_code: str) -> IndexRow | None:
        """The index row for a tracking code."""
        return self._index_row("tracking_code = %s", tracking_code)

    def _index_row(self, where: LiteralString, value: object) -> IndexRow | None:
        rows = self.query(
            "SELECT case_id, tracking_code, fingerprint FROM {s}.submission_index WHERE " + where,
            (value,),
        )
        return IndexRow(**rows[0]) if rows else None

    def query(
        self, sql: LiteralString, params: Sequence[object] | dict[str, object]
    ) -> list[DictRow]:
        """Rows of a read-only query; `{s}` in it names intake's schema."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        statement = SQL(sql).format(s=Identifier(recorder.datastore.schema))
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(statement, params)
            return curs.fetchall()

    def execute(self, sql: LiteralString, params: Sequence[object] | dict[str, object]) -> None:
        """Run one statement in its own transaction; `{s}` names intake's schema."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        statement = SQL(sql).format(s=Identifier(recorder.datastore.schema))
        with recorder.datastore.transaction(commit=True) as curs:
            curs.execute(statement, params)

    def execute_all(
        self, *statements: tuple[LiteralString, Sequence[object] | dict[str, object]]
    ) -> None:
        """Run statements in one transaction, in order; `{s}` names intake's schema."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        schema = Identifier(recorder.datastore.schema)
        with recorder.datastore.transaction(commit=True) as curs:
            for sql, params in statements:
                curs.execute(SQL(sql).format(s=schema), params)

    def personal_key(self, ref: UUID) -> SealingKey | None:
        """A submission's personal key; None once erased."""
        rows = self.query("SELECT key FROM {s}.personal_keys WHERE ref = %s", (ref,))
        key = rows[0]["key"] if rows else None
        return SealingKey(ref, bytes(key)) if key else None

    def closed_at(self, case_id: UUID) -> datetime | None:
        """When the case closed, as workflow told intake (None: open, or reopened since)."""
        rows = self.query("SELECT closed_at FROM {s}.closures WHERE case_id = %s", (case_id,))
        return rows[0]["closed_at"] if rows else None

    def agency_of(self, submission: Submission) -> str:
        """The agency that has the case now: the one it was submitted to, unless workflow has
        moved it since (services/intake/inbound.py)."""
        return self.holder(submission)[0]

    def holder(self, submission: Submission) -> tuple[str, datetime | None]:
        """The agency that has the case now, and since when (None: since it was submitted, or
        moved before intake kept the moment)."""
        rows = self.query(
            "SELECT agency, moved_at FROM {s}.case_agencies WHERE case_id = %s", (submission.id,)
        )
        if not rows:
            return submission.agency, None
        return str(rows[0]["agency"]), rows[0]["moved_at"]

    def current_step(self, submission: Submission) -> Step | None:
        """The SOP step its case stands at, as workflow's events told (opened: after submission)."""
        rows = self.query("SELECT step FROM {s}.case_steps WHERE case_id = %s", (submission.id,))
        if rows:
            return step_of(
                submission.received.kind, sop_for(submission.received.kind).version, rows[0]["step"]
            )
        if submission.history is not None:
            return None  # from the old register: its step is workflow's reading of the row
        sop = sop_for(submission.received.kind)
        return sop.after(sop.first.id)

    @property
    def datastore(self) -> PostgresDatastore:
        """The connection pool of the event store."""
        return blobs.datastore_of(self.recorder)

    def probe(self) -> None:
        """Whether a commit could get through now (its locks, taken and released at once)."""
        blobs.probe_events(self.recorder)

    def submission(self, case_id: UUID) -> Submission | None:
        """The stored aggregate, or None."""
        try:
            found: Any = self.repository.get(case_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(found, Submission):
            return None
        found.holder = self.agency_of(found)  # its next events are that agency's
        return found


def open_submissions(settings: Settings) -> Submissions:
    """The application on this deployment's database (creates its tables)."""
    topic = f"{SubmissionRecorder.__module__}:{SubmissionRecorder.__qualname__}"
    env = settings.eventsourcing_env(schema=SCHEMA, recorder_topic=topic, connect_timeout=2)
    return Submissions(env=env)


Build = Callable[[str], Submission]


@dataclass
class Pending:
    """A submission waiting for the next group commit. `build(code)` makes its aggregate."""

    case_id: UUID
    build: Build
    key: SealingKey
    fingerprint: str | None
    rows: Rows = field(default_factory=Rows)
    due: float | None = None  # when its waiter stops waiting (time.monotonic())
    blobs: list[Blob] = field(default_factory=list)  # stored before the commit, not in it
    code: str = field(default_factory=new_code)
    agency: str | None = None  # the agency it is submitted to
    gist: str | None = None  # an imported row's day and text

    def aggregate(self) -> Submission:
        """The aggregate with the current tracking code."""
        return self.build(self.code)

    def index_row(self) -> IndexRow:
        """Its row in the tracking-code index."""
        return IndexRow(self.case_id, self.code, self.fingerprint, self.agency, self.gist)


@dataclass(frozen=True)
class Outcome:
    """What a commit made of a pending submission: stored now, or found stored before."""

    row: IndexRow
    replayed: bool


def fingerprint(payload: bytes) -> str:
    """A digest of a request, to tell a replay from a reuse of its idempotency key."""
    return hashlib.sha256(payload).hexdigest()

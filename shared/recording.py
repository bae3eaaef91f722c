"""Rows of a service's own tables, written in the transaction that stores its events.

Each service keeps a few tables beside its event store (intake's tracking-code index and
personal keys, workflow's case keys and clock, reporting's recap files). They are written in
the library's insert transaction, *after* its statements and on a cursor of their own:

- after, between syncs: the library runs in psycopg pipeline mode; when a statement fails
  (a repeat of a deterministic id is meant to), the server skips the rest of the pipeline,
  including the Parse of any statement psycopg was about to prepare, yet psycopg records it
  as prepared; the connection then fails with `prepared statement "_pg3_N" does not exist`
  from then on. And the statements queued behind a failure, fetched later, end the block in
  `pipeline aborted` instead of the error that matters. So the events' own failure surfaces
  at a sync before anything of ours is queued, and ours at a sync that drains the queue.
- own cursor: the library reads the inserted notification ids from its cursor afterwards.
- never named-prepared: a skipped Parse of ours cannot poison the cache either.
Each kind of row is one INSERT ... SELECT FROM unnest(...) of column arrays; the stored events
too, as four arrays sent in binary (the library sends one array of its composite type, which
psycopg writes as text, escaping every byte of each event's state: 90–160 µs an event, against
11–24 µs so).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal

from shared.writes import DEADLINE_SQLSTATE

FAILED_SQLSTATE = "AD002"


@dataclass(frozen=True)
class Extra:
    """One kind of row: the keyword `Application.save` receives them under, the table's DDL
    and its INSERT taking one array per column (`{schema}` placeholders), and a row's values."""

    keyword: str
    ddl: tuple[str, ...]
    insert: str
    values: Callable[[Any], Sequence[Any]]

    def columns(self, rows: Sequence[Any]) -> list[list[Any]]:
        """The rows' values, column by column."""
        return [list(column) for column in zip(*map(self.values, rows), strict=True)]


DEADLINE_PASSED = SQL(
    "DO $$ BEGIN RAISE EXCEPTION 'write deadline passed' USING ERRCODE = {}; END $$"
).format(Literal(DEADLINE_SQLSTATE))
"""Fails the transaction on the server (a Python exception here would let the library commit)."""

SAVE_FAILED = SQL(
    "DO $$ BEGIN RAISE EXCEPTION 'save failed before reaching the server' USING ERRCODE = {}; "
    "END $$"
).format(Literal(FAILED_SQLSTATE))
"""The same for a save whose rows failed in this process: nothing of it may commit."""


class ExtraRowsRecorder(PostgresApplicationRecorder):
    """A PostgreSQL application recorder that also writes its subclass's `EXTRAS`; a save
    given `deadline` (a `time.monotonic()` instant) rolls back if it is past by then."""

    EXTRAS: tuple[Extra, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inserts = {extra.keyword: self._sql(extra.insert) for extra in self.EXTRAS}
        self._insert_columns = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{id}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            id=Identifier(self.datastore.originator_id_type),
        )
        self.sql_create_statements.extend(
            self._sql(statement) for extra in self.EXTRAS for statement in extra.ddl
        )

    def _sql(self, text: str) -> Composed:
        return SQL(text).format(schema=Identifier(self.datastore.schema))

    def _insert_stored_events(
        self, curs: psycopg.Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # The library's own steps (its table lock keeps the notification ids in commit order),
        # then the events as column arrays; the library reads their ids from `curs` after.
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(self._insert_columns, _columns(stored_events))
        deadline: float | None = kwargs.get("deadline")
        if not self.has_extras(**kwargs) and deadline is None:
            return
        connection = curs.connection
        with connection.pipeline() as pipeline:
            _settle(pipeline)  # a failed insert of the events raises here
            threshold, connection.prepare_threshold = connection.prepare_threshold, None
            try:
                with connection.cursor() as extras:
                    self.write_extras(extras, **kwargs)
                    if deadline is not None and time.monotonic() > deadline:
                        extras.execute(DEADLINE_PASSED)  # its waiters heard 503: roll back
            except Exception:  # raised here, not by the server (a NUL psycopg cannot send):
                _fail_on_server(connection, pipeline)  # the library would commit the rest
                raise
            finally:
                connection.prepare_threshold = threshold
            _settle(pipeline)  # and a failed row of ours here

    def has_extras(self, **kwargs: Any) -> bool:
        """Whether a save brings rows of ours."""
        return any(kwargs.get(extra.keyword) for extra in self.EXTRAS)

    def write_extras(self, curs: psycopg.Cursor[DictRow], **kwargs: Any) -> None:
        """Write the save's rows; a subclass may add its own (never named-prepared here)."""
        for extra in self.EXTRAS:
            rows = kwargs.get(extra.keyword, ())
            if rows:
                curs.execute(self._inserts[extra.keyword], extra.columns(rows))


def _columns(stored_events: Sequence[StoredEvent]) -> list[list[Any]]:
    """The stored events as the insert's four arrays, in the events' order."""
    return [
        [event.originator_id for event in stored_events],
        [event.originator_version for event in stored_events],
        [event.topic for event in stored_events],
        [event.state for event in stored_events],
    ]


def _settle(pipeline: psycopg.Pipeline) -> None:
    """Sync, and after a failure drain what it left queued (psycopg raises on the first error
    before fetching the rest; left over, those end the library's pipeline in `pipeline aborted`
    instead of the error that matters). Raises that first error."""
    try:
        pipeline.sync()
    except psycopg.Error as first:
        for _ in range(100):
            try:
                pipeline.sync()
                break
            except psycopg.Error:
                continue
        raise first from None


def _fail_on_server(connection: psycopg.Connection[DictRow], pipeline: psycopg.Pipeline) -> None:
    """Make the server fail the transaction, so that the library's commit rolls it back."""
    with connection.cursor() as failing:
        failing.execute(SAVE_FAILED)
    # The expected failure (or one queued before it): either way, nothing commits.
    with contextlib.suppress(psycopg.Error):
        _settle(pipeline)

"""The workflow application: cases in their event store, with their keys and their clock.

Every save writes, in the transaction that stores the events: the sealing keys of new cases
and each saved case's next alarm (the clock's index of what can fall due, and when). Files'
bytes are stored before, by hash, outside that transaction (shared/blobs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, ProgrammingError
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier

from services.workflow import accounts
from services.workflow.case import Case
from services.workflow.commits import GroupCommit, Write
from services.workflow.office_calendar import OfficeCalendar, calendar_id
from services.workflow.rules import StaleVersion, UnknownCase
from shared import agencies, blobs
from shared.agencies import Agency
from shared.blobs import BlobStore
from shared.metrics import EVENTS_STORED
from shared.outages import DEADLINE_SECONDS, Busy
from shared.recording import Extra, ExtraRowsRecorder
from shared.sealing import ERASED, SealingKey
from shared.settings import Settings
from shared.sop import PROVINCE
from shared.storepool import Once, harden
from shared.working_time import WorkingCalendar
from shared.writes import WriteGuard

log = logging.getLogger(__name__)

SCHEMA = "workflow"
OFFICER_NAMES = f"SELECT username, name FROM {accounts.TABLE} WHERE username = ANY(%s)"
_CALENDAR_TTL_SECONDS = 60.0
_AGENCIES_TTL_SECONDS = 5.0
_KEY_CACHE_SIZE = 10_000
KEY_FRESH_SECONDS = 60.0
"""How long a process uses a case's key without reading it again: an erasure heard by another
process shreds it there, and a path that opens texts without reading the case's events (the
relay, the feeds) would go on opening them with the key kept here."""
GONE: tuple[float, None] = (math.inf, None)
"""A key known shredded: an erasure is for good."""
ATTEMPTS = 10
"""How often a command that names no version is run when others' are saved first."""
TURNS = 256
"""Locks the cases share, by id, for `Cases.turn` (two cases on one lock only wait in turn)."""
RECENT_CASES = 256
"""How many cases' events a process keeps from its latest read or command on them (`read_case`)."""

T = TypeVar("T")


def _project(history: Sequence[DomainEventProtocol[UUID]]) -> Any:
    """The aggregate the events make, as `project_aggregate` makes it, without its check that
    each event is a `CanMutateProtocol`: on Python 3.11 an isinstance of a runtime protocol
    walks the protocol's members every time (some 20 µs an event, a third of projecting a
    case). The events come from our own store: every one is an aggregate event."""
    aggregate: Any = None
    for event in history:
        aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
    return aggregate


def versionless(attempt: Callable[[], T], version: int | None) -> T:
    """`attempt()` (which reads the case and acts on it); for a command that names no version
    (a note, a file: any officer, whatever the case's state), again on the case as it is now
    when another officer's command was saved first, up to `ATTEMPTS` times, never a 409 the
    officer cannot act on. With a version, a conflict is the officer's to see (409)."""
    for _ in range(ATTEMPTS - 1 if version is None else 0):
        with contextlib.suppress(StaleVersion):
            return attempt()
    return attempt()


@dataclass(frozen=True)
class Alarm:
    """When a case's next alarm is due (None: nothing can fall due now)."""

    case_id: UUID
    next_alarm_at: datetime | None


@dataclass(frozen=True)
class StoredFile:
    """An attachment: its content, sealed with the case's key, is the blob `blob` (their
    sha256), stored before the commit (shared/blobs.py)."""

    id: UUID
    case_id: UUID
    content_type: str
    blob: str


class CasesRecorder(ExtraRowsRecorder, Once):
    """Stores case keys, clock rows and files in the transaction that stores the events; one
    attempt per call, on a pool that notices a server away (shared/storepool.py)."""

    EXTRAS = (
        Extra(
            "keys",
            (
                "CREATE TABLE IF NOT EXISTS {schema}.case_keys (case_id uuid PRIMARY KEY, "
                "key bytea, erased_at timestamptz)",
            ),
            "INSERT INTO {schema}.case_keys (case_id, key) "
            "SELECT * FROM unnest(%b::uuid[], %b::bytea[])",
            lambda key: (key.ref, key.key),
        ),
        Extra(
            "alarms",
            (
                "CREATE TABLE IF NOT EXISTS {schema}.case_clock (case_id uuid PRIMARY KEY, "
                "next_alarm_at timestamptz)",
                "CREATE INDEX IF NOT EXISTS case_clock_due ON {schema}.case_clock "
                "(next_alarm_at) WHERE next_alarm_at IS NOT NULL",
            ),
            "INSERT INTO {schema}.case_clock (case_id, next_alarm_at) "
            "SELECT * FROM unnest(%b::uuid[], %b::timestamptz[]) "
            "ON CONFLICT (case_id) DO UPDATE SET next_alarm_at = EXCLUDED.next_alarm_at",
            lambda alarm: (alarm.case_id, alarm.next_alarm_at),
        ),
        Extra(
            "attachments",
            (
                "CREATE TABLE IF NOT EXISTS {schema}.attachments (id uuid PRIMARY KEY, "
                "case_id uuid NOT NULL, content_type text NOT NULL, content bytea, blob text, "
                "stored_at timestamptz NOT NULL DEFAULT now())",
                *blobs.DDL,
            ),
            "INSERT INTO {schema}.attachments (id, case_id, content_type, blob) "
            "SELECT * FROM unnest(%b::uuid[], %b::uuid[], %b::text[], %b::text[])",
            lambda file: (file.id, file.case_id, file.content_type, file.blob),
        ),
        Extra(
            "erased",
            (),
            "UPDATE {schema}.case_keys SET key = NULL, erased_at = now() "
            "WHERE case_id = ANY(%b::uuid[])",
            lambda case_id: (case_id,),
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # No wait on the server is longer than the lock timeout of the writes (the write
        # deadline) unless the server has stopped answering.
        silent = 2 * max(1, self.datastore.lock_timeout)
        # A pooled connection not given within a second: the request hears 503 in time.
        harden(self.datastore, wait_seconds=DEADLINE_SECONDS - 0.5, no_answer_seconds=silent)


class Cases(Application[UUID]):
    """Stores Case aggregates (and each agency's calendar corrections)."""

    def __init__(self, settings: Settings, env: dict[str, str]) -> None:
        super().__init__(env=env)
        self.settings = settings
        self._keys: OrderedDict[UUID, tuple[float, SealingKey | None]] = OrderedDict()
        self._recent: OrderedDict[UUID, tuple[DomainEventProtocol[UUID], ...]] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._calendars: dict[str, tuple[float, WorkingCalendar]] = {}
        self._agencies: tuple[float, dict[str, Agency]] | None = None
        self._refreshing: asyncio.Task[None] | None = None
        self._again_at = -float("inf")  # the last read for an agency named but not known
        pool = self._datastore().pool
        self.guard = WriteGuard(
            settings.write_deadline_seconds, self.probe, threads=pool.max_size, sweep=pool.check
        )
        self.blobs = BlobStore(self._datastore(), self.guard)
        self.commits = GroupCommit(self._save_writes)
        self._turns = [asyncio.Lock() for _ in range(TURNS)]

    @contextlib.asynccontextmanager
    async def turn(self, case_id: UUID, due: float) -> AsyncIterator[None]:
        """Commands on a case that name no version (notes, files) take turns in this process:
        sent at once, each read the same version and all but one found it stale, round after
        round (`versionless`), while each waited for a store thread. Waited for until `due` (a
        `time.monotonic()` instant), then Busy: our own queue, not the store away."""
        lock = self._turns[case_id.int % TURNS]
        try:
            await asyncio.wait_for(lock.acquire(), max(0.0, due - time.monotonic()))
        except TimeoutError:
            raise Busy() from None
        try:
            yield
        finally:
            lock.release()

    def close(self) -> None:
        """Close the store and the guard's threads."""
        self.guard.close()
        super().close()

    def _datastore(self) -> PostgresDatastore:
        return blobs.datastore_of(self.recorder)

    def probe(self) -> None:
        """Whether a save could get through now (its locks, taken and released at once)."""
        blobs.probe_events(self.recorder)

    # --- the agencies and their calendars -------------------------------------------------

    def cached_agencies(self) -> dict[str, Agency] | None:
        """The agencies if read within the last few seconds (no need for the store)."""
        if self._agencies and time.monotonic() - self._agencies[0] < _AGENCIES_TTL_SECONDS:
            return self._agencies[1]
        return None

    def forget_agencies(self) -> None:
        """Read the agencies (and their calendars) again at the next question (after a change
        in this process)."""
        self._agencies = None
        self._calendars.clear()

    async def known_agencies(self, again: bool = False) -> Collection[str]:
        """The ids of the agencies served, for the token verifier. Once read, a due cache
        answers at once while the table is read again beside the request (a database away
        never slows a request by its token); before, after `forget_agencies`, and `again` (an
        agency named that is not known yet; at most once a second), the read is
        waited for (under the read deadline)."""
        cached = self.cached_agencies()
        if again and time.monotonic() - self._again_at > agencies.AGAIN_SECONDS:
            self._again_at = time.monotonic()
            self._agencies = None  # an agency named that is not known yet: read them now
        elif cached is not None:
            return cached
        if self._agencies is not None:
            if self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.create_task(self._refresh_agencies())
            return self._agencies[1]
        return await self.guard.call(self.agencies)

    async def _refresh_agencies(self) -> None:
        try:
            await self.guard.call(self.agencies)
        except Exception:
            log.debug("the agencies could not be read again", exc_info=True)

    def agencies(self) -> dict[str, Agency]:
        """Every agency the deployment serves, by id (read again after a few seconds)."""
        if (cached := self.cached_agencies()) is not None:
            return cached
        try:
            with self._datastore().transaction(commit=False) as curs:
                curs.execute(f"SELECT document FROM {agencies.TABLE} ORDER BY id")
                rows = curs.fetchall()
        except ProgrammingError as error:
            if not isinstance(error.__cause__, psycopg.errors.UndefinedTable):
                raise
            rows = []  # no agency registered yet: the home agency alone
        found = agencies.served(self.settings, (row["document"] for row in rows))
        self._agencies = (time.monotonic(), found)
        return found

    def agency(self, agency_id: str) -> Agency:
        """An agency's data; the home agency's for the province's queue (PROVINCE)."""
        known = self.agencies()
        return known.get(agency_id) or known[self.settings.agency]

    def cached_calendar(self, agency: str | None = None) -> WorkingCalendar | None:
        """An agency's calendar if read within the last minute (no need for the store)."""
        cached = self._calendars.get(agency or self.settings.agency)
        if cached and time.monotonic() - cached[0] < _CALENDAR_TTL_SECONDS:
            return cached[1]
        return None

    def calendar(self, agency: str | None = None) -> WorkingCalendar:
        """An agency's calendar (the home agency's by default): its office hours, with its
        administrator's corrections (cached for a minute). An agency not served (yet: this
        process reads the agencies again every few seconds) counts on the home agency's, so
        what is kept is bounded by the agencies served."""
        agency = agency or self.settings.agency
        if agency != PROVINCE and agency not in self.agencies():
            agency = self.settings.agency
        if cached := self.cached_calendar(agency):
            return cached
        base = self.agency(agency).calendar(self.settings.timezone)
        try:
            corrections: OfficeCalendar = self.repository.get(calendar_id(agency))
            calendar = base.with_overrides(corrections.overrides())
        except AggregateNotFoundError:
            calendar = base
        self._calendars[agency] = (time.monotonic(), calendar)
        return calendar

    def correct_calendar(
        self,
        change: Callable[[OfficeCalendar], None],
        deadline: float | None = None,
        agency: str | None = None,
    ) -> OfficeCalendar:
        """Apply an administrator's correction to an agency's calendar (rolled back if saved
        only after `deadline`, a monotonic instant)."""
        agency = agency or self.settings.agency
        try:
            corrections: OfficeCalendar = self.repository.get(calendar_id(agency))
        except AggregateNotFoundError:
            corrections = OfficeCalendar(agency=agency)
        change(corrections)
        self.save(corrections, deadline=deadline)
        self._calendars.pop(agency, None)
        return corrections

    # --- keys -----------------------------------------------------------------------------

    def key_for(self, case_id: UUID) -> SealingKey | None:
        """The case's sealing key; None once erased."""
        kept = self._keys.get(case_id)
        if kept is None or kept[0] < time.monotonic():
            recorder = self.recorder
            assert isinstance(recorder, PostgresApplicationRecorder)
            query = SQL("SELECT key FROM {}.case_keys WHERE case_id = %s").format(
                Identifier(recorder.datastore.schema)
            )
            with recorder.datastore.transaction(commit=False) as curs:
                curs.execute(query, (case_id,))
                row = curs.fetchone()
            key = row["key"] if row else None
            fresh_until = time.monotonic() + KEY_FRESH_SECONDS
            kept = fresh_until, SealingKey(case_id, bytes(key)) if key else None
            if self._keys.get(case_id) == GONE:
                kept = GONE  # erased while it was read (`_key_gone`)
            self._keys[case_id] = kept
            if len(self._keys) > _KEY_CACHE_SIZE:
                self._keys.popitem(last=False)
        with contextlib.suppress(KeyError):  # dropped meanwhile by another thread
            self._keys.move_to_end(case_id)
        return kept[1]

    def _key_gone(self, case_id: UUID) -> None:
        self._keys[case_id] = GONE

    def seal(self, case_id: UUID, payload: Any) -> str:
        """Seal officer-written content with the case's key."""
        key = self.key_for(case_id)
        if key is None:
            raise UnknownCase()
        return key.seal(payload)

    def seal_if_kept(self, case_id: UUID, payload: Any) -> str:
        """Sealed with the case's key; nothing (an empty string) once its data is erased."""
        key = self.key_for(case_id)
        return key.seal(payload) if key is not None else ""

    def unseal(self, case_id: UUID, blob: str) -> Any:
        """Sealed content in clear, or the erased marker."""
        key = self.key_for(case_id)
        return key.open(blob) if key else ERASED

    # --- writing --------------------------------------------------------------------------

    def store(
        self,
        *cases: Case,
        keys: Sequence[SealingKey] = (),
        attachments: Sequence[StoredFile] = (),
        erased: Sequence[UUID] = (),
        deadline: float | None = None,
    ) -> list[DomainEventProtocol[UUID]]:
        """Save cases with their clock rows, new keys, files and shredded keys, in one go
        (rolled back if its statements are done only after `deadline`, a monotonic instant);
        the events stored."""
        warn_days = self.settings.deadline_warning_days
        alarms = [
            Alarm(case.id, case.next_alarm(self.calendar(case.agency), warn_days)) for case in cases
        ]
        stored = self.save(
            *cases,
            keys=keys,
            alarms=alarms,
            attachments=attachments,
            erased=erased,
            deadline=deadline,
        )
        EVENTS_STORED.labels("workflow").inc(len(stored))
        for case_id in erased:
            self._key_gone(case_id)
        return [recording.domain_event for recording in stored]

    def open(self, builds: Sequence[Callable[[], Case]]) -> int:
        """Save new cases, each with a fresh key; one already open (a redelivery, or a repeat
        in the same batch) is left alone.

        Each case is built afresh for every attempt: a failed save has already taken the
        pending events of every aggregate it was given, so saving those objects again one by
        one would store nothing and lose every new case of the batch.
        """
        if not builds:
            return 0
        cases = [build() for build in builds]
        try:
            self.store(*cases, keys=[SealingKey.new(case.id) for case in cases])
        except IntegrityError:
            if len(builds) == 1:
                log.info("case %s is already open", cases[0].id)
                return 0
            return sum(self.open([build]) for build in builds)
        return len(cases)

    def get_case(self, case_id: UUID, reach: Collection[str] | None = None) -> Case:
        """The case (UnknownCase if none, or if it belongs to no agency of `reach`: the
        agencies an officer may see, None for every agency)."""
        try:
            case: Any = self.repository.get(case_id)
        except AggregateNotFoundError:
            raise UnknownCase() from None
        return self._ours(case, reach)

    def read_case(
        self, case_id: UUID, reach: Collection[str] | None = None, seen: int | None = None
    ) -> tuple[Case, list[DomainEventProtocol[UUID]]]:
        """The case and its events, oldest first, from one read (UnknownCase if none, or if it
        is outside `reach`, the agencies the reader may see).

        Of a case this process read or acted on lately, only the events after those it holds
        are read. `seen`: the version a command names; when it is the latest this process
        holds, nothing is read. Only a command's save proves such a case current (an event
        stored meanwhile, by any process, makes it conflict), so its caller runs the command
        again on a fresh read when it is refused or conflicts (`recalls`)."""
        with self._recent_lock:
            known = self._recent.get(case_id)
            if known is not None:
                self._recent.move_to_end(case_id)
        if known is not None and seen is not None and known[-1].originator_version == seen:
            history = list(known)
        else:
            after = known[-1].originator_version if known else None
            history = [*(known or ()), *self.events.get(case_id, gt=after)]
            self.remember(case_id, history)
        return self._ours(_project(history), reach), history

    def recalls(self, case_id: UUID, version: int) -> bool:
        """Whether the latest version of the case this process holds is `version`."""
        with self._recent_lock:
            known = self._recent.get(case_id)
        return known is not None and known[-1].originator_version == version

    def remember(self, case_id: UUID, history: Sequence[DomainEventProtocol[UUID]]) -> None:
        """Keep a case's events (all of them, as stored) for its next read in this process."""
        if not history:
            return
        with self._recent_lock:
            known = self._recent.get(case_id)
            if known is None or known[-1].originator_version < history[-1].originator_version:
                self._recent[case_id] = tuple(history)
            self._recent.move_to_end(case_id)
            if len(self._recent) > RECENT_CASES:
                self._recent.popitem(last=False)

    def forget(self, case_ids: Collection[UUID]) -> None:
        """Read these cases afresh next time."""
        with self._recent_lock:
            for case_id in case_ids:
                self._recent.pop(case_id, None)

    def forget_all(self) -> None:
        """Read every case and key afresh: the database restarted, perhaps restored from a
        backup or a replica promoted, and the last commits this process saw may be lost."""
        with self._recent_lock:
            self._recent.clear()
        self._keys.clear()

    def _ours(self, case: Any, reach: Collection[str] | None) -> Case:
        if not isinstance(case, Case) or (reach is not None and case.agency not in reach):
            raise UnknownCase()  # another agency's: as if there were none
        if case.data_erased_at is not None:
            self._key_gone(case.id)  # perhaps erased by another process
        return case

    def act(
        self,
        case_id: UUID,
        version: int | None,
        action: Callable[[Case], Sequence[Case]],
        attachments: Sequence[StoredFile] = (),
        deadline: float | None = None,
        reach: Collection[str] | None = None,
    ) -> Case:
        """Run a command on the version the officer saw; stale → 409 (without a version: see
        `versionless`). Returns the case."""

        def attempt() -> Case:
            case = self.get_case(case_id, reach)
            self.act_on(case, version, action, attachments=attachments, deadline=deadline)
            return case

        return versionless(attempt, version)

    def act_on(
        self,
        case: Case,
        version: int | None,
        action: Callable[[Case], Sequence[Case]],
        attachments: Sequence[StoredFile] = (),
        deadline: float | None = None,
    ) -> list[DomainEventProtocol[UUID]]:
        """`act` on a case already read; the case's own events it stored. Saved together
        with the commands of other officers that arrive meanwhile (services/workflow/commits.py)."""
        if version is not None and version != case.version:
            raise StaleVersion(case.version)
        cases = [case, *action(case)]
        warn_days = self.settings.deadline_warning_days
        alarms = [
            Alarm(each.id, each.next_alarm(self.calendar(each.agency), warn_days)) for each in cases
        ]
        events = [event for each in cases for event in each.collect_events()]
        try:
            self.commits.write(Write(events, alarms, attachments, deadline))
        except IntegrityError:
            raise StaleVersion(self.get_case(case.id).version) from None
        EVENTS_STORED.labels("workflow").inc(len(events))
        return [event for event in events if event.originator_id == case.id]

    def _save_writes(self, writes: Sequence[Write]) -> None:
        """Commands' saves in one transaction (rolled back past the earliest deadline)."""
        deadlines = [write.deadline for write in writes if write.deadline is not None]
        self.save(
            *(event for write in writes for event in write.events),
            alarms=[alarm for write in writes for alarm in write.alarms],
            attachments=[file for write in writes for file in write.attachments],
            deadline=min(deadlines, default=None),
        )

    def attachment(self, case_id: UUID, attachment_id: UUID) -> tuple[str, bytes, str] | None:
        """An attachment's type, content in clear and file name (None if unknown or erased)."""
        history = self.history(case_id)
        if any(isinstance(event, Case.CaseDataErased) for event in history):
            self._key_gone(case_id)  # perhaps erased by another process
        key = self.key_for(case_id)
        with self._datastore().transaction(commit=False) as curs:
            curs.execute(blobs.content_query(self._datastore().schema), (attachment_id, case_id))
            row = curs.fetchone()
        if row is None or key is None or row["content"] is None:
            return None
        added = [
            event
            for event in history
            if isinstance(event, Case.AttachmentAdded) and event.attachment_id == str(attachment_id)
        ]
        name = key.open(added[0].filename) if added else ""
        return str(row["content_type"]), key.decrypt(bytes(row["content"])), str(name)

    def officer_names(self, usernames: Collection[str]) -> dict[str, str]:
        """The names of the built-in issuer's accounts (for events recorded before the acting
        officer's name was)."""
        if not usernames:
            return {}
        try:
            with self._datastore().transaction(commit=False) as curs:
                curs.execute(OFFICER_NAMES, (list(usernames),))
                return {row["username"]: row["name"] for row in curs.fetchall()}
        except psycopg.errors.UndefinedTable:
            return {}  # no accounts here (an identity provider of the office's own)

    def history(self, case_id: UUID) -> list[DomainEventProtocol[UUID]]:
        """Every event of a case, oldest first."""
        return list(self.events.get(case_id))

    # --- the clock ------------------------------------------------------------------------

    def due(self, now: datetime, limit: int = 500) -> list[UUID]:
        """Cases with an alarm due by `now`, earliest first."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        query = SQL(
            "SELECT case_id FROM {}.case_clock WHERE next_alarm_at <= %s "
            "ORDER BY next_alarm_at LIMIT %s"
        ).format(Identifier(recorder.datastore.schema))
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(query, (now, limit))
            return [row["case_id"] for row in curs.fetchall()]

    def tick(self, case_ids: Sequence[UUID], now: datetime) -> int:
        """Raise the alarms due for these cases; how many events were raised."""
        warn_days = self.settings.deadline_warning_days
        cases = [self.get_case(case_id) for case_id in case_ids]
        versions = [case.version for case in cases]
        for case in cases:
            case.tick(now=now, calendar=self.calendar(case.agency), warn_days=warn_days)
        raised = sum(case.version - before for case, before in zip(cases, versions, strict=True))
        try:
            self.store(*cases)
        except IntegrityError:  # another scanner got there first: its events stand
            return sum(self.tick([case_id], now) for case_id in case_ids) if len(cases) > 1 else 0
        return raised


def open_cases(settings: Settings) -> Cases:
    """The application on this deployment's database (creates its tables)."""
    topic = f"{CasesRecorder.__module__}:{CasesRecorder.__qualname__}"
    return Cases(settings, settings.eventsourcing_env(schema=SCHEMA, recorder_topic=topic))

"""The read model in memory, for a batch (live) or for everything (rebuild).

Applies each stream (producer + subject) in version order, once: a duplicate is skipped, an
early event waits until its predecessor comes. The projectors are the pure functions of
projection.py; nothing here does I/O, so the live consumer and the rebuild cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from services.reporting.projection import (
    CUBES,
    CalendarDay,
    CaseMoved,
    CaseRow,
    Effect,
    HistoryEntry,
    MessagesErased,
    StepTime,
    Survey,
    case_subject,
    changed,
    projector_for,
)
from shared.events import Envelope

Stream = tuple[str, UUID]


@dataclass
class WorkingSet:
    """Case rows, stream positions, waiting events and effects, as a batch leaves them."""

    tz: ZoneInfo
    cases: dict[UUID, CaseRow] = field(default_factory=dict)
    positions: dict[Stream, int] = field(default_factory=dict)
    pending: dict[Stream, dict[int, Envelope]] = field(default_factory=dict)
    steps: dict[tuple[UUID, int], StepTime] = field(default_factory=dict)
    surveys: dict[UUID, Survey] = field(default_factory=dict)
    calendar: dict[tuple[str, date], CalendarDay] = field(default_factory=dict)
    history: dict[tuple[UUID, str, int], HistoryEntry] = field(default_factory=dict)
    entries: dict[UUID, list[tuple[UUID, str, int]]] = field(default_factory=dict)  # by case
    erased_messages: set[UUID] = field(default_factory=set)
    moved: dict[UUID, str] = field(default_factory=dict)  # case -> the agency it now belongs to
    applied: list[Envelope] = field(default_factory=list)

    def apply(self, envelope: Envelope) -> None:
        """Apply an event, and then any that waited for it; a repeat changes nothing."""
        stream = (envelope.source, envelope.subject)
        last = self.positions.get(stream, 0)
        if envelope.streamversion <= last:
            return
        if envelope.streamversion > last + 1:
            self.pending.setdefault(stream, {})[envelope.streamversion] = envelope
            return
        self._project(envelope)
        waiting = self.pending.get(stream, {})
        while (following := waiting.pop(self.positions[stream] + 1, None)) is not None:
            self._project(following)

    def _project(self, envelope: Envelope) -> None:
        subject = case_subject(envelope)
        row = self.cases.get(subject) if subject else None
        outcome = projector_for(envelope.data)(row, envelope)
        if outcome.row is not None:
            self.cases[outcome.row.case_id] = outcome.row
        for effect in outcome.effects:
            self._keep(effect)
        self.positions[(envelope.source, envelope.subject)] = envelope.streamversion
        self.applied.append(envelope)

    def _keep(self, effect: Effect) -> None:
        if isinstance(effect, StepTime):
            self.steps.setdefault((effect.case_id, effect.version), effect)
        elif isinstance(effect, Survey):
            self.surveys[effect.case_id] = effect
        elif isinstance(effect, HistoryEntry):
            key = (effect.case_id, effect.source, effect.version)
            if key not in self.history:
                self.history[key] = effect
                self.entries.setdefault(effect.case_id, []).append(key)
        elif isinstance(effect, CaseMoved):
            self._move(effect)
        elif isinstance(effect, MessagesErased):
            self.erased_messages.add(effect.case_id)
            for key in self.entries.get(effect.case_id, ()):
                if self.history[key].message is not None:
                    self.history[key] = changed(self.history[key], message=None)
        else:
            self.calendar[(effect.agency, effect.day)] = effect

    def _move(self, effect: CaseMoved) -> None:
        """The case's history and survey held here go to its new agency (the live model
        moves the rows it wrote before, read_model.py)."""
        self.moved[effect.case_id] = effect.agency
        for key in self.entries.get(effect.case_id, ()):  # its own, not every case's
            self.history[key] = changed(self.history[key], agency=effect.agency)
        if (survey := self.surveys.get(effect.case_id)) is not None:
            self.surveys[effect.case_id] = changed(survey, agency=effect.agency)

    def cube_counts(self, cases: Any = None) -> dict[str, Counter[tuple[Any, ...]]]:
        """Each rekap table's counts over these cases (all of the working set's by default)."""
        buckets = [row.bucket(self.tz) for row in (cases or self.cases.values())]
        return {cube.table: Counter(map(cube.key, buckets)) for cube in CUBES}

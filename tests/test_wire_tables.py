"""Every event an aggregate can record is published with a contract or declared internal.

The aggregates and their events are found here, by walking the code (every Aggregate subclass
under services/, and the event classes nested in it); the wire tables name theirs by hand.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, CanMutateAggregate

import services
from services.intake.wire import WIRE as INTAKE
from services.reporting.recaps import WIRE as REPORTING
from services.workflow import wire as workflow
from services.workflow.office_calendar import OfficeCalendar
from shared.events import CONTRACTS
from shared.events import workflow as wf
from shared.relay import Unwired, WireTable, translator

# The service's table, as classes: what it publishes and what it keeps.
TABLES: dict[str, tuple[frozenset[type[Any]], frozenset[type[Any]]]] = {
    "intake": (frozenset(INTAKE.published), INTAKE.internal),
    "workflow": (frozenset(workflow.PUBLISHED), workflow.INTERNAL),
    "reporting": (frozenset(REPORTING.published), REPORTING.internal),
}


def aggregates() -> dict[type[Aggregate], str]:
    """Every aggregate class the services define, with its service."""
    for module in pkgutil.walk_packages(services.__path__, "services."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: dict[type[Aggregate], str] = {}
    pending = list(Aggregate.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        parts = cls.__module__.split(".")
        if parts[0] == "services" and not cls.__subclasses__():  # the concrete aggregate
            found[cls] = parts[1]
    return found


LIBRARY = frozenset({"Event", "Created"})


def nested_events(aggregate: type[Aggregate]) -> set[type[Any]]:
    """The event classes nested in an aggregate (its bases' included)."""
    return {
        value
        for name in dir(aggregate)
        if isinstance(value := getattr(aggregate, name), type)
        and issubclass(value, CanMutateAggregate)
    }


def defined_events(service: str) -> set[type[Any]]:
    """The event classes a service's modules define, nested in an aggregate or not."""
    found, pending = set(), list(CanMutateAggregate.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith(f"services.{service}."):
            found.add(cls)
    return found


def recordable(events: set[type[Any]], listed: frozenset[type[Any]]) -> set[type[Any]]:
    """The events that can be recorded, of some event classes: less the library's own (`Event`,
    `Created`: each aggregate here records named events) and the bases the others share
    (`StepCompleted`) unless a table lists one."""
    events = {cls for cls in events if cls.__name__ not in LIBRARY}
    bases = {cls for cls in events if any(o is not cls and issubclass(o, cls) for o in events)}
    return (events - bases) | (events & listed)


AGGREGATES = aggregates()


def test_the_walk_finds_every_aggregate() -> None:
    names = {cls.__qualname__ for cls in AGGREGATES}
    assert {"Submission", "Case", "OfficeCalendar", "MonthlyRekap"} <= names


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda cls: cls.__qualname__)
def test_every_event_is_published_or_declared_internal(aggregate: type[Aggregate]) -> None:
    published, internal = TABLES[AGGREGATES[aggregate]]
    events = recordable(nested_events(aggregate), published | internal)
    neither = sorted(cls.__qualname__ for cls in events - published - internal)
    assert not neither, f"neither published nor declared internal: {neither}"


@pytest.mark.parametrize("service", TABLES)
def test_every_event_class_a_service_defines_is_published_or_internal(service: str) -> None:
    """Wherever the event classes live (nested in their aggregate or in a module of events)."""
    published, internal = TABLES[service]
    events = recordable(defined_events(service), published | internal)
    assert events, service
    neither = sorted(cls.__qualname__ for cls in events - published - internal)
    assert not neither, f"neither published nor declared internal: {neither}"


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda cls: cls.__qualname__)
def test_a_stream_is_published_whole_or_not_at_all(aggregate: type[Aggregate]) -> None:
    """Readers wait for each stream's versions without gaps: an internal event in a published
    stream would stall it for them."""
    published, internal = TABLES[AGGREGATES[aggregate]]
    events = recordable(nested_events(aggregate), published | internal)
    assert events <= published or events <= internal


def test_a_table_lists_only_its_own_aggregates_events() -> None:
    for service, (published, internal) in TABLES.items():
        own = set().union(*(nested_events(a) for a, s in AGGREGATES.items() if s == service))
        stray = {cls.__qualname__ for cls in (published | internal) - own}
        assert not stray, f"{service} lists events its aggregates do not record: {stray}"


@pytest.mark.parametrize("event", workflow.PUBLISHED, ids=lambda cls: cls.__qualname__)
def test_every_required_contract_field_comes_from_the_event(event: type[Any]) -> None:
    wired = workflow.PUBLISHED[event]
    assert wired.contract.producer == "workflow"
    attributes = {f.name for f in dataclasses.fields(event)} | {"answer"}
    missing = [
        name
        for name, info in wired.contract.model_fields.items()
        if info.is_required()
        and wired.source(name) not in attributes
        and name not in ("at", "public_answer")
    ]
    assert not missing, f"{wired.contract.__name__} fields the event cannot fill: {missing}"


def test_a_calendar_correction_goes_out_under_the_contract_names() -> None:
    calendar = OfficeCalendar(agency="dpmptsp")
    at = datetime(2026, 12, 4, 9, tzinfo=UTC)
    calendar.set_day(day=datetime(2026, 12, 7).date(), working=False, name="Cuti", by="a", at=at)
    started, day_set = calendar.collect_events()
    to_contract = workflow.wire(cases=None)  # type: ignore[arg-type]  # no case key needed
    data = to_contract.published[type(day_set)](day_set)
    assert data == wf.CalendarDaySet(day="2026-12-07", at=at, working=False, label="Cuti")
    assert to_contract.published[type(started)](started) == wf.CalendarStarted()


def test_an_event_of_a_class_this_release_cannot_load_is_refused() -> None:
    app: Application[Any] = Application()
    row = {
        "notification_id": 7,
        "originator_id": "1f0e8d2a-7a4e-4b59-8a3c-0f3d2c1b0a99",
        "originator_version": 2,
        "topic": "services.workflow.future:Case.SomethingNew",
        "state": b"{}",
    }
    with pytest.raises(Unwired) as refused:
        translator(app, WireTable({}))(row)  # type: ignore[arg-type]
    assert refused.value.notification_id == 7


def test_every_documented_contract_is_published_by_its_producer() -> None:
    """AsyncAPI documents every contract: each leaves its producer, under its event's name."""
    for contract in CONTRACTS.values():
        published, _ = TABLES[contract.producer]
        assert contract.name in {cls.__name__ for cls in published}, contract.event_type()


def test_an_event_its_contract_refuses_is_refused_not_skipped() -> None:
    """As calendar corrections were, under names their contract does not have."""
    app: Application[Any] = Application()
    calendar = OfficeCalendar(agency="dpmptsp")
    at = datetime(2026, 12, 4, 9, tzinfo=UTC)
    calendar.set_day(day=datetime(2026, 12, 7).date(), working=False, name="Cuti", by="a", at=at)
    app.save(calendar)
    stored = app.recorder.select_notifications(start=1, limit=10)[-1]
    row = {
        "notification_id": stored.id,
        "originator_id": stored.originator_id,
        "originator_version": stored.originator_version,
        "topic": stored.topic,
        "state": stored.state,
    }
    unrenamed = workflow.Wired(wf.CalendarDaySet)  # the event's `name` never becomes `label`
    wrong = WireTable({OfficeCalendar.CalendarDaySet: workflow._mapper(unrenamed, None)})  # type: ignore[arg-type]
    with pytest.raises(Unwired, match="contract refuses"):
        translator(app, wrong)(row)  # type: ignore[arg-type]

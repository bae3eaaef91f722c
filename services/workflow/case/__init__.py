"""The case aggregate: what a case records (events.py) and the aggregate itself (aggregate.py).

Until the aggregate was this package it was the module `services.workflow.case`, and the event
store remembers what it stored then under that module's topics (`services.workflow.case:Case`,
`services.workflow.case:Case.CaseOpened`, ...): each is registered to today's class, so what
was stored stays readable whatever this package exports.
"""

from __future__ import annotations

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import register_topic

from services.workflow.case.aggregate import Case

__all__ = ["Case"]

FORMER_MODULE = "services.workflow.case"


def _register_former_topics() -> None:
    register_topic(f"{FORMER_MODULE}:Case", Case)
    for name in dir(Case):
        value = getattr(Case, name)
        if isinstance(value, type) and issubclass(value, CanMutateAggregate):
            register_topic(f"{FORMER_MODULE}:Case.{name}", value)


_register_former_topics()

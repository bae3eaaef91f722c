"""Workflow's stored events on the wire: each Case event maps to the contract of its name.

Every event of a case is published (readers rely on each case's versions arriving without
gaps). Contract fields are copied from the event by name; sealed officer text never is, except
the public answer, opened with the case's key. The calendar corrections are published too, so
readers measure working time on the same calendar.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.domain import CanMutateAggregate

from services.workflow.case import Case
from services.workflow.cases import Cases
from shared.events import CONTRACTS, Contract
from shared.relay import Wire
from shared.sealing import ERASED

# contract field -> the event attribute it comes from, where the names differ
RENAMED = {"case_id": "originator_id", "by_role": "role", "next_step_due_at": "step_due_at"}


# Base classes shared by events; never triggered themselves.
BASES = frozenset({"Event", "Created", "StepCompleted", "Answered"})


def case_events() -> list[type[Any]]:
    """Every event class the Case aggregate triggers."""
    return [
        value
        for value in vars(Case).values()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and value.__name__ not in BASES
    ]


def _contract_for(event_class: type[Any]) -> type[Contract]:
    name = event_class.__name__
    for contract in CONTRACTS.values():
        if contract.name == name and contract.producer == "workflow":
            return contract
    raise LookupError(f"no wire contract for Case.{name}")


def _mapper(contract: type[Contract], cases: Cases) -> Callable[[Any], Contract]:
    def to_contract(event: Any) -> Contract:
        values = {
            field: getattr(event, RENAMED.get(field, field))
            for field in contract.model_fields
            if hasattr(event, RENAMED.get(field, field))
        }
        values.setdefault("at", event.timestamp)
        if "public_answer" in contract.model_fields:
            answer = cases.unseal(event.originator_id, event.answer)
            values["public_answer"] = None if answer == ERASED else answer
        return contract(**values)

    return to_contract


def wire(cases: Cases) -> Wire:
    """The mapping the relay publishes with."""
    return {
        event_class: _mapper(_contract_for(event_class), cases) for event_class in case_events()
    }

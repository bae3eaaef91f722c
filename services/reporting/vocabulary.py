"""The labels people read for the ids the read model stores: one place for every page.

Kinds, statuses and their groups, resolutions, events, channels, categories, roles and both
SOP tables' steps, as the Python tables hold them (shared/vocabulary.py, shared/sop.py), so
the web pages never keep their own copies.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from shared.categories import CATEGORIES
from shared.channels import CHANNEL_LABELS
from shared.sop import CURRENT, KIND_LABELS, OFFICE_ROLES, ROLE_LABELS, Role
from shared.vocabulary import (
    EVENT_LABELS,
    GROUP_LABELS,
    GROUPS,
    RESOLUTIONS,
    STATUS_LABELS,
    Status,
    statuses,
)

router = APIRouter(prefix="/v1", tags=["vocabulary"])


class Term(BaseModel):
    """A stored id and its label."""

    id: str
    label: str


class StepTerm(Term):
    """An SOP step: its number in the table, who acts at it, and whether a case waits on it."""

    number: int
    actors: list[str]
    per_case: bool


class RoleTerm(Term):
    """A role, and whether it works on cases (reads and writes them; the analyst reads figures)."""

    works_on_cases: bool


class GroupTerm(Term):
    """A status group ("open", "waiting", "closed", "answered") and its statuses."""

    statuses: list[Status]


class ResolutionTerm(Term):
    """How a case was closed (the closing event's name) and the status it closed with
    (null: the old register's, for an imported case)."""

    status: Status | None


class Vocabulary(BaseModel):
    """Every id a page shows, with its label."""

    kinds: list[Term]
    statuses: list[Term]
    status_groups: list[GroupTerm]
    resolutions: list[ResolutionTerm]
    events: list[Term]
    channels: list[Term]
    categories: list[Term]
    roles: list[RoleTerm]
    steps: dict[str, list[StepTerm]]


def vocabulary() -> Vocabulary:
    """The labels, from the tables in shared/."""
    return Vocabulary(
        kinds=[Term(id=kind.value, label=label) for kind, label in KIND_LABELS.items()],
        statuses=[Term(id=status.value, label=label) for status, label in STATUS_LABELS.items()],
        status_groups=[
            GroupTerm(id=group.value, label=GROUP_LABELS[group], statuses=statuses(group))
            for group in GROUPS
        ],
        resolutions=[
            ResolutionTerm(id=r.id, label=EVENT_LABELS[r.id], status=r.status)
            for r in RESOLUTIONS.values()
        ],
        events=[Term(id=name, label=label) for name, label in EVENT_LABELS.items()],
        channels=[Term(id=channel.value, label=label) for channel, label in CHANNEL_LABELS.items()],
        categories=[Term(id=key, label=label) for key, label in CATEGORIES.items()],
        roles=[
            RoleTerm(id=r.value, label=label, works_on_cases=r in OFFICE_ROLES)
            for r, label in ROLE_LABELS.items()
            if r != Role.PEMOHON
        ],
        steps={
            kind.value: [
                StepTerm(
                    id=step.id,
                    label=step.label,
                    number=step.number,
                    actors=[role.value for role in (step.actor, *step.also_by)],
                    per_case=step.per_case,
                )
                for step in sop.steps
            ]
            for kind, sop in CURRENT.items()
        },
    )


@router.get("/vocabulary")
async def get_vocabulary() -> Vocabulary:
    """Labels for kinds, statuses (and their groups), resolutions, events, channels,
    categories, roles and SOP steps (public)."""
    return vocabulary()

"""The access policy as data: its promises, and docs/access-policy.md is its current rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.access import (
    ALL,
    COMPLAINANT,
    PUBLIC,
    STEP_NEEDS,
    TABLE,
    Facet,
    Privacy,
    markdown,
    may,
    privacy_of,
    visible,
)
from shared.sop import COMPLAINT_SOP, CONSULTATION_SOP, Role

ROOT = Path(__file__).resolve().parents[2]


def test_the_document_is_current() -> None:
    written = (ROOT / "docs" / "access-policy.md").read_text()
    assert written == markdown(), "regenerate: python -m shared.access > docs/access-policy.md"


def test_every_role_and_the_complainant_have_a_row() -> None:
    assert set(TABLE) == set(Role) | {COMPLAINANT}


@pytest.mark.parametrize("privacy", list(Privacy))
def test_the_complainant_sees_their_own_case_whatever_its_class_never_identity_or_notes(
    privacy: Privacy,
) -> None:
    own = visible([COMPLAINANT], privacy)
    assert {Facet.STATUS, Facet.ANSWER, Facet.HISTORY, Facet.TEXT} <= own
    assert Facet.IDENTITY not in own
    assert Facet.TIMELINE not in own
    assert Facet.HISTORY not in visible(None, privacy)  # the code alone: no history


@pytest.mark.parametrize("role", list(Role))
def test_nobody_sees_the_identity_of_an_anonymous_case(role: Role) -> None:
    for step in (None, *COMPLAINT_SOP.steps, *CONSULTATION_SOP.steps):
        assert not may([role], Facet.IDENTITY, Privacy.ANONYMOUS, step)


def test_a_confidential_case_is_unknown_to_the_roles_the_brief_excludes() -> None:
    for role in (Role.PETUGAS, Role.KABID, Role.SEKRETARIS, Role.PETUGAS_OSS, Role.ANALIS):
        assert visible([role], Privacy.CONFIDENTIAL) == frozenset()
    assert visible(None, Privacy.CONFIDENTIAL) == {Facet.STATUS}  # tracking: the status only
    assert visible([Role.TIM_PENGADUAN], Privacy.CONFIDENTIAL) == ALL


def test_the_actors_of_a_confidential_cases_step_read_what_it_needs_never_the_identity() -> None:
    verification = COMPLAINT_SOP.step("verification")  # kabid, also the sekretaris
    for role in (Role.KABID, Role.SEKRETARIS):
        assert visible([role], Privacy.CONFIDENTIAL, verification) == STEP_NEEDS
        assert not may([role], Facet.IDENTITY, Privacy.CONFIDENTIAL, verification)
    assert visible([Role.PETUGAS], Privacy.CONFIDENTIAL, verification) == frozenset()
    assert visible([Role.KABID], Privacy.CONFIDENTIAL, COMPLAINT_SOP.step("disposition")) == set()
    reception = CONSULTATION_SOP.step("reception")
    assert visible([Role.PETUGAS_OSS], Privacy.CONFIDENTIAL, reception) == STEP_NEEDS


def test_the_public_never_acts_at_a_step_even_the_submission() -> None:
    assert visible([PUBLIC], Privacy.CONFIDENTIAL, COMPLAINT_SOP.first) == {Facet.STATUS}
    assert visible([], Privacy.CONFIDENTIAL, COMPLAINT_SOP.first) == {Facet.STATUS}


def test_roles_add_up_and_confidential_wins_over_anonymous() -> None:
    both = visible([Role.ANALIS, Role.KABID], Privacy.NORMAL)
    assert both == visible([Role.KABID], Privacy.NORMAL)
    assert privacy_of(anonymous=True, confidential=True) is Privacy.CONFIDENTIAL
    assert privacy_of(anonymous=True, confidential=False) is Privacy.ANONYMOUS

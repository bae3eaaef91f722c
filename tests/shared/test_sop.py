"""The SOP tables as the brief gives them."""

from __future__ import annotations

import pytest

from shared.sop import COMPLAINT_SOP, CONSULTATION_SOP, Role, Sop, sop_for


def test_the_complaint_sop_has_the_briefs_eight_steps_and_times() -> None:
    minutes = {step.number: step.minutes for step in COMPLAINT_SOP.steps}
    assert minutes == {1: 15, 2: 30, 3: 30, 4: 480, 5: 480, 6: 15, 7: 60, 8: 15}
    assert COMPLAINT_SOP.deadline_working_days == 14


def test_the_consultation_sop_has_the_briefs_five_steps_and_times() -> None:
    minutes = {step.number: step.minutes for step in CONSULTATION_SOP.steps}
    assert minutes == {1: 15, 2: 15, 3: 10, 4: 60, 5: 60}


@pytest.mark.parametrize("sop", [COMPLAINT_SOP, CONSULTATION_SOP])
def test_step_ids_are_unique_and_numbers_in_order(sop: Sop) -> None:
    steps = sop_for(sop.kind).steps
    assert len({step.id for step in steps}) == len(steps)
    assert [step.number for step in steps] == list(range(1, len(steps) + 1))


def test_the_monthly_rekap_is_no_step_a_case_waits_on() -> None:
    walk = [step.id for step in COMPLAINT_SOP.case_steps]
    assert "monthly_rekap" not in walk
    assert COMPLAINT_SOP.after("investigation_report") == COMPLAINT_SOP.step("follow_up")
    assert COMPLAINT_SOP.after("follow_up") is None


def test_a_case_waits_first_for_the_step_after_submission() -> None:
    assert COMPLAINT_SOP.after("submission") == COMPLAINT_SOP.step("identification")
    assert CONSULTATION_SOP.after("submission") == CONSULTATION_SOP.step("reception")


def test_roles_the_sop_allows() -> None:
    verification = COMPLAINT_SOP.step("verification")
    assert verification.allows(Role.KABID)
    assert verification.allows(Role.SEKRETARIS)
    assert not verification.allows(Role.TIM_PENGADUAN)
    assert COMPLAINT_SOP.step("disposition").actor is Role.KEPALA_DINAS

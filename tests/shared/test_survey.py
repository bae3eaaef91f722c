"""The SKM index by PermenPANRB 14/2017, against an example worked out by hand."""

from __future__ import annotations

import pytest

from shared.survey import ELEMENTS, SKM, element_means, grade, index_of

# Four respondents, the nine elements each (U1 … U9):
RESPONSES: list[list[int | None]] = [
    [4, 3, 3, 4, 3, 3, 4, 3, 3],
    [3, 3, 2, 4, 3, 4, 4, 3, 3],
    [4, 4, 3, 4, 3, 3, 3, 2, 3],
    [3, 2, 3, 4, 3, 4, 4, 3, 3],
]
# By hand, each element's NRR = its column's sum / 4:
#   U1 14/4 = 3.50   U2 12/4 = 3.00   U3 11/4 = 2.75
#   U4 16/4 = 4.00   U5 12/4 = 3.00   U6 14/4 = 3.50
#   U7 15/4 = 3.75   U8 11/4 = 2.75   U9 12/4 = 3.00
# NRR tertimbang = NRR × 1/9 each; their sum = 29.25 / 9 = 3.25 (the index, 1–4)
# IKM = 3.25 × 25 = 81.25, which lies in 76.61–88.30: grade B (Baik).
HAND_MEANS = [3.50, 3.00, 2.75, 4.00, 3.00, 3.50, 3.75, 2.75, 3.00]


def test_each_element_has_its_own_question_and_four_answers() -> None:
    assert len(SKM) == len(ELEMENTS) == 9
    assert len({element.question for element in SKM}) == 9
    assert all(len(set(element.answers)) == 4 for element in SKM)


def test_the_worked_example_gives_the_hand_computed_index_and_grade() -> None:
    means = element_means(RESPONSES)
    assert means == pytest.approx(HAND_MEANS)
    index = index_of(means)
    assert index == 81.25
    assert grade(index) == ("B", "Baik")


def test_an_unanswered_element_is_left_out_of_its_mean() -> None:
    means = element_means([[4, None], [2, None], [3, 1]])
    assert means == [3.0, 1.0]


@pytest.mark.parametrize(
    ("index", "letter"),
    [
        (100.0, "A"),
        (88.31, "A"),
        (88.30, "B"),
        (76.61, "B"),
        (76.60, "C"),
        (65.0, "C"),
        (64.99, "D"),
        (25.0, "D"),
    ],
)
def test_the_regulation_grade_boundaries(index: float, letter: str) -> None:
    assert grade(index)[0] == letter


def test_the_index_spans_the_grade_table_exactly() -> None:
    assert index_of([4.0] * 9) == 100.0
    assert index_of([1.0] * 9) == 25.0

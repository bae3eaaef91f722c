"""Tracking codes: readable, typeable, and a typo is caught before any lookup."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.tracking_code import ALPHABET, new_code, normalize

codes = st.builds(lambda _: new_code(), st.integers())


@given(codes)
def test_a_new_code_is_canonical(code: str) -> None:
    assert normalize(code) == code
    assert len(code) == 9
    assert code[4] == "-"


@given(codes)
def test_case_spacing_and_confusable_letters_are_forgiven(code: str) -> None:
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert normalize(typed) == code


@given(codes, st.integers(0, 7), st.sampled_from(ALPHABET))
def test_any_single_wrong_character_is_rejected(code: str, index: int, char: str) -> None:
    chars = code.replace("-", "")
    if chars[index] == char:
        return
    typo = chars[:index] + char + chars[index + 1 :]
    assert normalize(typo) is None


def test_what_cannot_be_a_code_is_rejected() -> None:
    for raw in ("", "ABCD", "ABCD-EFGH-J", "AB!D-EFGH", "ÅBCD-EFGH"):
        assert normalize(raw) is None

"""A recap letter's number pattern names only the fields the recap fills in."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.agencies import Letterhead
from shared.settings import Settings


@pytest.mark.parametrize(
    "pattern",
    ["500.16/{month}/437.76/{year}", "440/{roman}/{year}", "", "{{A}}/{year:04d}/{month:>2}"],
)
def test_a_pattern_of_the_known_fields_is_taken(pattern: str) -> None:
    assert Letterhead(number_pattern=pattern).number_pattern == pattern


@pytest.mark.parametrize(
    "pattern",
    ["{tahun}/{year}", "{year.__class__}", "{0}", "{year", "500}/{month}", "{}", "{month:04d}"],
)
def test_any_other_field_or_brace_is_refused(pattern: str) -> None:
    """Another field was a KeyError when the month's recap was drawn (no recap at all);
    '{year.__class__}' read the value's attributes."""
    with pytest.raises(ValidationError, match="Pola nomor surat"):
        Letterhead(number_pattern=pattern)
    with pytest.raises(ValidationError, match="Pola nomor surat"):
        Settings(recap_number_pattern=pattern)

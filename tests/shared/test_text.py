"""A counted pattern checked as a loose one plus the count passes and refuses what the counted
pattern does, with the same error and the same published schema."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from shared.text import Counted


class Counting(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    nik: Annotated[str, Counted(head="", unit=r"\d", least=16, most=16)] | None = None
    url: Annotated[str, Counted(head="https?://", unit=r"\S", least=1, most=2000)] | None = None


class Patterned(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    nik: Annotated[str, StringConstraints(pattern=r"^\d{16}$")] | None = None
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S{1,2000}$")] | None = None


def _outcome(model: type[BaseModel], field: str, value: Any) -> object:
    try:
        return model.model_validate({field: value}).model_dump()
    except ValidationError as error:
        return [(e["type"], e["loc"], e.get("ctx"), e["msg"]) for e in error.errors()]


NIKS = ["1" * 16, "1" * 15, "1" * 17, f" {'1' * 16}\n", "1" * 15 + "a", "١" * 16, "", 12, None]
URLS = [
    "https://a",
    "http://",
    "http://" + "a" * 2000,
    "http://" + "a" * 2001,
    "https://" + "a" * 2000,
    "https://" + "a" * 2001,
    "https://a b",
    "https://\x1c\x1f",
    "javascript:alert(1)",
    "https://a\u00a0",
]


@pytest.mark.parametrize(
    ("field", "value"), [("nik", v) for v in NIKS] + [("url", v) for v in URLS]
)
def test_counted_pattern_judges_as_the_pattern(field: str, value: Any) -> None:
    assert _outcome(Counting, field, value) == _outcome(Patterned, field, value)


def test_counted_pattern_publishes_the_pattern() -> None:
    published = Counting.model_json_schema()["properties"]
    expected = Patterned.model_json_schema()["properties"]
    assert published == expected

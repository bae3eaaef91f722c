"""A counted pattern checked as a loose one plus the count passes and refuses what the counted
pattern does, with the same error and the same published schema."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from shared.filetypes import safe_filename
from shared.text import Counted, megabytes, no_control_characters, without_control_characters


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


@pytest.mark.parametrize(
    "control",
    ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"],
)
def test_the_controls_that_reorder_text_are_control_characters(control: str) -> None:
    """Refused where a person types, dropped where a channel hands text over, and no part of a
    file's name; the marks that move no other character stay (Arabic in a name)."""
    with pytest.raises(ValueError, match="kontrol"):
        no_control_characters(f"Bayar ke {control}0987")
    assert without_control_characters(f"Budi {control}Santoso") == "Budi Santoso"
    assert safe_filename(f"tagihan{control}fdp.exe") == "tagihan_fdp.exe"
    assert no_control_characters("\u0639\u0644\u064a \u200f") == "\u0639\u0644\u064a \u200f"


@pytest.mark.parametrize(
    ("size", "said"),
    [
        (10 * 1024 * 1024, "10 MB"),
        (300_000, "0,3 MB"),
        (11_010_048, "10,5 MB"),
        (256 * 1024, "0,3 MB"),  # a limit of 0.25 MB is never said "0,2 MB"
        (20_000, "0,1 MB"),
    ],
)
def test_a_size_is_said_in_megabytes_with_a_decimal_comma(size: int, said: str) -> None:
    assert megabytes(size) == said

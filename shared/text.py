"""Text people type: trimmed, limited, and free of control characters (PostgreSQL refuses NUL,
and nobody means a backspace in a complaint). Tabs and line breaks are kept."""

from __future__ import annotations

import re

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_MESSAGE = "Teks memuat karakter kontrol yang tidak sah."


def without_control_characters(value: str) -> str:
    """The text with its control characters (other than tab, line feed, carriage return)
    dropped: for text a channel hands over, which nobody can be asked to retype."""
    return CONTROL.sub("", value)


def no_control_characters(value: str) -> str:
    """Refuse control characters (other than tab, line feed, carriage return)."""
    if CONTROL.search(value):
        raise PydanticCustomError("control_character", CONTROL_MESSAGE)
    return value


CLEAN = AfterValidator(no_control_characters)
"""Add to any Annotated[str, ...] that comes from outside."""

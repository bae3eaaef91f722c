"""Text people type: trimmed, limited, and free of control characters (PostgreSQL refuses NUL,
and nobody means a backspace in a complaint) and of the controls that reorder displayed text.
Tabs and line breaks are kept.

A lone UTF-16 surrogate (half of an emoji's pair, which JSON may escape as `\\ud83d`) counts
as one of them: no UTF-8 text can hold it, so sealing or storing it would fail."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from pydantic import AfterValidator, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, ValidationError, core_schema

BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
"""The embeddings, overrides and isolates of the bidirectional algorithm, as a character class's
ranges: in a name or a note they reorder what follows (a file "tagihan\u202efdp.exe" reads
"tagihanexe.pdf"), and no Indonesian text needs them. (Marks such as U+200F, which move no
other character, stay.)"""
CONTROL = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff{BIDI_CONTROLS}]")
CONTROL_MESSAGE = "Teks memuat karakter kontrol atau karakter yang tidak sah."


def without_control_characters(value: str) -> str:
    """The text with its control characters (other than tab, line feed, carriage return)
    dropped: for text a channel hands over, which nobody can be asked to retype."""
    return CONTROL.sub("", value)


INVISIBLE = frozenset("\u115f\u1160\u2800\u3164\uffa0")
"""Characters drawn as blanks that are no whitespace (braille blank, Hangul fillers)."""


def visible(text: str) -> str:
    """The text as a reader sees it: without control and format characters (zero-width space,
    direction marks, joiners) nor blanks that are no whitespace, trimmed. A message of such
    characters alone says nothing."""
    kept = (
        c
        for c in text
        if c.isspace() or (c not in INVISIBLE and unicodedata.category(c) not in ("Cc", "Cf"))
    )  # line breaks and tabs stay: they part words
    return "".join(kept).strip()


def seen(least: int) -> AfterValidator:
    """Refuse a text of fewer than `least` characters a reader sees: zero-width spaces,
    direction marks and other blanks count for nothing (shared.text.visible)."""

    def check(value: str) -> str:
        if len(visible(value)) < least:
            message = f"Isi terlalu pendek: paling sedikit {least} karakter yang terlihat."
            raise PydanticCustomError("too_short_visible", message)
        return value

    return AfterValidator(check)


def without_control_characters_in(value: Any) -> Any:
    """A parsed JSON document with the control characters of every string (keys too) dropped:
    for a channel's payload, whose sender cannot be asked again."""
    if isinstance(value, str):
        return without_control_characters(value)
    if isinstance(value, list):
        return [without_control_characters_in(item) for item in value]
    if isinstance(value, dict):
        return {
            without_control_characters_in(key): without_control_characters_in(item)
            for key, item in value.items()
        }
    return value


def no_control_characters(value: str) -> str:
    """Refuse control characters (other than tab, line feed, carriage return)."""
    if CONTROL.search(value):
        raise PydanticCustomError("control_character", CONTROL_MESSAGE)
    return value


CLEAN = AfterValidator(no_control_characters)
"""Add to any Annotated[str, ...] that comes from outside."""


@dataclass(frozen=True)
class Counted:
    """A string that matches `^{head}{unit}{least,most}$`, checked as `^{head}{unit}+$` plus the
    count: pydantic's regex engine builds a counted Unicode class once per repetition, which
    costs megabytes in every process that defines the model (`\\S{1,2000}`: 8 MB, `\\d{16}`: 5).
    The same strings pass; the refusal (string_pattern_mismatch) and the JSON schema's pattern
    are the counted one's. `head` must be plain ASCII that matches text of one length."""

    head: str
    unit: str
    least: int
    most: int

    @property
    def pattern(self) -> str:
        """The pattern as published: the one the strings match."""
        count = f"{self.least}" if self.least == self.most else f"{self.least},{self.most}"
        return f"^{self.head}{self.unit}{{{count}}}$"

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        loose = core_schema.str_schema(pattern=f"^{self.head}{self.unit}+$")
        return core_schema.no_info_wrap_validator_function(self._checked, loose)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        published = handler(schema)
        published["pattern"] = self.pattern
        return published

    def _checked(self, value: Any, loose: core_schema.ValidatorFunctionWrapHandler) -> str:
        try:
            text: str = loose(value)
        except ValidationError as error:
            if error.errors()[0]["type"] != "string_pattern_mismatch":
                raise
            raise self._mismatch() from None
        head = re.match(self.head, text)
        if not self.least <= len(text) - (head.end() if head else 0) <= self.most:
            raise self._mismatch()
        return text

    def _mismatch(self) -> PydanticCustomError:
        return PydanticCustomError(
            "string_pattern_mismatch",
            "String should match pattern '{pattern}'",
            {"pattern": self.pattern},
        )


def megabytes(size: int) -> str:
    """A size as people read it: "10 MB", "0,3 MB" (one decimal, rounded up: a limit is
    never said lower than it is; an Indonesian comma)."""
    tenths = math.ceil(size * 10 / (1024 * 1024))
    shown = f"{tenths // 10},{tenths % 10}".removesuffix(",0")
    return f"{shown} MB"

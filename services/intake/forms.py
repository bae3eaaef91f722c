"""Request bodies the intake API accepts, validated with messages in Bahasa Indonesia."""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from services.intake.draft import Contact
from shared.categories import CATEGORIES
from shared.text import CLEAN, Counted, seen

TEXT_MAX = 20_000


def _category(value: str) -> str:
    if value not in CATEGORIES:
        choices = ", ".join(CATEGORIES)
        raise PydanticCustomError("category", f"Kategori tidak dikenal. Pilihan: {choices}.")
    return value


def _phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "ID")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise PydanticCustomError("phone", "Nomor telepon tidak sah.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


TEXT_MIN = 10
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=TEXT_MIN, max_length=TEXT_MAX),
    CLEAN,
    seen(TEXT_MIN),
]
Category = Annotated[str, AfterValidator(_category)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=40), AfterValidator(_phone)
]
Nik = Annotated[str, Counted(head="", unit=r"\d", least=16, most=16)]


class ContactIn(BaseModel):
    """How to reach the complainant; every field optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=200), CLEAN, seen(1)] | None = (
        None
    )
    phone: Phone | None = None
    email: EmailStr | None = None
    nik: Nik | None = Field(default=None, description="Nomor Induk Kependudukan (16 digit)")
    address: (
        Annotated[str, StringConstraints(min_length=1, max_length=500), CLEAN, seen(1)] | None
    ) = None

    def to_contact(self) -> Contact:
        """The domain value."""
        return Contact(**self.model_dump())

    def is_empty(self) -> bool:
        """Whether no field was given."""
        return not any(self.model_dump().values())


class WebForm(BaseModel):
    """The public complaint / consultation form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: Text = Field(description="Isi pengaduan atau pertanyaan")
    category: Category | None = None
    anonymous: StrictBool = Field(default=False, description="Identitas tidak disimpan sama sekali")
    confidential: StrictBool = Field(default=False, description="Isi tidak ditampilkan ke publik")
    contact: ContactIn | None = None
    consent: StrictBool = Field(
        default=False,
        description="Persetujuan pemrosesan data pribadi (wajib bila kontak diisi, UU 27/2022)",
    )

    @field_validator("contact")
    @classmethod
    def _anonymous_has_no_identity(
        cls, contact: ContactIn | None, info: ValidationInfo
    ) -> ContactIn | None:
        if info.data.get("anonymous") and contact is not None and not contact.is_empty():
            raise PydanticCustomError(
                "anonymous_contact",
                "Pengaduan anonim tidak boleh menyertakan identitas; kosongkan kontak.",
            )
        return contact


class PublicForm(WebForm):
    """The form as the public sends it: personal data only with consent to its processing."""

    @field_validator("consent")
    @classmethod
    def _consent_for_contact(cls, consent: bool, info: ValidationInfo) -> bool:
        contact = info.data.get("contact")
        if contact is not None and not contact.is_empty() and not consent:
            raise PydanticCustomError(
                "consent",
                "Centang persetujuan pemrosesan data pribadi, atau kosongkan kontak.",
            )
        return consent

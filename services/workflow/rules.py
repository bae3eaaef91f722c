"""What the workflow refuses, as plain domain exceptions (api.REFUSALS maps each to a status).

Each refusal carries its detail for the officer (in Bahasa Indonesia), a stable code and,
where useful, facts a client can act on (`extra`).
"""

from __future__ import annotations

from shared.refusals import Refused
from shared.sop import ROLE_LABELS, STATUS_LABELS, Officer, Role, Status, Step


class StepOutOfOrder(Refused):
    """The command belongs to another step than the one the case waits at."""

    def __init__(self, *, expected: str | None, attempted: str) -> None:
        detail = f"Kasus sedang menunggu langkah '{expected}', bukan '{attempted}'."
        super().__init__(detail, code="step-out-of-order", extra={"expected_step": expected})


class CaseClosed(Refused):
    """The case is no longer open."""

    def __init__(self, status: str) -> None:
        label = STATUS_LABELS.get(Status(status), status)
        super().__init__(f"Kasus sudah ditutup ({label}).", code="case-closed")


class CaseWaiting(Refused):
    """The case waits for the complainant's information."""

    def __init__(self) -> None:
        detail = "Kasus sedang menunggu informasi dari pemohon; catat dulu jawabannya."
        super().__init__(detail, code="case-waiting")


class NotWaiting(Refused):
    """No information was asked for."""

    def __init__(self) -> None:
        super().__init__("Kasus tidak sedang menunggu informasi.", code="not-waiting")


class WrongKind(Refused):
    """A command for the other kind of case (or an unfit merge target)."""

    def __init__(self, kind: str, *, reason: str = "kind") -> None:
        detail = (
            "Kasus utama harus terbuka, sejenis, dan bukan kasus ini."
            if reason == "primary"
            else f"Perintah ini tidak berlaku untuk kasus jenis '{kind}'."
        )
        super().__init__(detail, code="wrong-kind" if reason == "kind" else "bad-merge")


class ReopenWindowPassed(Refused):
    """The dispute came after the configured window."""

    def __init__(self, days: int) -> None:
        detail = f"Sanggahan hanya dapat diajukan dalam {days} hari kerja setelah kasus ditutup."
        super().__init__(detail, code="reopen-window-passed")


class NotAllowed(Refused):
    """The officer's roles may not act at this step."""

    def __init__(self, step: Step) -> None:
        allowed = ", ".join(ROLE_LABELS[role] for role in step.actors)
        detail = f"Langkah '{step.label}' hanya dapat dilakukan oleh: {allowed}."
        extra = {"allowed_roles": [role.value for role in step.actors]}
        super().__init__(detail, code="forbidden", extra=extra)


class NotAnOfficer(Refused):
    """Only officers who work on cases may note or attach."""

    def __init__(self) -> None:
        detail = "Hanya petugas yang menangani kasus dapat menambah catatan."
        super().__init__(detail, code="forbidden")


def acting_role(officer: Officer, step: Step) -> Role:
    """Which of the officer's roles acts at this step (the SOP's actor first)."""
    for role in step.actors:
        if role in officer.roles:
            return role
    raise NotAllowed(step)


class UnknownCase(Refused):
    """No case with this id in this agency."""

    def __init__(self) -> None:
        super().__init__("Kasus tidak ditemukan.", code="unknown-case")


class StaleVersion(Refused):
    """Someone acted on the case since the client read it: the current version is given."""

    def __init__(self, current: int) -> None:
        detail = "Kasus sudah diubah orang lain sejak Anda membukanya; muat ulang lalu coba lagi."
        super().__init__(detail, code="stale-version", extra={"current_version": current})

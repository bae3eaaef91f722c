"""What the workflow refuses, and who may act: each refusal maps to one HTTP status."""

from __future__ import annotations

from shared.auth import Officer
from shared.problems import Problem
from shared.sop import ROLE_LABELS, STATUS_LABELS, Role, Status, Step


class StepOutOfOrder(Problem):
    """The command belongs to another step than the one the case waits at: 409."""

    def __init__(self, *, expected: str | None, attempted: str) -> None:
        detail = f"Kasus sedang menunggu langkah '{expected}', bukan '{attempted}'."
        super().__init__(409, detail, code="step-out-of-order", extra={"expected_step": expected})


class CaseClosed(Problem):
    """The case is no longer open: 409."""

    def __init__(self, status: str) -> None:
        label = STATUS_LABELS.get(Status(status), status)
        super().__init__(409, f"Kasus sudah ditutup ({label}).", code="case-closed")


class CaseWaiting(Problem):
    """The case waits for the complainant's information: 409."""

    def __init__(self) -> None:
        detail = "Kasus sedang menunggu informasi dari pemohon; catat dulu jawabannya."
        super().__init__(409, detail, code="case-waiting")


class NotWaiting(Problem):
    """No information was asked for: 409."""

    def __init__(self) -> None:
        super().__init__(409, "Kasus tidak sedang menunggu informasi.", code="not-waiting")


class WrongKind(Problem):
    """A command for the other kind of case (or an unfit merge target): 409."""

    def __init__(self, kind: str, *, reason: str = "kind") -> None:
        detail = (
            "Kasus utama harus terbuka, sejenis, dan bukan kasus ini."
            if reason == "primary"
            else f"Perintah ini tidak berlaku untuk kasus jenis '{kind}'."
        )
        super().__init__(409, detail, code="wrong-kind" if reason == "kind" else "bad-merge")


class ReopenWindowPassed(Problem):
    """The dispute came after the configured window: 409."""

    def __init__(self, days: int) -> None:
        detail = f"Sanggahan hanya dapat diajukan dalam {days} hari kerja setelah kasus ditutup."
        super().__init__(409, detail, code="reopen-window-passed")


class NotAllowed(Problem):
    """The officer's roles may not act at this step: 403."""

    def __init__(self, step: Step) -> None:
        allowed = ", ".join(ROLE_LABELS[role] for role in (step.actor, *step.also_by))
        detail = f"Langkah '{step.label}' hanya dapat dilakukan oleh: {allowed}."
        super().__init__(
            403,
            detail,
            code="forbidden",
            extra={"allowed_roles": [role.value for role in (step.actor, *step.also_by)]},
        )


class NotAnOfficer(Problem):
    """Only officers who work on cases may note or attach: 403."""

    def __init__(self) -> None:
        super().__init__(
            403, "Hanya petugas yang menangani kasus dapat menambah catatan.", code="forbidden"
        )


def require_role(officer: Officer, step: Step) -> None:
    """Only the SOP's actor for the step (and the routes the SOP allows) may act."""
    if not officer.has(step.actor, *step.also_by):
        raise NotAllowed(step)


def acting_role(officer: Officer, step: Step) -> Role:
    """Which of the officer's roles acts at this step (the SOP's actor first)."""
    for role in (step.actor, *step.also_by):
        if role in officer.roles:
            return role
    raise NotAllowed(step)


class UnknownCase(Problem):
    """No case with this id in this agency: 404."""

    def __init__(self) -> None:
        super().__init__(404, "Kasus tidak ditemukan.", code="unknown-case")


class StaleVersion(Problem):
    """Someone acted on the case since the client read it: 409 with the current version."""

    def __init__(self, current: int) -> None:
        detail = "Kasus sudah diubah orang lain sejak Anda membukanya; muat ulang lalu coba lagi."
        super().__init__(409, detail, code="stale-version", extra={"current_version": current})

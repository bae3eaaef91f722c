"""What a domain refuses, as a plain exception: no web framework here.

Each service's API maps its refusal classes to HTTP statuses in one table
(`shared.problems.refusal_handler`).
"""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """A command or a read the domain refuses: the detail for the user, a stable code."""

    def __init__(self, detail: str, *, code: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail, self.code, self.extra = detail, code, extra or {}

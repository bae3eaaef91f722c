"""What officers' and analysts' views share: who counts as staff, what an officer may see of a
case row, how a file is answered. The views: worklist.py (worklists and the imported backlog),
case_search.py (the case search and its files), rekap_files.py (any rekap table as a file)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from fastapi.responses import Response

from shared.access import Facet, privacy_of, step_of, visible
from shared.auth import Officer
from shared.sop import OFFICE_ROLES, Role

STAFF = OFFICE_ROLES | {Role.ANALIS}
PAGE = 1000  # the most cases a search answers at once; an export reads up to EXPORT
EXPORT = 100_000
Format = Annotated[str, Path(pattern="^(csv|xlsx)$", description="csv atau xlsx")]


def facets_of(record: Any, officer: Officer) -> frozenset[Facet]:
    """What this officer may see of a case row (with the roles held in the case's agency)."""
    privacy = privacy_of(anonymous=record["anonymous"], confidential=record["confidential"])
    step = step_of(record["kind"], record["sop_version"], record["current_step"])
    return visible(officer.roles_in(record["agency"]), privacy, step)


def _file(
    content: bytes, media_type: str, filename: str, headers: dict[str, str] | None = None
) -> Response:
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content, media_type=media_type, headers=disposition | (headers or {}))

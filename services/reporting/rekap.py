"""Read-side queries: the rekap and public tracking."""

from __future__ import annotations

import asyncpg

from shared.db import Connection as Conn


async def by_month_and_channel(conn: Conn, *, agency: str, year: int) -> list[asyncpg.Record]:
    """Counts per month and channel for one year of one agency."""
    return await conn.fetch(
        "SELECT month, channel, sum(count)::bigint AS count FROM rekap "
        "WHERE agency = $1 AND year = $2 GROUP BY month, channel ORDER BY month, channel",
        agency,
        year,
    )


async def tracked_case(conn: Conn, *, agency: str, tracking_code: str) -> asyncpg.Record | None:
    """What the public may see of a case: no personal data, no content."""
    return await conn.fetchrow(
        "SELECT tracking_code, kind, status, current_step, sop_version, received_at, confidential "
        "FROM case_summary WHERE tracking_code = $1 AND agency = $2",
        tracking_code,
        agency,
    )

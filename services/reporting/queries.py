"""Read-side queries over the read models. Never personal data: reporting holds none."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.reporting.projection import cube_for
from shared.access import STEP_NEEDS, TABLE, Facet, Privacy
from shared.db import Connection as Conn
from shared.events.workflow import ResolvedDirectly
from shared.sop import CURRENT, OFFICE_ROLES, PROVINCE_ROLES, Kind, Role, sop_for
from shared.survey import FEWEST_SHOWN, PROFILE, element_means, grade, index_of
from shared.vocabulary import Group, Status, statuses
from shared.working_time import DayOverride, WorkingCalendar

OPEN = statuses(Group.OPEN)


async def rekap(
    conn: Conn, *, agencies: list[str], filters: Mapping[str, Any], group_by: Sequence[str]
) -> list[asyncpg.Record]:
    """Counts per agency, grouped by the chosen dimensions, filtered by any of them."""
    table = cube_for({*group_by, *filters}).table
    where = ["agency = ANY($1::text[])"] + [f"{dim} = ${i}" for i, dim in enumerate(filters, 2)]
    dims = ["agency", *group_by]
    select = ", ".join([*dims, "sum(count)::bigint AS count"])
    group = f" GROUP BY {', '.join(dims)} ORDER BY {', '.join(dims)}"
    query = f"SELECT {select} FROM {table} WHERE {' AND '.join(where)}{group}"
    return await conn.fetch(query, agencies, *filters.values())


async def by_year_and_month(
    conn: Conn, *, agencies: list[str], first: int, last: int, kind: str | None
) -> dict[tuple[str, int, int], int]:
    """Counts per (agency, year, month) for the multi-year table."""
    rows = await conn.fetch(
        "SELECT agency, year, month, sum(count)::bigint AS count FROM rekap_by_channel "
        "WHERE agency = ANY($1::text[]) AND year BETWEEN $2 AND $3 "
        "AND ($4::text IS NULL OR kind = $4) GROUP BY agency, year, month",
        agencies,
        first,
        last,
        kind,
    )
    return {(row["agency"], row["year"], row["month"]): row["count"] for row in rows}


async def compliance(
    conn: Conn, *, agencies: list[str], kind: Kind, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Per SOP step: how many were done, the share within the standard, median and p90."""
    rows = await conn.fetch(
        "SELECT sop_version, step, count(*) AS done, avg(within_standard::int) AS share, "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY working_minutes) AS median, "
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY working_minutes) AS p90 "
        "FROM step_times WHERE agency = ANY($1::text[]) AND kind = $2 AND completed_at >= $3 "
        "AND completed_at < $4 GROUP BY sop_version, step",
        agencies,
        kind.value,
        start,
        end,
    )
    done = {(row["sop_version"], row["step"]): row for row in rows}
    result = []
    for step in CURRENT[kind].case_steps[1:]:
        row = done.get((CURRENT[kind].version, step.id))
        result.append(
            {
                "step": step.id,
                "number": step.number,
                "label": step.label,
                "actor": step.actor.value,
                "standard_minutes": step.minutes,
                "count": int(row["done"]) if row else 0,
                "within_standard_share": round(float(row["share"]), 4) if row else None,
                "median_minutes": round(float(row["median"]), 2) if row else None,
                "p90_minutes": round(float(row["p90"]), 2) if row else None,
            }
        )
    return result


async def calendar(conn: Conn, *, agency: str, base: WorkingCalendar) -> WorkingCalendar:
    """The office calendar with the corrections workflow published."""
    rows = await conn.fetch(
        "SELECT day, working, label FROM calendar_days WHERE agency = $1", agency
    )
    return base.with_overrides(DayOverride(r["day"], r["working"], r["label"]) for r in rows)


async def calendars(
    conn: Conn, *, bases: Mapping[str, WorkingCalendar]
) -> dict[str, WorkingCalendar]:
    """Each agency's calendar with the corrections workflow published (one query)."""
    rows = await conn.fetch(
        "SELECT agency, day, working, label FROM calendar_days WHERE agency = ANY($1::text[])",
        list(bases),
    )
    return {
        agency: base.with_overrides(
            DayOverride(r["day"], r["working"], r["label"]) for r in rows if r["agency"] == agency
        )
        for agency, base in bases.items()
    }


def steps_of(role: Role) -> dict[str, list[str]]:
    """Per kind, the steps at which this role acts."""
    return {kind.value: [s.id for s in CURRENT[kind].case_steps if s.allows(role)] for kind in Kind}


async def worklist(
    conn: Conn, *, agencies: list[str], role: Role, limit: int, imported: bool = False
) -> list[asyncpg.Record]:
    """Open cases waiting at this role's steps, live or imported from the old register: past
    the case deadline first, then by when the step is due (imported: the oldest first). The
    coordinator's role acts at no step: its list is every open case of the agencies given
    (the province's queue)."""
    steps = steps_of(role)
    order = (
        "received_at"
        if imported
        else "(deadline_at <= now()) DESC NULLS LAST, step_due_at NULLS LAST"
    )
    return await conn.fetch(
        "SELECT * FROM case_summary WHERE agency = ANY($1::text[]) AND status = ANY($2) AND ($7 "
        "OR (kind = 'complaint' AND current_step = ANY($3)) OR "
        "(kind = 'consultation' AND current_step = ANY($4))) AND imported = $6 "
        f"ORDER BY {order} LIMIT $5",
        agencies,
        OPEN,
        steps["complaint"],
        steps["consultation"],
        limit,
        imported,
        role in PROVINCE_ROLES,
    )


PRIVACY = (
    "(CASE WHEN confidential THEN 'confidential' WHEN anonymous THEN 'anonymous' ELSE 'normal' END)"
)


STATUS_ONLY = frozenset({Facet.STATUS})


def seen_by(
    roles: frozenset[Role], needed: frozenset[Facet] = STATUS_ONLY
) -> tuple[list[str], list[str], list[str]]:
    """SQL arguments of the access policy (`shared.access.visible`, as a condition on rows):
    the privacy classes of which these roles see every `needed` facet, and the complaint and
    consultation steps at which the step rule gives them those of a confidential case."""

    def held(privacy: Privacy) -> frozenset[Facet]:
        return frozenset().union(*(TABLE[role][privacy] for role in roles))

    whole = [p.value for p in Privacy if needed <= held(p)]
    stepping = needed <= held(Privacy.CONFIDENTIAL) | STEP_NEEDS
    acting = [steps_of(role) for role in roles & OFFICE_ROLES] if stepping else []
    complaint = [step for steps in acting for step in steps[Kind.COMPLAINT.value]]
    consultation = [step for steps in acting for step in steps[Kind.CONSULTATION.value]]
    return whole, complaint, consultation


LATE = "(status = ANY($17) AND (overdue OR breached))"
"""An open case past its step's standard or its 14 working days (the clock's events)."""


@dataclass(frozen=True)
class Search:
    """What an officer searches cases by."""

    code: str | None = None
    status: str | None = None
    kind: str | None = None
    channel: str | None = None
    category: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    step: str | None = None
    overdue: bool | None = None  # open and past its step's standard or its deadline
    case_ids: list[UUID] | None = None  # found by intake (identity, letter, words); None: any


def seen_in(
    roles: Mapping[str, frozenset[Role]], needed: frozenset[Facet]
) -> tuple[list[str], list[str]]:
    """`seen_by` for an officer's roles in each agency, as SQL arguments: "agency:privacy" of
    the classes seen whole, and "agency:kind:step" of the steps seen by the step rule."""
    whole: list[str] = []
    stepped: list[str] = []
    for agency, held in roles.items():
        privacies, complaint, consultation = seen_by(held, needed)
        whole += [f"{agency}:{privacy}" for privacy in privacies]
        stepped += [f"{agency}:{Kind.COMPLAINT.value}:{step}" for step in complaint]
        stepped += [f"{agency}:{Kind.CONSULTATION.value}:{step}" for step in consultation]
    return whole, stepped


async def search(
    conn: Conn,
    *,
    query: Search,
    tz: str,
    limit: int,
    offset: int,
    roles: Mapping[str, frozenset[Role]],
    needed: frozenset[Facet] = STATUS_ONLY,
) -> list[asyncpg.Record]:
    """Cases matching every given criterion of which the officer, with their roles in each
    agency (`roles`), may see the `needed` facets, newest first: the condition is applied
    before the page is cut, so neither a page's length nor an offset tells of a case hidden
    from them, and a case is judged by the roles held in its own agency."""
    whole, stepped = seen_in(roles, needed)
    return await conn.fetch(
        "SELECT * FROM case_summary WHERE agency = ANY($1::text[]) "
        f"AND ((agency || ':' || {PRIVACY}) = ANY($12) OR (confidential AND "
        "(agency || ':' || kind || ':' || current_step) = ANY($13))) "
        "AND ($2::text IS NULL OR tracking_code LIKE $2 || '%') "
        "AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR kind = $4) "
        "AND ($5::text IS NULL OR channel = $5) AND ($6::text IS NULL OR category = $6) "
        "AND ($7::date IS NULL OR (received_at AT TIME ZONE $9)::date >= $7) "
        "AND ($8::date IS NULL OR (received_at AT TIME ZONE $9)::date <= $8) "
        "AND ($14::uuid[] IS NULL OR case_id = ANY($14)) "
        "AND ($15::text IS NULL OR current_step = $15) "
        f"AND ($16::boolean IS NULL OR ({LATE}) = $16) "
        "ORDER BY received_at DESC LIMIT $10 OFFSET $11",
        list(roles),
        query.code,
        query.status,
        query.kind,
        query.channel,
        query.category,
        query.received_from,
        query.received_to,
        tz,
        limit,
        offset,
        whole,
        stepped,
        query.case_ids,
        query.step,
        query.overdue,
        OPEN,
    )


async def tracked_case(conn: Conn, *, tracking_code: str) -> asyncpg.Record | None:
    """A case by its tracking code (unique across the deployment's agencies)."""
    return await conn.fetchrow("SELECT * FROM case_summary WHERE tracking_code = $1", tracking_code)


async def consultations(
    conn: Conn, *, agencies: list[str], year: int, tz: str
) -> list[asyncpg.Record]:
    """The Pojok OSS per month: received, solved at once, escalated to BKPM, closed, open."""
    return await conn.fetch(
        "SELECT extract(month FROM received_at AT TIME ZONE $4)::int AS month, "
        "count(*) AS received, "
        "count(*) FILTER (WHERE resolution = $5) AS resolved_directly, "
        "count(*) FILTER (WHERE bkpm_escalated) AS escalated_to_bkpm, "
        "count(*) FILTER (WHERE status = $6) AS resolved, "
        "count(*) FILTER (WHERE status = ANY($3)) AS open "
        "FROM case_summary WHERE agency = ANY($1::text[]) AND kind = 'consultation' "
        "AND extract(year FROM received_at AT TIME ZONE $4) = $2 "
        "GROUP BY 1 ORDER BY 1",
        agencies,
        year,
        OPEN,
        tz,
        ResolvedDirectly.name,
        Status.RESOLVED.value,
    )


async def satisfaction(
    conn: Conn, *, agencies: list[str], start: datetime, end: datetime
) -> dict[str, Any]:
    """The SKM: each element's mean (1–4), the index (25–100) and its grade; of fewer than
    `FEWEST_SHOWN` responses, their count only (`withheld`)."""
    row = await conn.fetchrow(
        "SELECT count(*) AS responses, array_agg(scores) AS all_scores, "
        + ", ".join(f"array_agg({name}) AS {name}" for name in PROFILE)
        + " FROM surveys WHERE agency = ANY($1::text[]) "
        "AND submitted_at >= $2 AND submitted_at < $3",
        agencies,
        start,
        end,
    )
    responses = int(row["responses"]) if row else 0
    if row is None or responses < FEWEST_SHOWN:
        return {
            "responses": responses,
            "elements": [],
            "index": None,
            "grade": None,
            "grade_label": None,
            "withheld": responses > 0,
        }
    means = element_means([list(scores) for scores in row["all_scores"]])
    index = index_of(means)
    letter, label = grade(index)
    return {
        "responses": responses,
        "elements": [None if mean is None else round(mean, 3) for mean in means],
        "index": index,
        "grade": letter,
        "grade_label": label,
        "withheld": False,
        "respondents": {  # the profile: per field, how many answered each option
            name: dict(Counter(value for value in row[name] if value is not None))
            for name in PROFILE
        },
    }


def step_label(kind: str, sop_version: str | None, step: str | None) -> str | None:
    """The Indonesian label of a step."""
    if not step or not sop_version:
        return None
    return sop_for(Kind(kind), sop_version).step(step).label

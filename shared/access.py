"""Who may see what of a case: one table, read by every surface that shows a case.

Rows are roles (`Role.PEMOHON` stands for the public: no token, or anyone holding a tracking
code; `COMPLAINANT` for whoever holds the code with its receipt secret, shared/receipts.py:
the complainant's own view), columns the three privacy classes of a case, cells the facets a
role may see.
Anonymous cases hold no identity, so their row is the normal one without it. On top of the
table, the officers who act at a confidential case's current SOP step (its actor and `also_by`)
read what that step needs (`STEP_NEEDS`), never the identity: the complaint team holds it.

A role that may not see a case's `status` does not learn that the case exists: lists leave it
out and direct reads answer 404, as for an unknown case. Render the table with
`python -m shared.access` (docs/access-policy.md is that output).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from shared import pii
from shared.sop import OFFICE_ROLES, ROLE_LABELS, Role, Step, sop_for
from shared.survey import PROFILE


class Facet(StrEnum):
    """A part of a case that is shown or withheld as a whole."""

    STATUS = "status"  # that it exists: tracking code and status
    CASE = "case"  # kind, channel, category, current step, dates, flags
    IDENTITY = "identity"  # the complainant's name and contact data
    TEXT = "text"  # what the complainant wrote (and later messages)
    ATTACHMENTS = "attachments"  # the complainant's and the officers' files
    ANSWER = "answer"  # the office's answer (public_answer)
    TIMELINE = "timeline"  # the case's history: actors, notes, instructions, BAP
    HISTORY = "history"  # the public history: steps, dates, the office's messages to them
    SURVEY = "survey"  # one respondent's SKM answers and profile: no role (the SKM counts them)


class Holder(StrEnum):
    """A reader without a role: the public row's other half, known by what they hold."""

    COMPLAINANT = "complainant"  # the tracking code and its receipt secret


class Privacy(StrEnum):
    """How a case was submitted."""

    NORMAL = "normal"
    ANONYMOUS = "anonymous"
    CONFIDENTIAL = "confidential"


PUBLIC = Role.PEMOHON
"""The row of the public: no token, or a tracking code."""
COMPLAINANT = Holder.COMPLAINANT
"""The row of the complainant: the tracking code with its receipt secret."""
OWN = frozenset({Facet.STATUS, Facet.CASE, Facet.TEXT, Facet.ANSWER, Facet.HISTORY})
"""What the complainant sees of their own case, whatever its class: never the officers' notes."""
Reader = Role | Holder

ALL = frozenset(Facet) - {Facet.SURVEY}
"""Everything any reader may be given: a survey's answers per case go to nobody (an officer
could tie a low rating to a named complainant); they reach officers only as the SKM's sums,
of `survey.FEWEST_SHOWN` responses or more."""
CASEWORK = ALL - {Facet.IDENTITY}
ROWS = frozenset({Facet.STATUS, Facet.CASE})
NONE: frozenset[Facet] = frozenset()

STEP_NEEDS = CASEWORK
"""What the actor of a confidential case's current step reads to do that step."""

# (normal, confidential) per role; anonymous = normal without identity.
_TABLE: dict[Reader, tuple[frozenset[Facet], frozenset[Facet]]] = {
    Role.PEMOHON: (ROWS | {Facet.ANSWER}, frozenset({Facet.STATUS})),
    Holder.COMPLAINANT: (OWN, OWN),
    Role.PETUGAS: (ALL, NONE),
    Role.TIM_PENGADUAN: (ALL, ALL),
    Role.KABID: (CASEWORK, NONE),
    Role.SEKRETARIS: (CASEWORK, NONE),
    Role.KEPALA_DINAS: (CASEWORK, CASEWORK),
    Role.PETUGAS_OSS: (ALL, NONE),
    Role.ANALIS: (ROWS, NONE),
    Role.ADMIN: (ALL, ALL),
    # The provincial coordinator routes cases between agencies: what a team lead reads of
    # normal cases, in every agency; of a confidential one only where it stands (enough to
    # forward it): its text and identity stay with the agency's complaint team.
    Role.KOORDINATOR: (CASEWORK, ROWS),
}

TABLE: dict[Reader, dict[Privacy, frozenset[Facet]]] = {
    role: {
        Privacy.NORMAL: normal,
        Privacy.ANONYMOUS: normal - {Facet.IDENTITY},
        Privacy.CONFIDENTIAL: confidential,
    }
    for role, (normal, confidential) in _TABLE.items()
}
"""Role × privacy → the facets that role may see (the step rule comes on top)."""


EVENT_FIELDS: dict[str, Facet] = {
    "public_answer": Facet.ANSWER,
    "public_message": Facet.HISTORY,
    "bkpm_reference": Facet.TIMELINE,
    "referred_to": Facet.TIMELINE,
    "related_agencies": Facet.TIMELINE,
    "by_name": Facet.TIMELINE,
    "scores": Facet.SURVEY,
    **dict.fromkeys(PROFILE, Facet.SURVEY),  # SurveySubmitted: sex, age group, ...
}
"""Fields of published events that show more than the case (the live stream, dead letters)."""

OFFICER_LABELS = frozenset({"referred_to", "archive_ref", "bkpm_reference", "related_agencies"})
"""Fields officers fill in that are kept and published unsealed: an agency's name, an archive or
reference number. Personal data is refused in them (services/workflow/commands.py); those
written before that are read through `readable`, as free text is."""
EVENT_TEXTS = frozenset({"public_answer"}) | OFFICER_LABELS
"""Fields of published events that are free text someone wrote (read through `readable`)."""


def privacy_of(*, anonymous: bool, confidential: bool) -> Privacy:
    """The privacy class of a case (confidential wins: its identity may still be held)."""
    if confidential:
        return Privacy.CONFIDENTIAL
    return Privacy.ANONYMOUS if anonymous else Privacy.NORMAL


def step_of(kind: str | None, sop_version: str | None, step_id: str | None) -> Step | None:
    """The SOP step a case stands at, if it is open at a known step."""
    if not (kind and sop_version and step_id):
        return None
    try:
        return sop_for(kind, sop_version).step(step_id)
    except (KeyError, ValueError):
        return None


def visible(
    roles: Iterable[Reader] | None, privacy: Privacy, step: Step | None = None
) -> frozenset[Facet]:
    """The facets of a case that an officer with these roles (None: the public) may see."""
    held = frozenset(roles or ()) or frozenset({PUBLIC})
    facets = frozenset().union(*(TABLE[role][privacy] for role in held))
    acting = step is not None and any(step.allows(role) for role in OFFICE_ROLES & held)
    if privacy is Privacy.CONFIDENTIAL and acting:
        facets |= STEP_NEEDS
    return facets


def readable(text: str, facets: frozenset[Facet]) -> str:
    """Free text (what a complainant or an officer wrote) as a reader with these facets may
    read it: in clear with the identity, else with the personal data in it masked
    (shared/pii.py). Every surface that shows text asks this, never `Facet.IDENTITY` itself."""
    return text if Facet.IDENTITY in facets else pii.mask(text)


FILE_WORDS = frozenset({"filename", "caption", "reason"})
"""What of a listed file the complainant (or a chat app, from their phone) named: free text."""


def readable_files(files: list[dict[str, Any]], facets: frozenset[Facet]) -> list[dict[str, Any]]:
    """Files as listed (ids, types, sizes), their names and captions read as free text."""
    return [
        {
            key: readable(value, facets) if key in FILE_WORDS and isinstance(value, str) else value
            for key, value in file.items()
        }
        for file in files
    ]


DATA_IDS = frozenset({"id", "mid", "message_id", "product_retailer_id", "catalog_id"})
"""Keys of structured answers that are a message's or a product's id, never a person's."""


def readable_data(value: Any, facets: frozenset[Facet], key: str = "") -> Any:
    """Structured answers (a shared contact card, a location, a form's answers, an order) read
    as free text, every string and whole number of them (a card's `wa_id` is a phone); the
    ids of DATA_IDS stay as they are."""
    if isinstance(value, int) and not isinstance(value, bool) and key not in DATA_IDS:
        masked = readable(str(value), facets)
        return value if masked == str(value) else masked
    if isinstance(value, str):
        return value if key in DATA_IDS else readable(value, facets)
    if isinstance(value, list):
        return [readable_data(item, facets, key) for item in value]
    if isinstance(value, dict):
        return {name: readable_data(item, facets, str(name)) for name, item in value.items()}
    return value


def marks(text: str, facets: frozenset[Facet]) -> list[dict[str, int | str]]:
    """Where the personal data stands in the text a reader with the identity reads in clear
    (kind, its label, start, end: to highlight it); nothing for the others, who read it
    masked."""
    if Facet.IDENTITY not in facets:
        return []
    return [
        {"kind": f.kind, "label": pii.LABELS[f.kind], "start": f.start, "end": f.end}
        for f in pii.find(text)
    ]


def may(
    roles: Iterable[Reader] | None, facet: Facet, privacy: Privacy, step: Step | None = None
) -> bool:
    """Whether these roles (None: the public) may see this facet of such a case."""
    return facet in visible(roles, privacy, step)


def readers(facet: Facet, privacy: Privacy) -> frozenset[Role]:
    """The roles that may see this facet of every case of this class (the step rule aside;
    the complainant is no role: their row opens only their own case)."""
    return frozenset(
        role for role, row in TABLE.items() if isinstance(role, Role) and facet in row[privacy]
    )


def markdown() -> str:
    """The table as Markdown, for docs/access-policy.md."""
    lines = [
        "# Access policy",
        "",
        "Generated by `python -m shared.access > docs/access-policy.md` from `shared/access.py`;"
        " a test checks that this file is current.",
        "",
        _doc(sys.modules[__name__].__doc__),
        "",
        "Facets: " + "; ".join(f"**{f.value}** ({_FACET_NOTES[f]})" for f in Facet) + ".",
        "",
        "| role | " + " | ".join(p.value for p in Privacy) + " |",
        "|---|" + "---|" * len(Privacy),
    ]
    for role, row in TABLE.items():
        label = _READER_LABELS.get(role) or f"{role.value} ({ROLE_LABELS[Role(role)]})"
        cells = [", ".join(f.value for f in Facet if f in row[p]) or "—" for p in Privacy]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    needs = ", ".join(f.value for f in Facet if f in STEP_NEEDS)
    lines += ["", f"Step rule (confidential cases): the current step's actors add: {needs}."]
    return "\n".join([*lines, "", *_SURFACES]) + "\n"


_READER_LABELS: dict[Reader, str] = {
    PUBLIC: "public (no token, or the tracking code alone)",
    COMPLAINANT: "complainant (the tracking code with its receipt secret)",
}

_FACET_NOTES = {
    Facet.STATUS: "the case exists: tracking code, status",
    Facet.CASE: "kind, channel, category, step, dates",
    Facet.IDENTITY: "the complainant's name and contact data",
    Facet.TEXT: "what the complainant wrote",
    Facet.ATTACHMENTS: "files of the complainant and of officers",
    Facet.ANSWER: "the office's answer, public_answer",
    Facet.TIMELINE: "history with actors, notes, instructions, BAP, referrals",
    Facet.HISTORY: "the steps with their dates, the office's messages to the complainant",
    Facet.SURVEY: "one respondent's SKM scores and profile: held by no reader",
}

_SURFACES = (
    "## Why these cells",
    "",
    "- Identity: the officers who take and answer complaints (petugas, tim_pengaduan, the"
    " Pojok OSS for consultations) and the administrator (erasure, data requests under UU"
    " 27/2022); leadership decides on the content, not on the person. An anonymous case"
    " holds no identity, so nobody sees it.",
    "- Confidential (e.g. extortion reported against the office's own staff): the complaint"
    " team and the head of office, who disposes it, and the administrator; the front desk,"
    " the division heads, the secretary and the Pojok OSS only while the case stands at a"
    " step they act at (the step rule), and then never the identity.",
    "- The provincial coordinator (pengelola induk) routes cases between the agencies: in"
    " every agency it reads what a division head reads of normal and anonymous cases; of a"
    " confidential case only that it exists and where it stands, enough to forward it (the"
    " text and the identity stay with the receiving agency's complaint team). Every other"
    " role reads only the cases of the agencies it belongs to (its reach).",
    "- Erasure: an administrator erases a person's data in the cases the agencies it"
    " administers have now (where the case was last moved); it is told nothing of the"
    " person's cases elsewhere, and another agency's tracking code is unknown to it. The"
    " province's administrator (`*`) erases in every agency.",
    "- Analysts count cases and read case rows without the answer; the rekap and the"
    " dashboards are aggregates and count every case. The public sees what tracking shows.",
    "- The complainant (code and receipt secret) sees their own case whatever its class:"
    " the answer, the steps and the office's messages, and what they wrote themselves; never"
    " the officers' notes, nor who acted.",
    "- Survey answers (SurveySubmitted's scores and the respondent's profile) reach no role,"
    " the administrator neither: tied to a case they would tie a rating to a named"
    " complainant. Officers see only the SKM's aggregates (reporting's satisfaction).",
    "",
    "Event fields beyond the case row: "
    + ", ".join(f"`{name}` ({facet.value})" for name, facet in EVENT_FIELDS.items())
    + ".",
    "",
    "## Where it applies",
    "",
    "- Free text (the complaint, its later parts, officers' notes and answers) is read in clear"
    " only with identity, the personal data in it listed in `pii` to highlight; without"
    " identity the personal data typed into it is masked (a NIK keeps its last four digits,"
    " `[telepon]`, `[email]`, `[nama]`: `shared/pii.py`). The public answer is masked before"
    " it leaves workflow, so the live stream, dead letters, exports and tracking never carry"
    " it in clear; only the complainant's own view and the messages to their own channel read"
    " the answer and the office's latest request in clear, from workflow's"
    " `GET /internal/v1/cases/{id}/public-texts` (service credential only).",
    "- intake `GET /intake/v1/submissions/{case_id}` and its attachments: status to see the"
    " case at all (else 404), text to read it (else 403), identity (`contact` is"
    ' "disembunyikan" otherwise), attachments (listed and served only with it).',
    "- intake `GET /intake/v1/submissions/{case_id}/deliveries` (and its retry),"
    " `GET /intake/v1/deliveries/failed`: only this office's cases with status; the failed"
    " list and its count leave the others out.",
    "- intake `POST /intake/v1/submissions/excerpts` (the worklist's excerpts): only cases"
    " with text; personal data in the text masked (shared.pii) without identity. The text"
    " never reaches reporting.",
    "- workflow `GET /workflow/v1/cases/{id}`: answer, timeline (with `answer` and"
    " `filename` details only with those facets); its attachments need attachments; every"
    " command and upload on a case needs status, and answers with what the officer could"
    " see when acting (the step may have moved on).",
    "- reporting `/reporting/v1/cases`, `cases.csv`, `cases.xlsx`, `/reporting/v1/worklist`,"
    " `/reporting/v1/backlog`: rows only of cases with status; `public_answer` only with"
    " answer; `handled_by` (the officer's name) only with timeline.",
    "- reporting `/reporting/v1/cases` by what intake holds (services/reporting/case_search.py):"
    " `phone`, `email`, `nik`, `name` need identity, `q` (words of the text) needs text, of"
    " some cases (else 403), and find only cases where the officer has that facet; `excerpt`"
    " only with text, masked (`shared.pii.mask`) without identity.",
    "- reporting `/reporting/v1/operations/events` (SSE): the roles that may see status of a"
    " normal case subscribe; each event of a case is left out or masked per subscriber.",
    "- reporting `/reporting/v1/operations/dead-letters`: administrators; bodies masked the"
    " same way; why a message failed only with identity (an error may quote personal data).",
    "- reporting `/reporting/v1/track/{code}` (the public row): status, and case and answer"
    " when the table allows; with the receipt secret in `X-Aduan-Receipt-Secret` (the"
    " complainant's row) also the history, the office's messages and the answer, confidential"
    " cases too. Texts shown on the public row pass `shared.pii.mask`; the complainant's own"
    " view shows them as written.",
    "- intake `/intake/v1/own/{code}/messages`, `.../replies`, `.../resolution`,"
    " `/intake/v1/surveys/{code}` and `POST /intake/v1/surveys`: only the complainant's row"
    " (code and secret); a wrong secret is refused (403), and repeated wrong secrets per"
    " address and per code are rate-limited (429); the right secret still opens a code that"
    " strangers have guessed at (only its own address's limit stops it).",
    "- reporting `/open311/v2/requests`, `requests/{id}`, `tokens/{token}` (Open311, the public"
    " row): status; service and dates with case; the answer (masked) with answer; only cases"
    " whose case facet is public are listed.",
    "",
    "A case whose status a role may not see answers 404 (as if unknown), never 403.",
)


def _doc(text: str | None) -> str:
    return " ".join((text or "").split())


if __name__ == "__main__":
    sys.stdout.write(markdown())

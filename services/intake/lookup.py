"""Which cases an officer's search finds by what only intake holds: the complainant's phone,
e-mail and NIK (as given, or written in a text of the case), name, a letter's number, the
words of the text.

Reporting asks these internal routes with the service credential and applies the access
policy itself. Identifiers are compared as keyed hashes of their normalised value
(services/intake/pseudonyms.py), names word by word the same way, the words of the text with
PostgreSQL's Indonesian full-text search over the index written with each submission.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any, LiteralString
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.intake.agencies import scoped_key
from services.intake.api import CurrentInbox
from services.intake.excerpts import Excerpt, excerpt_of
from services.intake.inbox import Inbox
from services.intake.pseudonyms import name_words
from services.intake.reach import store_call, store_up
from services.intake.records import TEXT_SEARCH, Rows
from services.intake.store import SubmissionRecorder, held_by
from services.intake.submission import Submission, submission_id
from shared.channels import Channel
from shared.feed import require_service_credential
from shared.pii import mask

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/internal/v1",
    include_in_schema=False,
    dependencies=[Depends(require_service_credential), Depends(store_up)],
)

MATCHES = 20_000
"""The most case ids one lookup answers (reporting narrows them by its own filters)."""
"""Characters of a submission's text in an excerpt."""

PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"  # PostgreSQL refuses NUL in text
Short = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=PRINTABLE),
]


class Lookup(BaseModel):
    """What to find cases by; every given criterion must match."""

    model_config = ConfigDict(extra="forbid")

    phone: Short | None = None
    email: Short | None = None
    nik: Short | None = None
    name: Short | None = None
    letter: Short | None = None
    words: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=PRINTABLE)]
        | None
    ) = None
    agencies: list[Short] | None = Field(default=None, max_length=1000)
    """Only the cases these agencies hold now (the officer's); none given: every agency's."""


class Matches(BaseModel):
    """The cases found (at most MATCHES; `more`: there were others)."""

    case_ids: list[UUID]
    more: bool


class ExcerptsOf(BaseModel):
    """The cases whose text to excerpt."""

    case_ids: list[UUID] = Field(max_length=1000)


_IDENTIFIERS = ("phone", "email", "nik")


def _selects(inbox: Inbox, lookup: Lookup) -> tuple[list[LiteralString], dict[str, Any]]:
    """One SELECT of case ids per criterion, and their parameters."""
    selects: list[LiteralString] = []
    params: dict[str, Any] = {}
    for kind in _IDENTIFIERS:
        value = getattr(lookup, kind)
        if value:
            params[kind] = inbox.pseudonyms.of(kind, value)
    # The complainant's own (identities), or written in a text of the case (mentions).
    if "phone" in params:
        selects.append(
            "(SELECT case_id FROM {s}.identities WHERE hash = %(phone)s "
            "UNION SELECT case_id FROM {s}.mentions WHERE hash = %(phone)s)"
        )
    if "email" in params:
        selects.append(
            "(SELECT case_id FROM {s}.identities WHERE hash = %(email)s "
            "UNION SELECT case_id FROM {s}.mentions WHERE hash = %(email)s)"
        )
    if "nik" in params:
        selects.append(
            "(SELECT case_id FROM {s}.identities WHERE hash = %(nik)s "
            "UNION SELECT case_id FROM {s}.mentions WHERE hash = %(nik)s)"
        )
    if lookup.name is not None:
        params["names"] = [inbox.pseudonyms.of("name", w) for w in set(name_words(lookup.name))]
        selects.append(
            "SELECT case_id FROM {s}.name_words WHERE hash = ANY(%(names)s) "
            "GROUP BY case_id HAVING count(*) = cardinality(%(names)s)"
        )
    if lookup.letter:
        params["letters"] = _letters(inbox, lookup.letter)
        selects.append("SELECT case_id FROM {s}.submission_index WHERE case_id = ANY(%(letters)s)")
    if lookup.words:
        params["words"] = lookup.words
        params["config"] = TEXT_SEARCH
        selects.append(
            "SELECT case_id FROM {s}.search_words "
            "WHERE words @@ websearch_to_tsquery(%(config)s::regconfig, %(words)s)"
        )
    return selects, params


def _letters(inbox: Inbox, number: str) -> list[UUID]:
    """The submissions a letter's number may be: its number at each agency (Inbox.client_key
    scopes it), and as typed (the home agency's, recorded before numbers were scoped).
    Reporting keeps those of the agencies the officer serves."""
    served = {inbox.settings.agency, *(inbox.agencies.last() or {})}
    scoped = [submission_id(Channel.LETTER, scoped_key(number, agency=a)) for a in served]
    return [submission_id(Channel.LETTER, number), *scoped]


def find(inbox: Inbox, lookup: Lookup, limit: int = MATCHES) -> Matches:
    """The cases matching every criterion, at most `limit` (none given: none found)."""
    selects, params = _selects(inbox, lookup)
    if not selects or params.get("names") == []:
        return Matches(case_ids=[], more=False)
    query: LiteralString = " INTERSECT ".join(selects)
    if lookup.agencies is not None:  # one not placed yet is kept: reporting cuts it
        params["agencies"] = lookup.agencies
        query = held_by(query)
    rows = inbox.submissions.query(query + " LIMIT %(limit)s", params | {"limit": limit + 1})
    ids = [row["case_id"] for row in rows]
    return Matches(case_ids=ids[:limit], more=len(ids) > limit)


def excerpts(inbox: Inbox, case_ids: list[UUID]) -> dict[str, Excerpt]:
    """The excerpt of each submission's text, clear and masked: reporting shows each reader the
    one the access policy allows (erased: left out)."""
    found = {}
    for case_id in dict.fromkeys(case_ids):
        submission = inbox.submissions.submission(case_id)
        excerpt = excerpt_of(inbox, submission) if submission is not None else None
        if excerpt is not None:
            found[str(case_id)] = excerpt
    return found


@router.post("/lookup")
async def lookup_cases(lookup: Lookup, inbox: CurrentInbox) -> Matches:
    """The cases that an officer's search criteria held by intake match (service only)."""
    return await store_call(find, inbox, lookup)


@router.post("/excerpts")
async def excerpts_of(asked: ExcerptsOf, inbox: CurrentInbox) -> dict[str, Excerpt]:
    """The start of these cases' texts, for the officers allowed to read them (service only)."""
    return await store_call(excerpts, inbox, asked.case_ids)


BATCH = 100
"""Submissions indexed per transaction by `index_earlier`."""
RETRY_SECONDS = 5.0


def index_earlier(inbox: Inbox) -> int:
    """Index up to BATCH submissions stored before the search index existed (their texts'
    words and their name's words, as a new submission is indexed); how many were found."""
    submissions = inbox.submissions
    rows = submissions.query(
        "SELECT i.case_id FROM {s}.submission_index i WHERE NOT EXISTS "
        "(SELECT 1 FROM {s}.search_indexed w WHERE w.case_id = i.case_id) LIMIT %s",
        (BATCH,),
    )
    indexed = Rows.merge(_index_of(inbox, row["case_id"]) for row in rows)
    indexed.indexed = [row["case_id"] for row in rows]  # done, whatever a case held already
    if rows:
        recorder = submissions.recorder
        assert isinstance(recorder, SubmissionRecorder)
        recorder.write_rows(indexed)
    return len(rows)


def _index_of(inbox: Inbox, case_id: UUID) -> Rows:
    """A stored submission's index rows; an erased one's: no words (it is then done)."""
    submission = inbox.submissions.submission(case_id)
    key = inbox.submissions.personal_key(submission.received.personal_ref) if submission else None
    if submission is None or key is None:
        return Rows(words=[(case_id, "")])
    opened = key.open(submission.received.sealed)
    parts = [
        key.open(event.sealed).get("text")
        for event in inbox.submissions.events.get(case_id)
        if isinstance(event, Submission.MessageAdded | Submission.MessageEdited)
    ]
    texts = [text for text in (opened.get("text"), *parts) if isinstance(text, str)]
    contact = opened.get("contact")
    name = contact.get("name") if isinstance(contact, dict) else None
    return Rows(
        words=[(case_id, mask(text)) for text in texts] or [(case_id, "")],
        names=[(digest, case_id) for digest in inbox.pseudonyms.of_name(name)],
    )


def place_earlier(inbox: Inbox) -> int:
    """Note the agency of up to BATCH submissions indexed before the index had it (the
    deployment's own where the submission is gone); how many were found."""
    submissions = inbox.submissions
    rows = submissions.query(
        "SELECT case_id FROM {s}.submission_index WHERE agency IS NULL LIMIT %s", (BATCH,)
    )
    ids = [row["case_id"] for row in rows]
    homes = []
    for case_id in ids:
        submission = submissions.submission(case_id)
        homes.append(submission.agency if submission is not None else inbox.settings.agency)
    if ids:
        submissions.execute(
            "UPDATE {s}.submission_index i SET agency = u.agency FROM "
            "unnest(%s::uuid[], %s::text[]) AS u (case_id, agency) WHERE i.case_id = u.case_id",
            (ids, homes),
        )
    return len(ids)


async def run_indexing(inbox: Inbox) -> None:
    """Index every submission stored before the search index, and note the agency of those
    stored before the index had it, batch by batch, then end."""
    for step, what in ((index_earlier, "indexed"), (place_earlier, "placed in their agency")):
        total = 0
        while True:
            try:
                found = await asyncio.to_thread(step, inbox)
            except (InterfaceError, OperationalError):  # the store away: again later
                await asyncio.sleep(RETRY_SECONDS)
                continue
            total += found
            if found < BATCH:
                break
        if total:
            log.info("search index: %d earlier submissions %s", total, what)

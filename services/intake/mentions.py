"""Index the identifiers typed into texts stored before they were indexed on arrival.

    python -m services.intake index-mentions

Since this release every submission, later message and imported row records the keyed hashes
of the NIK, phone and e-mail in its text (`intake.mentions`) when it is stored. Submissions
stored earlier are indexed by this command, run once after the upgrade (again is harmless:
rows already there are kept). It opens each text with its personal key (an erased one has
none and is skipped) and writes only hashes.
"""

from __future__ import annotations

import asyncio
import sys
from uuid import UUID

from services.intake.pseudonyms import Pseudonyms
from services.intake.records import Rows
from services.intake.store import SCHEMA, SubmissionRecorder, Submissions, open_submissions
from services.intake.submission import Submission
from shared.db import ensure_schema, setup_lock
from shared.settings import Settings

BATCH = 500


def texts_of(submissions: Submissions, case_id: UUID) -> list[str]:
    """Every text of a submission in clear: its first message, later ones, their edits,
    register columns."""
    submission = submissions.submission(case_id)
    if submission is None:
        return []
    key = submissions.personal_key(submission.received.personal_ref)
    if key is None:
        return []  # erased
    opened = key.open(submission.received.sealed)
    register = opened.get("register")
    texts = [str(opened.get("text") or "")]
    if isinstance(register, dict):
        texts += [value for value in register.values() if isinstance(value, str)]
    for event in submissions.events.get(case_id):
        if isinstance(event, Submission.MessageAdded | Submission.MessageEdited):
            texts.append(str(key.open(event.sealed).get("text") or ""))
    return texts


def index(submissions: Submissions, pseudonyms: Pseudonyms) -> int:
    """Index every stored submission's texts; how many hashes were written (or kept)."""
    cases = [
        row["case_id"]
        for row in submissions.query(
            "SELECT case_id FROM {s}.submission_index ORDER BY case_id", ()
        )
    ]
    written = 0
    for start in range(0, len(cases), BATCH):
        rows = Rows()
        for case_id in cases[start : start + BATCH]:
            mentioned = pseudonyms.of_text(*texts_of(submissions, case_id))
            rows.mentions += [(digest, case_id) for digest in mentioned]
        recorder = submissions.recorder
        assert isinstance(recorder, SubmissionRecorder)
        recorder.write_rows(rows)
        written += len(rows.mentions)
    return written


async def run(settings: Settings) -> int:
    """Open the store as the import does, then index it."""
    async with setup_lock(settings, SCHEMA):
        await ensure_schema(settings, SCHEMA)
        submissions = await asyncio.to_thread(open_submissions, settings)
        pseudonyms = await Pseudonyms.load(settings)
    return await asyncio.to_thread(index, submissions, pseudonyms)


def main() -> int:
    """The command: prints how many identifiers it indexed."""
    count = asyncio.run(run(Settings()))
    print(f"{count} pengenal dalam teks diindeks.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

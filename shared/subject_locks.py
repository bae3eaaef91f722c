"""Per-subject locks for a consumer's batch: held until its transaction ends.

One consumer holds a partition at a time, but when a consumer loses its broker mid-batch the
broker hands the batch's messages to the next consumer at once, while the first one's
transaction may still commit. A consumer whose handling reads state and writes it back (a
projection, a case's step) holds each subject of its batch in its transaction, then reads what
it has applied already: of the two, the second waits for the first's commit and finds the
batch applied. PostgreSQL advisory locks of the two-key kind: a class (the name's hash) and
the subject's first 32 bits (two subjects may share a key, which only serialises them).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

LOCK_EACH = (
    "SELECT pg_advisory_xact_lock(hashtext({name}), key) "
    "FROM unnest({keys}::int[]) WITH ORDINALITY AS keys (key, n) ORDER BY n"
)
"""Take the locks of a class (placeholder `name`) in the order of `keys` (its placeholder)."""


def lock_keys(subjects: Iterable[UUID]) -> list[int]:
    """The subjects' lock keys, in the one order every batch takes them (two batches never
    wait for each other in a circle)."""
    return sorted({int.from_bytes(subject.bytes[:4], "big", signed=True) for subject in subjects})

"""The projectors' copy of a record with changes (`changed`) is `dataclasses.replace` without
its cost: the same record, the original untouched, a misspelt field refused."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from services.reporting.projection import CaseRow, changed
from shared.vocabulary import Status

ROW = CaseRow(
    case_id=uuid4(),
    agency="dpmptsp-gresik",
    tracking_code="ADU-TEST",
    kind="complaint",
    channel="web",
    category=None,
    received_at=datetime(2026, 11, 30, 3, tzinfo=UTC),
    anonymous=False,
    confidential=False,
)


def test_a_changed_row_is_the_row_replace_makes_and_the_original_stays() -> None:
    changes: dict[str, Any] = {"status": Status.IN_PROGRESS.value, "current_step": "verification"}

    copy = changed(ROW, **changes)

    assert copy == dataclasses.replace(ROW, **changes)
    assert type(copy) is CaseRow
    assert ROW.status == Status.RECEIVED.value
    assert ROW.current_step is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.status = "other"  # type: ignore[misc]


def test_a_field_a_record_does_not_have_is_refused() -> None:
    with pytest.raises(TypeError, match="no field stauts"):
        changed(ROW, stauts=Status.RESOLVED.value)
    assert ROW.status == Status.RECEIVED.value

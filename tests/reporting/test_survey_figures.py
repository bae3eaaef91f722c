"""The SKM published: of a few responses, their count only (no respondent's scores)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from shared.events import Envelope, seal
from shared.events.intake import SurveySubmitted
from shared.survey import FEWEST_SHOWN, element_means, index_of
from tests.polling import eventually
from tests.reporting.conftest import Desk
from tests.samples import case_opened, complaint_received


def rated(received: Envelope, scores: list[int]) -> Envelope:
    at = datetime.now(UTC)
    data = SurveySubmitted(case_id=received.subject, at=at, scores=scores, sex="female")
    return seal(data, subject=received.subject, version=2, time=at, agency=received.agency)


async def test_the_skm_of_fewer_than_five_responses_shows_their_count_only(desk: Desk) -> None:
    now = datetime.now(ZoneInfo(desk.settings.timezone))
    skm = f"/reporting/v1/satisfaction?year={now.year}"
    board = f"/reporting/v1/dashboard?year={now.year}&month={now.month}"
    answers = [[4, 3, 4, 2, 4, 3, 4, 4, 1], *[[3] * 9] * (FEWEST_SHOWN - 1)]
    for number, scores in enumerate(answers, start=1):
        received = complaint_received(agency=desk.settings.agency)
        await desk.bus.publish(received, case_opened(received), rated(received, scores))

        async def counted(expected: int = number) -> dict[str, object] | None:
            figures: dict[str, object] = (await desk.http.get(skm)).json()
            return figures if figures["responses"] == expected else None

        figures = await eventually(counted, within=20)
        assert figures is not None
        shown = (await desk.http.get(board)).json()["satisfaction"]
        if number < FEWEST_SHOWN:  # one respondent's scores, or a few, are never published
            assert figures["withheld"] is True
            assert (figures["index"], figures["elements"], figures["grade"]) == (None, [], None)
            assert "respondents" not in figures
            assert (shown["index"], shown["elements"], shown["withheld"]) == (None, [], True)
    assert figures is not None
    assert figures["withheld"] is False
    given: list[list[int | None]] = [list(scores) for scores in answers]
    assert figures["index"] == index_of(element_means(given))
    assert figures["respondents"]["sex"] == {"female": FEWEST_SHOWN}  # type: ignore[index]

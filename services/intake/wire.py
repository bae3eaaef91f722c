"""Intake's wire table: each event a Submission records, mapped to its contract (identity and
text never leave). Nothing is internal: readers wait for each submission's versions without gaps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.intake.submission import Submission
from shared.events import (
    ComplaintImported,
    ComplaintReceived,
    ConsultationImported,
    ConsultationReceived,
    Contract,
    DispositionReceived,
    MessageAdded,
    MessageEdited,
    MessageWithdrawn,
    PersonalDataErased,
    SubmissionImported,
    SubmissionReceived,
)
from shared.events.intake import (
    ComplainantReplied,
    ResolutionConfirmed,
    ResolutionDisputed,
    SurveySubmitted,
)
from shared.relay import WireTable


def _received(contract: type[SubmissionReceived]) -> Callable[[Any], Contract]:
    def to_contract(event: Submission.ComplaintReceived) -> Contract:
        return contract(
            case_id=event.originator_id,
            tracking_code=event.tracking_code,
            kind=event.kind,
            channel=event.channel,
            category=event.category,
            received_at=event.received_at,
            anonymous=event.anonymous,
            confidential=event.confidential,
            complainant_ref=None if event.anonymous else event.personal_ref,
        )

    return to_contract


def _imported(contract: type[SubmissionImported]) -> Callable[[Any], Contract]:
    def to_contract(event: Submission.ComplaintImported) -> Contract:
        return contract(
            case_id=event.originator_id,
            tracking_code=event.tracking_code,
            kind=event.kind,
            channel=event.channel,
            source_channel=event.source_channel,
            category=event.category,
            source_category=event.source_category,
            received_at=event.received_at,
            outcome=event.outcome,
            closed_at=event.closed_at,
            register_ref=event.register_ref,
            anonymous=event.anonymous,
            confidential=event.confidential,
            complainant_ref=None if event.anonymous else event.personal_ref,
        )

    return to_contract


def _added(event: Submission.MessageAdded) -> Contract:
    return MessageAdded(
        case_id=event.originator_id,
        channel=event.channel,
        received_at=event.received_at,
        attachments=event.attachments,
    )


def _edited(event: Submission.MessageEdited) -> Contract:
    return MessageEdited(
        case_id=event.originator_id, channel=event.channel, received_at=event.received_at
    )


def _withdrawn(event: Submission.MessageWithdrawn) -> Contract:
    return MessageWithdrawn(
        case_id=event.originator_id, channel=event.channel, received_at=event.received_at
    )


def _erased(event: Submission.PersonalDataErased) -> Contract:
    return PersonalDataErased(case_id=event.originator_id, erased_at=event.erased_at)


def _disposed(event: Submission.DispositionReceived) -> Contract:
    return DispositionReceived(
        case_id=event.originator_id,
        at=event.at,
        from_agency=event.from_agency,
        to_agency=event.to_agency,
        lapor_ref=event.lapor_ref,
    )


def _replied(event: Submission.ComplainantReplied) -> Contract:
    return ComplainantReplied(
        case_id=event.originator_id,
        channel=event.channel,
        received_at=event.received_at,
        attachments=event.attachments,
    )


def _resolution(
    contract: type[ResolutionConfirmed | ResolutionDisputed],
) -> Callable[[Any], Contract]:
    def to_contract(event: Submission.ResolutionConfirmed) -> Contract:
        return contract(case_id=event.originator_id, at=event.at)

    return to_contract


def _surveyed(event: Submission.SurveySubmitted) -> Contract:
    return SurveySubmitted(
        case_id=event.originator_id, at=event.at, scores=event.scores, **(event.profile or {})
    )


WIRE = WireTable(
    published={
        Submission.ComplaintReceived: _received(ComplaintReceived),
        Submission.ConsultationReceived: _received(ConsultationReceived),
        Submission.ComplaintImported: _imported(ComplaintImported),
        Submission.ConsultationImported: _imported(ConsultationImported),
        Submission.MessageAdded: _added,
        Submission.MessageEdited: _edited,
        Submission.MessageWithdrawn: _withdrawn,
        Submission.ComplainantReplied: _replied,
        Submission.ResolutionConfirmed: _resolution(ResolutionConfirmed),
        Submission.ResolutionDisputed: _resolution(ResolutionDisputed),
        Submission.PersonalDataErased: _erased,
        Submission.DispositionReceived: _disposed,
        Submission.SurveySubmitted: _surveyed,
    },
    internal=frozenset(),
)

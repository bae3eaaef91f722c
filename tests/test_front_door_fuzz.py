"""Schemathesis through both front doors (the gateway, nginx), with and without an officer
token, its stateful phase included: no answer is a 5xx.

The services' own ports are fuzzed with every check by tests/test_openapi_fuzz.py; here the
question is only what a front door adds: a door may refuse what it cannot forward (400), but
nothing it or a service answers is a server error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import schemathesis
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.errors import NoLinksFound
from schemathesis.core.result import Ok

from shared.settings import SERVICES
from tests.front_door import DOORS, FrontDoors, front_doors
from tests.infrastructure import base_settings, create_isolated, destroy_isolated
from tests.system import with_free_ports
from tests.test_openapi_fuzz import ENDLESS, FUZZ, officer_token

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.long]  # make test-long

# A third of the service-port run's examples per operation and mode: the doors add no logic
# per operation, and four runs (two doors, with and without a token) go through each.
THROUGH = hypothesis_settings(FUZZ, max_examples=max(3, FUZZ.max_examples // 3))
STATEFUL = hypothesis_settings(
    FUZZ, max_examples=max(3, FUZZ.max_examples // 3), stateful_step_count=6
)
CHECKS: list[CheckFunction] = [not_a_server_error]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def office(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FrontDoors]:
    """One office for the module, behind both doors; limits out of the fuzzer's way."""
    base = base_settings().model_copy(update={"rate_ip_per_minute": 1_000_000})
    settings = await create_isolated(base)
    try:
        async with front_doors(with_free_ports(settings), tmp_path_factory.mktemp("fuzz")) as it:
            yield it
    finally:
        await destroy_isolated(settings)


def fuzz_through(origin: str, service: str, headers: dict[str, str]) -> tuple[int, bool]:
    """Every operation of a service, then its stateful scenarios, through a door: how many
    operations, and whether the schema has links for a stateful phase."""
    schema: Any = schemathesis.openapi.from_url(f"{origin}/{service}/openapi.json")
    for label in ENDLESS:
        method, path = label.split(" ", 1)
        schema = schema.exclude(method=method, path=path)
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation, operations = result.ok(), operations + 1
        for mode in GenerationMode:

            @THROUGH
            @given(case=operation.as_strategy(mode))
            def check(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

            try:
                check()
            except Unsatisfiable:  # nothing about this operation can be made invalid
                assert mode is GenerationMode.NEGATIVE, operation.label
    return operations, stateful(schema, headers)


def stateful(schema: Any, headers: dict[str, str]) -> bool:
    """Schemathesis' stateful phase (sequences along the schema's links, given or inferred),
    5xx checked only; False when the schema has no links to follow."""

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"headers": headers, "timeout": 30}

        def validate_response(
            self, response: Any, case: schemathesis.Case[Any], **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        Scenarios.run(settings=STATEFUL)
    except NoLinksFound:
        return False
    return True


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "officer"])
async def test_no_request_through_a_door_makes_anything_fail(
    office: FrontDoors, door: str, signed_in: bool
) -> None:
    token = await asyncio.to_thread(officer_token, office.system.settings) if signed_in else ""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    linked = []
    for service in SERVICES:
        count, had_links = await asyncio.to_thread(
            fuzz_through, office.origin(door), service, headers
        )
        assert count, f"{service} exposes no operation"
        linked += [service] if had_links else []
    assert linked, "no service's schema has links: the stateful phase ran nowhere"

"""Schemathesis against every service's OpenAPI, served by real processes: never a 5xx."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from shared.settings import SERVICES, Settings
from shared.sop import Role
from tests.infrastructure import base_settings, create_isolated, destroy_isolated, environment
from tests.system import processes, with_free_ports

pytestmark = pytest.mark.long  # make test-long


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """All three services as processes, for the whole module."""
    settings = with_free_ports(asyncio.run(create_isolated(base_settings())))
    logs = tmp_path_factory.mktemp("logs")
    try:
        with processes(settings, logs):
            yield settings
    finally:
        asyncio.run(destroy_isolated(settings))


# Schema-valid requests can still be refused on meaning (an Idempotency-Key reused for other
# content, identity on an anonymous form): 4xx there is right. Every other check stays on.
# 30 examples per operation and mode keep the suite quick; ADUAN_FUZZ_EXAMPLES=500 digs deeper.
FUZZ = hypothesis_settings(
    max_examples=int(os.environ.get("ADUAN_FUZZ_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def officer_token(settings: Settings) -> str:
    """A token holding every role, from the running workflow's built-in issuer."""
    roles = [arg for role in Role for arg in ("--role", role.value)]
    return subprocess.run(
        [sys.executable, "-m", "services.workflow", "token", *roles],
        env=os.environ | environment(settings),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


# Streams that never end by design (SSE): tests/reporting/test_operations.py covers them.
ENDLESS = frozenset({"GET /reporting/v1/operations/events"})


def repeats_a_scalar_query_parameter(case: schemathesis.Case[Any]) -> bool:
    """`?a=1&a=2` for a single-valued `a`: HTTP frameworks take the last value, which
    schemathesis counts as accepting invalid data; not a behaviour worth a rejection."""
    declared = {
        parameter["name"]: parameter.get("schema", {})
        for parameter in case.operation.definition.raw.get("parameters", [])
        if parameter.get("in") == "query"
    }
    return any(
        isinstance(value, list) and "array" not in json.dumps(declared.get(name, {}))
        for name, value in (case.query or {}).items()
    )


def fuzz(settings: Settings, service: str) -> list[str]:
    """Every operation of a service's OpenAPI, with generated requests; what was exercised."""
    url = f"http://127.0.0.1:{settings.port(service)}"
    headers = {"Authorization": f"Bearer {officer_token(settings)}"}
    schema = schemathesis.openapi.from_url(f"{url}/{service}/openapi.json")
    exercised = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if operation.label in ENDLESS:
            continue
        for mode in GenerationMode:

            @FUZZ
            @given(case=operation.as_strategy(mode))
            def check(case: schemathesis.Case[Any]) -> None:
                assume(not repeats_a_scalar_query_parameter(case))
                case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

            try:
                check()
            except Unsatisfiable:  # nothing about this operation can be made invalid
                assert mode is GenerationMode.NEGATIVE, operation.label
        exercised.append(operation.label)
    return exercised


@pytest.mark.parametrize("service", SERVICES)
def test_no_request_makes_a_service_fail(live: Settings, service: str) -> None:
    assert fuzz(live, service), f"{service} exposes no operation"

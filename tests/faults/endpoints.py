"""Every endpoint of every service, as requests a test can send: read from each running
service's OpenAPI, path and query parameters filled with a known case, bodies made from the
schemas (required fields only), and the gateway's pages. What a fault test asks of each answer
is here too (`judge`)."""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from services.reporting.last_good import STALE_HEADER
from shared.open311 import MEDIA_TYPES
from shared.settings import SERVICES

WEB_ROOT = Path(__file__).resolve().parents[2] / "web"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)

ANSWER_WITHIN = 2.0
"""Every endpoint answers within this, whatever server is away (issue 12)."""
GIVE_UP_AFTER = 2.5
"""How long a probe waits before it counts the endpoint as not answering at all."""
STALE_READS = frozenset(
    {
        "reporting GET /reporting/v1/rekap",
        "reporting GET /reporting/v1/rekap/years",
        "reporting GET /reporting/v1/track/{code}",
        "gateway GET /reporting/v1/rekap",
        "gateway GET /reporting/v1/track/{code}",
        "reporting GET /open311/v2/requests.{fmt}",
        "reporting GET /open311/v2/requests/{code}.{fmt}",
        "reporting GET /open311/v2/tokens/{token}.{fmt}",
    }
)
"""Public reads that keep answering 200 from the last good copy while reporting's database is
away; they are requested without a token, as the public does."""
ENDLESS = frozenset({"reporting GET /reporting/v1/operations/events"})
"""Streams (SSE): only the time to the response's head counts."""


@dataclass(frozen=True)
class Known:
    """What the requests refer to: a real case, an account, this year."""

    case_id: str
    tracking_code: str
    username: str
    year: int = field(default_factory=lambda: datetime.now(UTC).year)
    month: int = field(default_factory=lambda: datetime.now(UTC).month)


@dataclass(frozen=True)
class Endpoint:
    """One request to send: `name` is '<service> <METHOD> <path template>'."""

    name: str
    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    json_body: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    token: bool = True

    @property
    def stale_read(self) -> bool:
        """A public read served from the last good copy while the store is away."""
        return self.name.split(" (")[0] in STALE_READS


@dataclass(frozen=True)
class Answer:
    """What an endpoint answered (status None: nothing within GIVE_UP_AFTER)."""

    status: int | None
    seconds: float
    content_type: str = ""
    retry_after: str | None = None
    stale: str | None = None
    error: str = ""

    def describe(self) -> str:
        """A short account for a failure message."""
        if self.status is None:
            return f"no answer within {self.seconds:.1f} s ({self.error})"
        extra = f", {STALE_HEADER}: {self.stale}" if self.stale else ""
        retry = f", Retry-After: {self.retry_after}" if self.retry_after else ""
        return f"{self.status} {self.content_type or '-'}{retry}{extra} in {self.seconds:.2f} s"


def endpoints(
    specs: dict[str, dict[str, Any]], urls: dict[str, str], known: Known
) -> list[Endpoint]:
    """Every operation of every service's OpenAPI (each value of an enumerated path parameter
    apart), plus /healthz and /metrics of each, and the gateway's pages and public reads."""
    found: list[Endpoint] = []
    for service in SERVICES:
        spec = specs[service]
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                found += _operation(service, urls[service], spec, path, method, operation, known)
        for path in ("/healthz", "/metrics"):
            found.append(Endpoint(f"{service} GET {path}", "GET", f"{urls[service]}{path}"))
    gateway = urls["gateway"]
    for page in sorted(WEB_ROOT.glob("*.html")):
        path = "/" if page.stem == "index" else f"/{page.stem}"
        found.append(Endpoint(f"gateway GET {path}", "GET", f"{gateway}{path}", token=False))
    found += [
        Endpoint(
            "gateway GET /reporting/v1/rekap",
            "GET",
            f"{gateway}/reporting/v1/rekap",
            params={"year": known.year},
            token=False,
        ),
        Endpoint(
            "gateway GET /reporting/v1/track/{code}",
            "GET",
            f"{gateway}/reporting/v1/track/{known.tracking_code}",
            token=False,
        ),
        Endpoint(
            "gateway POST /intake/v1/complaints",
            "POST",
            f"{gateway}/intake/v1/complaints",
            json_body={"text": "Pengaduan uji gangguan lewat gerbang."},
            token=False,
        ),
    ]
    return found


def _operation(
    service: str,
    base: str,
    spec: dict[str, Any],
    path: str,
    method: str,
    operation: dict[str, Any],
    known: Known,
) -> list[Endpoint]:
    parameters = operation.get("parameters", [])
    choices: dict[str, list[str]] = {}
    params: dict[str, Any] = {}
    for parameter in parameters:
        name, schema = parameter["name"], _resolve(spec, parameter.get("schema", {}))
        if parameter["in"] == "path":
            choices[name] = _path_values(name, schema, known)
        elif parameter["in"] == "query" and parameter.get("required"):
            params[name] = _query_value(name, schema, known)
    template = f"{service} {method.upper()} {path}"
    public_read = template in STALE_READS
    body = _body(spec, template, operation, known)
    found = []
    names = sorted(choices)
    for values in itertools.product(*(choices[name] for name in names)):
        filled = path
        for name, value in zip(names, values, strict=True):
            filled = filled.replace("{" + name + "}", value)
        several = [f"{n}={v}" for n, v in zip(names, values, strict=True) if len(choices[n]) > 1]
        label = f"{template} ({', '.join(several)})" if several else template
        found.append(
            Endpoint(
                label,
                method.upper(),
                f"{base}{filled}",
                params=dict(params),
                token=not public_read,
                **body,
            )
        )
    return found


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return _resolve(spec, options[0]) if options else {}
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _resolve(spec, schema["allOf"][0])
    return schema


def _enumerated(schema: dict[str, Any]) -> list[str]:
    if "enum" in schema:
        return [str(v) for v in schema["enum"]]
    match = re.fullmatch(r"\^\(([\w|]+)\)\$", schema.get("pattern", ""))
    return match.group(1).split("|") if match else []


def _path_values(name: str, schema: dict[str, Any], known: Known) -> list[str]:
    by_name = {
        "case_id": known.case_id,
        "code": known.tracking_code,
        "token": known.tracking_code,  # an Open311 token is the tracking code
        "attachment_id": str(uuid4()),
        "username": known.username,
        "year": str(known.year),
        "month": str(known.month),
        "day": f"{known.year + 1}-01-02",
        "service": "workflow",
    }
    if name in by_name:
        return [by_name[name]]
    return _enumerated(schema) or ["x"]


def _query_value(name: str, schema: dict[str, Any], known: Known) -> Any:
    by_name = {
        "year": known.year,
        "month": known.month,
        "from": known.year - 1,
        "to": known.year,
        "role": "tim_pengaduan",
    }
    if name in by_name:
        return by_name[name]
    return _example(name, schema, {}, known)


BODIES: dict[str, Any] = {
    # Erases nobody (no one used this address), but looks for them in the store.
    "intake POST /intake/v1/erasures": {"email": "tak-dikenal@example.id"},
}
"""Bodies the schemas alone would not make reach the store, by '<service> <METHOD> <path>'."""


def _body(
    spec: dict[str, Any], template: str, operation: dict[str, Any], known: Known
) -> dict[str, Any]:
    if template in BODIES:
        return {"json_body": BODIES[template]}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        schema = _resolve(spec, content["application/json"].get("schema", {}))
        return {"json_body": _example("body", schema, spec, known)}
    if "multipart/form-data" in content:
        if template.endswith("/attachments"):
            return {"files": {"file": ("bukti.png", PNG, "image/png")}}
        form = {"text": "Pengaduan uji gangguan lewat formulir."}
        return {"data": {"form": json.dumps(form)}, "files": {"files": ("b.png", PNG, "image/png")}}
    return {}


def _example(name: str, schema: dict[str, Any], spec: dict[str, Any], known: Known) -> Any:
    """A value for `schema`: required fields only, strings long enough, the first enum value."""
    if spec:
        schema = _resolve(spec, schema)
    if name in ("role", "roles") and schema.get("type") != "array":
        return "tim_pengaduan"  # an office role: every account and worklist takes it
    if values := _enumerated(schema):
        return values[0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            prop: _example(prop, schema["properties"][prop], spec, known)
            for prop in schema.get("required", [])
        }
    if kind == "array":
        item = _example(name, schema.get("items", {}), spec, known)
        return [item] * max(1, schema.get("minItems", 1))
    if kind == "integer":
        return 999_999 if name == "version" else max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    return _string(name, schema, known)


def _string(name: str, schema: dict[str, Any], known: Known) -> str:
    form = schema.get("format", "")
    if form == "date" or name == "date":
        return datetime.now(UTC).date().isoformat()
    if form == "date-time":
        return (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    if form == "email":
        return "uji@example.id"
    if form == "uuid" or name.endswith("_id"):
        return str(uuid4())
    if name == "username":
        return f"uji{uuid4().hex[:8]}"
    if "password" in name:
        return f"Sandi-Uji-{uuid4().hex}"
    if name == "tracking_code":
        return known.tracking_code
    text = "Uji gangguan server: isian contoh yang cukup panjang."
    return text.ljust(schema.get("minLength", 0), "x")[: schema.get("maxLength", len(text))]


async def send(http: httpx.AsyncClient, endpoint: Endpoint, token: str) -> Answer:
    """Send one request; the time to the answer's head, and what the head says."""
    headers = {"Authorization": f"Bearer {token}"} if endpoint.token else {}
    request = http.build_request(
        endpoint.method,
        endpoint.url,
        params=endpoint.params,
        json=endpoint.json_body,
        data=endpoint.data,
        files=endpoint.files,
        headers=headers,
        timeout=GIVE_UP_AFTER,
    )
    began = time.monotonic()
    try:
        response = await http.send(request, stream=True)
    except httpx.TimeoutException as error:
        return Answer(None, time.monotonic() - began, error=type(error).__name__)
    except httpx.TransportError as error:
        return Answer(None, time.monotonic() - began, error=f"{type(error).__name__}: {error}")
    seconds = time.monotonic() - began
    try:
        if endpoint.name not in ENDLESS:
            await response.aread()
    except httpx.TransportError as error:
        return Answer(None, time.monotonic() - began, error=f"body: {type(error).__name__}")
    finally:
        await response.aclose()
    return Answer(
        response.status_code,
        seconds,
        response.headers.get("content-type", "").split(";")[0],
        response.headers.get("retry-after"),
        response.headers.get(STALE_HEADER),
    )


def error_types(endpoint: Endpoint) -> tuple[str, ...]:
    """The content types an endpoint refuses in: problem+json, or Open311's error list."""
    if "/open311/" in endpoint.url:
        return tuple(media.split(";")[0] for media in MEDIA_TYPES.values())
    return ("application/problem+json",)


def judge(endpoint: Endpoint, answer: Answer, healthy: Answer | None, store_away: bool) -> str:
    """What is wrong with `answer` during a fault ('' if nothing): it came within ANSWER_WITHIN;
    a 503 is problem+json with Retry-After; no other 5xx; a public read answers 200 (marked
    stale when the store is away); anything else answers as it did when all was well, or 503."""
    if answer.status is None or answer.seconds > ANSWER_WITHIN:
        return f"not within {ANSWER_WITHIN:g} s: {answer.describe()}"
    if answer.status == 503:
        if answer.content_type not in error_types(endpoint) or not answer.retry_after:
            return f"503 without problem+json and Retry-After: {answer.describe()}"
    elif answer.status >= 500:
        return f"{answer.describe()}"
    if endpoint.stale_read:
        if answer.status != 200:
            return f"public read not answered from the last good copy: {answer.describe()}"
        if store_away and not _read_at(answer.stale):
            return f"last good copy not marked ({STALE_HEADER}: when read): {answer.describe()}"
        return ""
    if answer.status == 503 or healthy is None or healthy.status is None:
        return ""
    same = answer.status == healthy.status or (answer.status // 100 == healthy.status // 100 == 2)
    return "" if same else f"{answer.describe()}, but {healthy.status} when all was well"


def judge_healthy(answer: Answer) -> str:
    """What is wrong with an answer while every server is up ('' if nothing)."""
    if answer.status is None or answer.seconds > ANSWER_WITHIN:
        return f"not within {ANSWER_WITHIN:g} s: {answer.describe()}"
    if answer.status >= 500:
        return answer.describe()
    return ""


def _read_at(stale: str | None) -> datetime | None:
    """When the last good copy was read, as its marker says (an ISO 8601 instant)."""
    try:
        return datetime.fromisoformat(stale) if stale else None
    except ValueError:
        return None

"""Open311 GeoReport v2 at /open311/v2/: the wire format both services answer in.

The front door sends POST /open311/v2/requests.{json,xml} to intake (a new complaint on the
`open311` channel) and every GET to reporting (services, definitions, requests, tokens from the
read model's public tracking data). This module holds what both share: the services (one per
complaint category, one for consultations), the answer in JSON or XML, and the spec's error
format, a list of {code, description}.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any
from xml.etree import ElementTree

from fastapi import Path, Request
from fastapi.responses import Response

from shared.categories import CATEGORIES
from shared.problems import FORMATS, Problem
from shared.sop import Kind

PREFIX = "/open311/v2"
CONSULTATION = "konsultasi"  # the service code of a consultation (Pojok OSS)
NO_CATEGORY = "lainnya"  # a complaint a channel received without a category
Row = Mapping[str, Any]


class Format(StrEnum):
    """The two formats the spec names, chosen by the path's extension."""

    JSON = "json"
    XML = "xml"


MEDIA_TYPES = {Format.JSON: "application/json", Format.XML: "text/xml; charset=utf-8"}
# The path's extension: documented as the two formats, checked by `fmt_of` (another is the
# spec's 404, not a validation error).
Extension = Annotated[
    str, Path(description="json atau xml", json_schema_extra={"enum": [f.value for f in Format]})
]


ERRORS: dict[str, Any] = {
    "schema": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
            "required": ["code", "description"],
        },
    }
}


class Open311Error(Exception):
    """An error answered in the spec's format: [{"code": status, "description": ...}]."""

    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status, self.description, self.headers = status, description, headers or {}

    @classmethod
    def of(cls, problem: Problem) -> Open311Error:
        """The same refusal (a rate limit, an outage, a body too large) in the spec's format."""
        return cls(problem.status, problem.detail, problem.headers)


def documented(*errors: int, ok: int = 200) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of an Open311 endpoint: its answer and the spec's error list, each
    in JSON or XML. 400 always: any request may carry a parameter refused (`_refusal`)."""
    answered: dict[str, Any] = {"content": {MEDIA_TYPES[Format.JSON]: {}, "text/xml": {}}}
    refused: dict[str, Any] = {"content": {"application/json": ERRORS, "text/xml": {}}}
    listed: dict[int | str, dict[str, Any]] = {ok: {"description": "The spec's answer"} | answered}
    for status in sorted({400, *errors}):
        listed[status] = {"description": "The spec's error list"} | refused
    return listed


def service_of(kind: str, category: str | None) -> str:
    """The service code a case is filed under."""
    if kind == Kind.CONSULTATION:
        return CONSULTATION
    return category if category in CATEGORIES else NO_CATEGORY


def kind_and_category(service_code: str) -> tuple[Kind, str | None]:
    """What a submission under a service code is; Open311Error 400 for an unknown code."""
    if service_code == CONSULTATION:
        return Kind.CONSULTATION, None
    if service_code in CATEGORIES:
        return Kind.COMPLAINT, service_code
    raise Open311Error(400, f"service_code tidak dikenal: {service_code[:64]}")


def services() -> list[dict[str, Any]]:
    """GET services: one per complaint category, and consultations."""
    rows = [
        _service(code, label, "Pengaduan", f"Pengaduan tentang {label.lower()}.")
        for code, label in CATEGORIES.items()
    ]
    consultation = "Konsultasi perizinan (Pojok OSS)"
    rows.append(_service(CONSULTATION, consultation, "Konsultasi", "Pertanyaan tentang perizinan."))
    return rows


def _service(code: str, name: str, group: str, description: str) -> dict[str, Any]:
    return {
        "service_code": code,
        "service_name": name,
        "description": description,
        "metadata": False,
        "type": "realtime",
        "keywords": group.lower(),
        "group": group,
    }


def service_names() -> dict[str, str]:
    """Each service code's name."""
    return {row["service_code"]: row["service_name"] for row in services()}


def fmt_of(value: str) -> Format:
    """The format a path's extension names; Open311Error 404 for another."""
    try:
        return Format(value)
    except ValueError:
        raise Open311Error(404, "Format tidak dikenal; gunakan .json atau .xml.") from None


def unknown_jurisdiction() -> Open311Error:
    """404: a jurisdiction_id that names no agency this deployment serves (the answer names
    none either: reads named the home agency alone, filing named none)."""
    return Open311Error(404, "jurisdiction_id tidak dikenal: bukan instansi yang dilayani.")


def answer(fmt: Format, root: str, item: str, rows: Sequence[Row], status: int = 200) -> Response:
    """A list of rows: a JSON array, or <root><item>…</item></root>."""
    if fmt is Format.JSON:
        body = json.dumps(list(rows), ensure_ascii=False, default=str).encode()
        return Response(body, status_code=status, media_type=MEDIA_TYPES[fmt])
    element = ElementTree.Element(root)
    for row in rows:
        _fill(ElementTree.SubElement(element, item), row)
    return _xml(element, status)


def single(fmt: Format, root: str, row: Row) -> Response:
    """One object (a service definition): a JSON object, or <root>…</root>."""
    if fmt is Format.JSON:
        body = json.dumps(row, ensure_ascii=False, default=str).encode()
        return Response(body, media_type=MEDIA_TYPES[fmt])
    element = ElementTree.Element(root)
    _fill(element, row)
    return _xml(element, 200)


def _fill(element: ElementTree.Element, row: Row) -> None:
    for key, value in row.items():
        if isinstance(value, list):
            container = ElementTree.SubElement(element, key)
            for entry in value:
                _fill(ElementTree.SubElement(container, key.removesuffix("s")), entry)
            continue
        child = ElementTree.SubElement(element, key)
        if isinstance(value, bool):
            child.text = "true" if value else "false"
        elif value is not None:
            child.text = value.isoformat() if hasattr(value, "isoformat") else str(value)


def _xml(element: ElementTree.Element, status: int) -> Response:
    body = ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
    return Response(body, status_code=status, media_type=MEDIA_TYPES[Format.XML])


def _refusal(problem: Problem, path: str) -> Response:
    """Any refusal on an Open311 path, in the spec's error list: what the spec calls a bad
    request (our 422) is its 400."""
    status = 400 if problem.status == 422 else problem.status
    return _error_list(path, Open311Error(status, problem.detail, problem.headers))


FORMATS[PREFIX + "/"] = _refusal


def error_response(request: Request, error: Exception) -> Response:
    """The spec's error list, in the format the path asked for (JSON when it named none)."""
    assert isinstance(error, Open311Error)
    return _error_list(request.url.path, error)


def _error_list(path: str, error: Open311Error) -> Response:
    fmt = Format.XML if path.endswith(".xml") else Format.JSON
    rows = [{"code": error.status, "description": error.description}]
    response = answer(fmt, "errors", "error", rows, status=error.status)
    response.headers.update(error.headers)
    return response

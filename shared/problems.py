"""One error shape for every API: RFC 9457 problem+json, messages in Bahasa Indonesia."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic_core import core_schema
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.refusals import Refused
from shared.text import megabytes

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

TITLES: dict[int, str] = {
    400: "Permintaan tidak sah",
    401: "Perlu autentikasi",
    403: "Tidak berwenang",
    404: "Tidak ditemukan",
    405: "Metode tidak diizinkan",
    409: "Konflik",
    413: "Isi permintaan terlalu besar",
    414: "Alamat terlalu panjang",
    415: "Jenis isi tidak didukung",
    422: "Data tidak valid",
    423: "Akun terkunci",
    429: "Terlalu banyak permintaan",
    431: "Header terlalu besar",
    500: "Kesalahan server",
    501: "Tidak didukung",
    503: "Layanan sementara tidak tersedia",
}

# Indonesian messages for pydantic's error types; {ctx keys} are filled from the error.
MESSAGES: dict[str, str] = {
    "missing": "Wajib diisi.",
    "string_type": "Harus berupa teks.",
    "string_too_short": "Terlalu pendek (minimal {min_length} karakter).",
    "string_too_long": "Terlalu panjang (maksimal {max_length} karakter).",
    "string_pattern_mismatch": "Formatnya tidak sesuai.",
    "string_unicode": "Teks memuat karakter yang tidak sah.",
    "bool_type": "Harus bernilai true atau false.",
    "bool_parsing": "Harus bernilai true atau false.",
    "int_type": "Harus berupa bilangan bulat.",
    "int_parsing": "Harus berupa bilangan bulat.",
    "float_parsing": "Harus berupa angka.",
    "dict_type": "Harus berupa objek JSON.",
    "model_attributes_type": "Harus berupa objek JSON.",
    "model_type": "Harus berupa objek JSON.",
    "list_type": "Harus berupa daftar.",
    "extra_forbidden": "Kolom ini tidak dikenal.",
    "json_invalid": "Isi permintaan bukan JSON yang sah.",
    "enum": "Nilai tidak dikenal. Pilihan: {expected}.",
    "is_instance_of": "Nilai tidak dikenal.",
    "date_parsing": "Tanggal tidak sah (TTTT-BB-HH).",
    "date_from_datetime_parsing": "Tanggal tidak sah (TTTT-BB-HH).",
    "date_type": "Tanggal tidak sah (TTTT-BB-HH).",
    "too_short": "Terlalu sedikit (minimal {min_length}).",
    "too_long": "Terlalu banyak (maksimal {max_length}).",
    "literal_error": "Nilai tidak dikenal. Pilihan: {expected}.",
    "datetime_parsing": "Tanggal dan waktu tidak sah.",
    "datetime_from_date_parsing": "Tanggal dan waktu tidak sah.",
    "datetime_object_invalid": "Tanggal dan waktu tidak sah.",
    "datetime_type": "Tanggal dan waktu tidak sah.",
    "float_type": "Harus berupa angka.",
    "int_from_float": "Harus berupa bilangan bulat.",
    "url_parsing": "Alamat tautan tidak sah.",
    "url_type": "Alamat tautan tidak sah.",
    "value_error": "{error}",  # our own validators' words
    "assertion_error": "{error}",
    "timezone_aware": "Tanggal dan waktu harus menyertakan zona waktu.",
    "uuid_parsing": "Pengenal tidak sah.",
    "greater_than_equal": "Harus paling kecil {ge}.",
    "less_than_equal": "Harus paling besar {le}.",
}


PROBLEM_SCHEMA: dict[str, Any] = {
    "content": {
        "application/problem+json": {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "field": {"type": "string"},
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        },
                    },
                },
                "required": ["type", "title", "status", "detail"],
            }
        }
    }
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI response entries for problem+json answers."""
    return {status: {"description": "Problem", **PROBLEM_SCHEMA} for status in statuses}


# FastAPI's own English details, as the office's users should read them.
FRAMEWORK_DETAILS: dict[str, str] = {
    "There was an error parsing the body": (
        "Isi permintaan bukan JSON yang dapat dibaca: teks UTF-8, dengan angka dan susunan "
        "bertingkat dalam batas wajar."
    ),
    "Not Found": "Alamat tidak ditemukan.",
    "Method Not Allowed": "Metode ini tidak diizinkan di alamat ini.",
}
# Starlette's refusals of a form body (starlette/formparsers.py), with their numbers.
FORM_DETAILS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Too many fields\. Maximum number of fields is (\d+)\."),
     "Formulir memuat terlalu banyak kolom (paling banyak {0})."),
    (re.compile(r"Too many files\. Maximum number of files is (\d+)\."),
     "Formulir memuat terlalu banyak berkas (paling banyak {0})."),
    (re.compile(r"(?:Field|Part) exceeded maximum size of (\d+)KB\."),
     "Satu bagian formulir melebihi {0} KB."),
    (re.compile(r"Missing boundary in multipart\."),
     "Formulir multipart tanpa batas (boundary) pada Content-Type."),
    (re.compile(r'The Content-Disposition header field "name" must be provided\.'),
     "Satu bagian formulir tidak bernama (Content-Disposition tanpa name)."),
    (re.compile(r"Invalid multipart data\."),
     "Formulir multipart tidak dapat dibaca (mis. nama berkas terlalu panjang)."),
)  # fmt: skip


def framework_detail(detail: str) -> str:
    """A framework's English refusal in Indonesian (our own details pass as they are)."""
    if detail in FRAMEWORK_DETAILS:
        return FRAMEWORK_DETAILS[detail]
    for pattern, said in FORM_DETAILS:
        if found := pattern.fullmatch(detail):
            return said.format(*found.groups())
    return detail


class Problem(Exception):
    """An error the API answers with: status, a short title, a specific detail."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str = "",
        errors: Sequence[dict[str, str]] = (),
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code
        self.errors, self.headers, self.extra = list(errors), headers or {}, extra or {}


STATUS_CODES = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    413: "too-large",
    416: "range-not-satisfiable",
}
"""The type of a problem raised without a code of its own (the framework's, a door's): every
answer names one, so a client tells them apart by type alone (`about:blank` was some 400s and
413s and not others)."""

FORMATS: dict[str, Callable[[Problem, str], Response]] = {}
"""Paths whose refusals follow another format than problem+json, by prefix: shared/open311.py
adds the Open311 spec's error list. Every refusal there takes it, whatever raised it (a
validation, a control character, a limit, an unexpected error)."""


def problem_response(problem: Problem, instance: str = "") -> Response:
    """The problem+json response for a Problem (or the format its path's API speaks)."""
    for prefix, render in FORMATS.items():
        if instance.startswith(prefix):
            return render(problem, instance)
    body: dict[str, Any] = {
        "type": f"/problems/{problem.code or STATUS_CODES.get(problem.status, 'error')}",
        "title": TITLES.get(problem.status, "Kesalahan"),
        "status": problem.status,
        "detail": problem.detail,
    }
    if instance:
        body["instance"] = instance
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.extra)
    return JSONResponse(body, problem.status, headers=problem.headers, media_type=MEDIA_TYPE)


UNKNOWN_ERROR = "Nilai tidak sah."
"""For a pydantic error type without words of its own in MESSAGES (never its English)."""
PYDANTIC_ERRORS = frozenset(typing.get_args(core_schema.ErrorType))
"""pydantic's own error types (in English); any other is one of ours, in its own words."""
SCHEMA_TAG = re.compile(r"[a-z-]+\[.*\]|constrained-[a-z]+|[a-z]+-(?:or|and)-[a-z-]+")
"""How pydantic names a member of a union or a validator in an error's location (`instansi.
literal['*']`): no field of ours."""


def field_error(error: dict[str, Any]) -> dict[str, str]:
    """One pydantic error as {field, code, message}, the field without the 'body' prefix."""
    loc = [
        str(part)
        for part in error.get("loc", ())
        if part not in ("body", "query", "path")
        and not (isinstance(part, str) and SCHEMA_TAG.fullmatch(part))
    ]
    if error["type"] == "json_invalid":  # its location is a character offset, not a field
        loc = []
    template = MESSAGES.get(error["type"])
    ctx = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
    if "expected" in ctx:  # pydantic lists the choices in English: "'a', 'b' or 'c'"
        ctx["expected"] = re.sub(r"' or '", "' atau '", ctx["expected"])
    try:
        if template:
            message = template.format(**ctx)
        elif error["type"] in PYDANTIC_ERRORS:
            message = UNKNOWN_ERROR
        else:
            message = str(error.get("msg", ""))
    except KeyError:
        message = UNKNOWN_ERROR
    if error["type"] == "value_error" and "email" in str(error.get("msg", "")).lower():
        message = "Alamat email tidak sah."
    return {"field": ".".join(loc) or "body", "code": error["type"], "message": message}


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [field_error(error) for error in exc.errors()]
    fields = ", ".join(sorted({e["field"] for e in errors}))
    detail = f"Periksa kembali: {fields}."
    problem = Problem(422, detail, code="validation", errors=errors)
    return problem_response(problem, request.url.path)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
    detail = framework_detail(detail)
    problem = Problem(exc.status_code, detail, headers=dict(exc.headers or {}))
    return problem_response(problem, request.url.path)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request.url.path)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # uvicorn closes the connection after an error the app raised (Starlette raises it again
    # once this answer is sent): a client told so opens another, instead of sending its next
    # request on this one (the gateway answered that unrelated request 502).
    detail = "Terjadi kesalahan tak terduga; silakan coba lagi."
    problem = Problem(500, detail, code="internal", headers={"Connection": "close"})
    return problem_response(problem, request.url.path)


def refusal_handler(
    statuses: Mapping[type[Refused], int],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """An exception handler answering each domain refusal with the status of its class."""

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        status = next(statuses[cls] for cls in type(exc).__mro__ if cls in statuses)
        problem = Problem(status, exc.detail, code=exc.code, extra=exc.extra)
        return problem_response(problem, request.url.path)

    return refused


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error an API can raise to problem+json."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(Exception, _unexpected)


class BodyLimit:
    """ASGI middleware: refuse request bodies over the limit with 413, streaming or not.

    (Starlette's own limiter answers the early refusal in text/plain, not problem+json.)
    Requests that carry files get `upload_limit` instead: uploads (paths ending in
    /attachments), the public web forms (multipart, under /forms/), the complainant's reply
    with photos (/own/{code}/replies) and complaints SP4N-LAPOR! disposes with inline files
    (/lapor/complaints). A platform's webhook notification gets `webhook_limit`: Meta batches
    up to 1,000 updates in one, and one refused is refused again on every redelivery, with
    the messages in it.
    """

    UPLOADS = re.compile(r"/attachments$|/forms/|/own/[^/]+/replies$|/lapor/complaints$")
    WEBHOOKS = re.compile(r"/webhooks/")

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        upload_limit: int | None = None,
        webhook_limit: int = 0,
        most: int = 0,
    ) -> None:
        self.app, self.default, self.upload_limit = app, limit, upload_limit or limit
        self.webhook_limit = webhook_limit or limit
        self.most = most or max(self.upload_limit, self.webhook_limit)  # drained at most

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.default
        if self.UPLOADS.search(path) is not None:
            limit = self.upload_limit
        elif self.WEBHOOKS.search(path) is not None:
            limit = self.webhook_limit
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            # Read (and drop) a body a proxy is still sending, so it gets the answer rather
            # than a reset connection (nginx would answer 502); never more than an upload,
            # never longer than DRAIN_SECONDS. A client that waits for "100 Continue" before
            # sending (the server says it at the first read) is answered at once instead.
            if headers.get(b"expect", b"").lower() != b"100-continue":
                await drain(receive, self.most)
            await problem_response(too_large(limit), scope.get("path", ""))(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            # Raised inside the route's body read, where FastAPI lets HTTPException through.
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, counted, send)


HOST = re.compile(rb"(?:[A-Za-z0-9\-._~!$&'()*+,;=%]*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
"""A Host header's value: a URI's host (a name, an IPv4 or a bracketed IPv6 address) and
port, or nothing (RFC 9110 §7.2)."""


class RequestHead:
    """ASGI middleware: a request head HTTP says a server must refuse, refused as a problem
    before anything reads it.

    - An HTTP/1.1 request without Host, one with two, or with a Host no URI could have: 400
      (RFC 9112 §3.2); the gateway and the services answered them as if they were clean.
    - A body in a content coding (gzip, say): 415 saying `Accept-Encoding: identity` (RFC 9110
      §15.5.16). Nothing is decompressed: a few kilobytes of gzip unpack into gigabytes; the
      body was then read as if it were plain and refused as unreadable (400).
    - A transfer coding other than chunked (`gzip, chunked`): 501 (RFC 9112 §6.1), as nginx
      answers it; the gateway stored such a body as if it were plain.
    - A target that is no path (`OPTIONS *`, `GET *`): 400; it was a plain-text 404.

    A body sent anyway is drained first, as a body too large is (BodyLimit).
    """

    def __init__(self, app: ASGIApp, most: int) -> None:
        self.app, self.most = app, most

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = _head_problem(scope) if scope["type"] == "http" else None
        if problem is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if headers.get(b"expect", b"").lower() != b"100-continue":
            await drain(receive, self.most)
        await problem_response(problem, scope.get("path", ""))(scope, receive, send)


def _head_problem(scope: Scope) -> Problem | None:
    """What is wrong with the request's head, if anything RequestHead refuses."""
    hosts = [value for name, value in scope["headers"] if name == b"host"]
    if len(hosts) > 1 or (not hosts and scope.get("http_version") == "1.1"):
        detail = "Permintaan HTTP/1.1 harus memuat tepat satu header Host."
        return Problem(400, detail, code="bad-request")
    if hosts and not HOST.fullmatch(hosts[0]):
        return Problem(400, "Header Host tidak sah.", code="bad-request")
    if not scope.get("path", "").startswith("/"):
        return Problem(400, "Alamat permintaan harus berupa path (diawali /).", code="bad-request")
    transfer = b",".join(value for name, value in scope["headers"] if name == b"transfer-encoding")
    if transfer and [c.strip().lower() for c in transfer.split(b",")] != [b"chunked"]:
        detail = (
            "Transfer-Encoding permintaan tidak didukung; kirim isi apa adanya (Content-Length) "
            "atau chunked."
        )
        return Problem(501, detail, code="unsupported-transfer-encoding")
    codings = [value for name, value in scope["headers"] if name == b"content-encoding"]
    if any(value.strip().lower() not in (b"", b"identity") for value in codings):
        detail = "Isi permintaan tidak boleh dikodekan (Content-Encoding); kirim apa adanya."
        headers = {"Accept-Encoding": "identity"}
        return Problem(415, detail, code="unsupported-encoding", headers=headers)
    return None


async def drain(receive: Receive, most: int) -> None:
    """Receive and discard a request's body, up to `most` bytes and `DRAIN_SECONDS`."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_drain(receive, most), DRAIN_SECONDS)


async def _drain(receive: Receive, most: int) -> None:
    received = 0
    while received <= most:
        message = await receive()
        received += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


DRAIN_SECONDS = 5.0
"""How long a body too large is read and dropped before the 413 is sent anyway."""


def too_large(limit: int) -> Problem:
    """413: a body over `limit` bytes."""
    return Problem(413, _too_large(limit), code="too-large")


def _too_large(limit: int) -> str:
    return f"Isi permintaan melebihi batas {megabytes(limit)}."

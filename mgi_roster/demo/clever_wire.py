"""Clever's wire format: ``handle()`` answers one request as api.clever.com and clever.com do.

It holds the whole Clever behaviour: list and single-record envelopes, paging links
(``starting_after`` / ``ending_before``), bearer auth on /v3.0, HTTP Basic on the tokens
endpoint (``/oauth/tokens``, ``/oauth/tokeninfo``), the X-RateLimit-* headers
(``RateLimiter``) and Clever's 400/401/404/413/429 answers. Both transports (``transport``,
``server``) run it, so they answer alike.

The demo's credentials are published, not secrets: the app's ``DEMO_CLIENT_ID`` and
``DEMO_CLIENT_SECRET`` (for the tokens endpoint) and the bearer it hands out,
``DEMO_DISTRICT_TOKEN``.

Wire facts follow the recorded Clever responses in ``shared/reference/clever-recorded/``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import html
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from mgi_roster.demo import events
from mgi_roster.demo.district import DemoDistrict, _dumps
from mgi_roster.demo.ids import (
    _COURSE,
    _ENTITY_OF_CODE,
    _HEX24,
    _SCHOOL,
    _SECTION,
    _STUDENT,
    _TEACHER,
    _TERM,
    _TOKEN,
    DEMO_DISTRICT_ID,
    _decode,
    _id,
    _iterate,
    _iterate_back,
    _take,
)

DEMO_DISTRICT_TOKEN = "demo-district-token"  # not a secret: the demo's published bearer token
DEMO_CLIENT_ID = "demo-client-id"
DEMO_CLIENT_SECRET = "demo-client-secret"

DEFAULT_LIMIT = 100  # Clever's default page size (clever-python#55; recorded /users pages)
MAX_LIMIT = 10_000  # larger limits get 413 (dev.clever.com/docs/error-messages)
RATE_LIMIT = 1200  # requests per token per fixed one-minute window


@dataclass(frozen=True)
class DemoResponse:
    """One answer of ``handle()``, which either transport sends back."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RateLimiter:
    """Clever's limit: ``limit`` requests per token per fixed one-minute window.

    ``limit=None`` never refuses; the headers then report the nominal 1200 with nothing used,
    so a client that paces itself on ``X-RateLimit-Remaining`` never waits.
    """

    def __init__(
        self, limit: int | None = RATE_LIMIT, clock: Callable[[], float] = time.time
    ) -> None:
        self.limit = limit
        self.clock = clock
        self._lock = threading.Lock()
        self._window: int | None = None
        self._used: dict[str, int] = {}

    def hit(self, key: str) -> tuple[bool, dict[str, str]]:
        """Count one request; (allowed, the four X-RateLimit-* headers)."""
        window = int(self.clock() // 60)
        if self.limit is None:
            return True, _rate_headers(RATE_LIMIT, RATE_LIMIT, window)
        with self._lock:
            if window != self._window:
                self._window, self._used = window, {}
            used = self._used.get(key, 0) + 1
            self._used[key] = used
        return used <= self.limit, _rate_headers(self.limit, max(0, self.limit - used), window)


def _rate_headers(limit: int, remaining: int, window: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str((window + 1) * 60),  # unix seconds: end of this window
        "X-RateLimit-Bucket": "bearer",
    }


_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}
_LIST_PATH = re.compile(r"/v3\.0/(districts|schools|users|sections|terms|courses)/?")
_ONE_PATH = re.compile(r"/v3\.0/(districts|schools|users|sections|terms|courses)/([^/]+)/?")
_EVENTS_PATH = re.compile(r"/v3\.0/events(?:/([^/]+))?/?")
_CODES_FOR = {
    "schools": {_SCHOOL},
    "users": {_TEACHER, _STUDENT},
    "sections": {_SECTION},
    "terms": {_TERM},
    "courses": {_COURSE},
}
_ROLES = ("student", "teacher", "staff", "district_admin", "contact")
_SINGLE_LINKS = {
    "districts": (),
    "schools": ("district", "sections", "users", "terms", "courses"),
    "sections": ("district", "school", "term", "course", "users"),
    "terms": ("district", "sections", "schools"),
    "courses": ("district", "sections", "schools"),
    "students": ("district", "sections", "myContacts", "myTeachers", "schools"),
    "teachers": ("district", "sections", "myStudents", "schools"),
}
_SCOPES = [
    "read:district_admins_basic",
    "read:districts",
    "read:ell_status",
    "read:school_admins_basic",
    "read:schools",
    "read:sections",
    "read:students",
    "read:teachers",
    "read:user_id",
]


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> DemoResponse:
    return DemoResponse(status, {**_JSON_HEADERS, **(headers or {})}, _dumps(body).encode())


def _html_404(method: str, path: str, headers: Mapping[str, str]) -> DemoResponse:
    """Clever's Express-style page for a path it does not route (recorded /v3.0/resources)."""
    body = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
        f"</head>\n<body>\n<pre>Cannot {html.escape(method)} {html.escape(path)}</pre>\n</body>\n</html>\n"
    )
    return DemoResponse(404, {"Content-Type": "text/html; charset=utf-8", **headers}, body.encode())


def handle(
    district: DemoDistrict,
    method: str,
    path: str,
    query: Mapping[str, Sequence[str]],
    headers: Mapping[str, str],
    *,
    limiter: RateLimiter | None = None,
) -> DemoResponse:
    """Answer one request exactly as Clever would: the Data API under /v3.0 and /oauth/*."""
    lower = {k.lower(): v for k, v in headers.items()}
    method = method.upper()
    if path.startswith("/oauth/"):
        return _oauth(district, method, path, query, lower)
    token = _bearer(lower.get("authorization", ""))
    allowed, rate = (limiter or RateLimiter(None)).hit(token or "")
    if not allowed:
        return DemoResponse(429, dict(rate), b"")  # Clever sends 429 with an empty body
    if not path.startswith("/v3.0/") or method != "GET":
        return _html_404(method, path, rate)
    if token != DEMO_DISTRICT_TOKEN:
        return _json(401, {"error": "Unauthorized"}, rate)
    try:
        body = _route(district, path, query)
    except _HttpError as err:
        return err.response(rate)
    if body is None:
        return _html_404(method, path, rate)
    return DemoResponse(200, {**_JSON_HEADERS, **rate}, body.encode())


class _HttpError(Exception):
    def __init__(self, status: int, message: str | None) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def response(self, rate: Mapping[str, str]) -> DemoResponse:
        if self.message is None:
            return DemoResponse(
                self.status, {"Content-Type": "text/plain; charset=utf-8", **rate}, b""
            )
        return _json(self.status, {"message": self.message}, rate)


def _bearer(authorization: str) -> str | None:
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _one(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _route(district: DemoDistrict, path: str, query: Mapping[str, Sequence[str]]) -> str | None:
    """The JSON text of a routed /v3.0 GET, None for an unrouted path (HTML 404)."""
    listing = _LIST_PATH.fullmatch(path)
    if listing:
        entity = listing.group(1)
        if entity == "districts":
            return _districts_list(district, path, query)
        return _list(district, entity, path, query)
    single = _ONE_PATH.fullmatch(path)
    if single:
        return _single(district, single.group(1), single.group(2).lower())
    feed = _EVENTS_PATH.fullmatch(path)
    if feed:
        return _events(district, path, query, feed.group(1))
    return None


def _events(
    district: DemoDistrict, path: str, query: Mapping[str, Sequence[str]], event_id: str | None
) -> str:
    """/v3.0/events (paged by starting_after / ending_before, which may be "last") and
    /v3.0/events/{id}: the feed demo/events.py derives from the SIS days."""
    if event_id is not None:
        found = events.find(district, event_id.lower())
        if found is None:
            raise _HttpError(404, "Resource not found")
        links = [{"rel": "self", "uri": path}]
        return f'{{"data":{found.json()},"links":{_dumps(links)}}}'
    limit = _limit(query)
    after = _cursor(query, "starting_after")
    before = "last" if _one(query, "ending_before") == "last" else _cursor(query, "ending_before")
    page = events.page(district, after, before, limit)
    items = ",".join(f'{{"data":{e.json()},"uri":"/v3.0/events/{e.id}"}}' for e in page)
    links = [{"rel": "self", "uri": _self_uri(path, query)}]
    backwards = before is not None and after is None
    if page and after is not None:
        links.append({"rel": "prev", "uri": _self_uri(path, query, ending_before=page[0].id)})
    if page and (len(page) == limit or backwards):
        links.append({"rel": "next", "uri": _self_uri(path, query, starting_after=page[-1].id)})
    return f'{{"data":[{items}],"links":{_dumps(links)}}}'


def _self_uri(path: str, query: Mapping[str, Sequence[str]], **cursor: str) -> str:
    """A relative link keeping every other query parameter, cursor last (as Clever writes them)."""
    pairs = [
        (k, v)
        for k, values in query.items()
        if k not in ("starting_after", "ending_before") or not cursor
        for v in values
    ]
    pairs += list(cursor.items())
    return f"{path}?{urlencode(pairs)}" if pairs else path


def _districts_list(district: DemoDistrict, path: str, query: Mapping[str, Sequence[str]]) -> str:
    """/v3.0/districts: "in practice … only the one district associated with the bearer token"."""
    return _dumps(
        {
            "data": [
                {"data": district.district_record(), "uri": f"/v3.0/districts/{DEMO_DISTRICT_ID}"}
            ],
            "links": [{"rel": "self", "uri": _self_uri(path, query)}],
        }
    )


def _list(
    district: DemoDistrict, entity: str, path: str, query: Mapping[str, Sequence[str]]
) -> str:
    limit = _limit(query)
    after, before = _cursor(query, "starting_after"), _cursor(query, "ending_before")
    key = entity
    if entity == "users":
        role = _one(query, "role")
        if role not in (None, "", *_ROLES):
            raise _HttpError(400, f"role must be one of {', '.join(_ROLES)}")
        key = {"student": "students", "teacher": "teachers", "staff": "staff"}.get(
            role or "", "users"
        )
        if role in ("district_admin", "contact"):
            key = "none"  # the demo has no district admins or contacts
    segments = district.segments(key)
    if before is not None and after is None:
        page = _take(_iterate_back(segments, None, before), limit)[::-1]
    else:
        page = _take(_iterate(segments, after, before), limit)
    items = ",".join(
        f'{{"data":{district.fragment(code, index)},"uri":"/v3.0/{entity}/{_id(code, index)}"}}'
        for code, index in page
    )
    return f'{{"data":[{items}],"links":{_dumps(_links(path, query, page, limit, after, before))}}}'


def _links(
    path: str,
    query: Mapping[str, Sequence[str]],
    page: list[tuple[str, int]],
    limit: int,
    after: str | None,
    before: str | None,
) -> list[dict[str, str]]:
    """self, prev, next, the way Clever sets them (dev.clever.com/docs/paging-and-limits):
    a full page always has ``next`` (even when nothing follows), a ``starting_after`` page
    has ``prev``, an ``ending_before`` page has ``next``."""
    links = [{"rel": "self", "uri": _self_uri(path, query)}]
    if not page:
        return links
    first, last = _id(*page[0]), _id(*page[-1])
    backwards = before is not None and after is None
    if (after is not None) or (backwards and len(page) == limit):
        links.append({"rel": "prev", "uri": _self_uri(path, query, ending_before=first)})
    if len(page) == limit or backwards:
        links.append({"rel": "next", "uri": _self_uri(path, query, starting_after=last)})
    return links


def _limit(query: Mapping[str, Sequence[str]]) -> int:
    raw = _one(query, "limit")
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise _HttpError(400, "limit must be an integer") from None
    if limit < 1:
        raise _HttpError(400, "limit must be positive")
    if limit > MAX_LIMIT:
        raise _HttpError(413, None)  # "Request entity too large", empty body
    return limit


def _cursor(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    raw = _one(query, name)
    if raw in (None, ""):
        return None
    value = raw.lower()
    if not _HEX24.fullmatch(value):
        raise _HttpError(400, f"{name} must be a 24-character hexadecimal id")
    return value


def _single(district: DemoDistrict, entity: str, record_id: str) -> str:
    """Single-record envelope: the record directly under ``data``, no ``uri``, relation links."""
    fragment, kind = None, entity
    if entity == "districts":
        fragment = _dumps(district.district_record()) if record_id == DEMO_DISTRICT_ID else None
    else:
        decoded = _decode(record_id)
        if decoded is not None and decoded[0] in _CODES_FOR[entity] and district.exists(*decoded):
            fragment, kind = district.fragment(*decoded), _ENTITY_OF_CODE[decoded[0]]
    if fragment is None:
        raise _HttpError(404, "Resource not found")
    base = f"/v3.0/{entity}/{record_id}"
    links = [{"rel": "self", "uri": base}]
    links += [{"rel": rel, "uri": f"{base}/{rel}"} for rel in _SINGLE_LINKS[kind]]
    return f'{{"data":{fragment},"links":{_dumps(links)}}}'


def _oauth(
    district: DemoDistrict,
    method: str,
    path: str,
    query: Mapping[str, Sequence[str]],
    headers: Mapping[str, str],
) -> DemoResponse:
    """``GET /oauth/tokens`` (HTTP Basic with the app's credentials) and ``/oauth/tokeninfo``.

    The recorded clever.com responses carry no X-RateLimit-* headers, so neither do these.
    """
    if method != "GET" or path.rstrip("/") not in ("/oauth/tokens", "/oauth/tokeninfo"):
        return _html_404(method, path, {})
    if path.rstrip("/") == "/oauth/tokeninfo":
        if _bearer(headers.get("authorization", "")) != DEMO_DISTRICT_TOKEN:
            return _json(
                401, {"error": "invalid_token", "error_description": "The access token is invalid."}
            )
        return _json(200, {"client_id": DEMO_CLIENT_ID, "scopes": _SCOPES})
    if not _basic_ok(headers.get("authorization", "")):
        return _json(
            401,
            {
                "error": "invalid_client",
                "error_description": "Client authentication failed: check the client id and secret.",
            },
        )
    if _one(query, "owner_type") != "district":
        return _json(
            400, {"error": "invalid_request", "error_description": "owner_type must be district."}
        )
    wanted = _one(query, "district")
    self_uri = "/oauth/tokens?owner_type=district" + (
        f"&{urlencode({'district': wanted})}" if wanted else ""
    )
    data = []
    if wanted in (None, "", DEMO_DISTRICT_ID):
        data.append(
            {
                "id": _id(_TOKEN, 1),
                "created": "2025-07-21T17:04:09.512Z",
                "owner": {"type": "district", "id": DEMO_DISTRICT_ID},
                "access_token": DEMO_DISTRICT_TOKEN,
                "scopes": _SCOPES,
            }
        )
    return _json(200, {"data": data, "links": [{"rel": "self", "uri": self_uri}]})


def _basic_ok(authorization: str) -> bool:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}"
    return hmac.compare_digest(decoded.encode(), expected.encode())

"""The demo district's OneRoster REST API: ``OneRosterApi.answer()`` answers one request as a
OneRoster provider does (oneroster.md §8).

- 1.2 under ``/ims/oneroster/rostering/v1p2``: OAuth 2.0 client credentials. ``POST
  /oauth2/token`` with HTTP Basic client authentication and a form ``grant_type`` and ``scope``
  issues a bearer token; the data endpoints want it (401 without it, 403 without the scope the
  endpoint needs: roster-core or roster for the rostering collections, roster-demographics for
  demographics).
- 1.1 under ``/ims/oneroster/v1p1``: requests signed with OAuth 1.0a (HMAC-SHA1 or
  HMAC-SHA256, verified by oauthlib's ``SignatureOnlyEndpoint``, replayed nonces refused), or a
  bearer token as above (some 1.1 providers use OAuth 2.0).
- Collections (``/orgs``, ``/schools``, ``/academicSessions``, ``/terms``, ``/gradingPeriods``,
  ``/courses``, ``/classes``, ``/users``, ``/students``, ``/teachers``, ``/enrollments``,
  ``/demographics``) in their envelopes (``/schools`` → ``orgs``, ``/students`` → ``users``),
  paged by ``limit`` (default 100, at most 10,000) and ``offset`` with ``X-Total-Count`` and an
  RFC 8288 ``Link`` header (first, prev, next, last); ``filter`` (one or two predicates joined by
  AND or OR, dotted paths into nested values), ``sort``/``orderBy`` and ``fields``; single
  records (``/users/{id}`` → ``{"user": …}``). Errors are ``imsx_StatusInfo`` payloads.
  ``/terms`` serves every session (the demo's are a school year and its semesters, which a
  Clever district calls terms). A plain page renders only its own records, so a
  1,000,000-student demo pages as fast as a small one; a filter or a sort renders the whole
  collection once (and the first ``/enrollments`` page counts every section's members once).

The demo's credentials are published, not secrets (``DEMO_ONEROSTER_CLIENT_ID`` and
``DEMO_ONEROSTER_CLIENT_SECRET``; ``DEMO_ONEROSTER_TOKEN`` carries every scope). Both transports
(``oneroster_transport``) run one ``OneRosterApi``, so they answer alike.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import string
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint

from mgi_roster.demo.clever_wire import DemoResponse, _json
from mgi_roster.demo.district import DemoDistrict
from mgi_roster.demo.oneroster_wire import BASE_V1P1, BASE_V1P2, OneRosterDemo, v1p1

DEMO_ONEROSTER_CLIENT_ID = "demo-oneroster-client-id"  # published demo values, not secrets
DEMO_ONEROSTER_CLIENT_SECRET = "demo-oneroster-client-secret"
DEMO_ONEROSTER_TOKEN = "demo-oneroster-token"  # the bearer a token request for every scope gets
TOKEN_PATH = "/oauth2/token"
DEFAULT_LIMIT = 100  # oneroster.md §8.3
MAX_LIMIT = 10_000
TOKEN_LIFETIME = 3600

_SCOPE_PREFIXES = (
    "https://purl.imsglobal.org/spec/or/v1p2/scope/",
    "https://purl.imsglobal.org/spec/or/v1p1/scope/",
)
CORE, ROSTER, DEMOGRAPHICS = (
    "roster-core.readonly",
    "roster.readonly",
    "roster-demographics.readonly",
)
SCOPES = (CORE, ROSTER, DEMOGRAPHICS)  # short names; a request names them by full URL

# path segment -> (collection, envelope of the collection, which of its records it serves)
_Keep = Callable[[Mapping[str, Any]], bool] | None


def _has_role(role: str) -> Callable[[Mapping[str, Any]], bool]:
    def keep(user: Mapping[str, Any]) -> bool:
        if "role" in user:  # 1.1
            return bool(user["role"] == role)
        return any(r["role"] == role for r in user["roles"])

    return keep


_ROUTES: dict[str, tuple[str, _Keep]] = {
    "orgs": ("orgs", None),
    "schools": ("orgs", lambda r: r["type"] == "school"),
    "academicSessions": ("academicSessions", None),
    "terms": ("academicSessions", lambda r: r["type"] != "gradingPeriod"),
    "gradingPeriods": ("academicSessions", lambda r: r["type"] == "gradingPeriod"),
    "courses": ("courses", None),
    "classes": ("classes", None),
    "users": ("users", None),
    "students": ("users", _has_role("student")),
    "teachers": ("users", _has_role("teacher")),
    "enrollments": ("enrollments", None),
    "demographics": ("demographics", None),
}
# endpoints that are one of the Clever demo's id ranges (OneRosterDemo.window's views)
_VIEWS = {"students": "students", "teachers": "teachers"}
_SINGULAR = {
    "orgs": "org",
    "academicSessions": "academicSession",
    "courses": "course",
    "classes": "class",
    "users": "user",
    "enrollments": "enrollment",
    "demographics": "demographics",
}
_JSON = {"Content-Type": "application/json; charset=utf-8"}


class _HttpError(Exception):
    def __init__(self, status: int, minor: str, description: str) -> None:
        super().__init__(description)
        self.status, self.minor, self.description = status, minor, description

    def response(self, headers: Mapping[str, str] | None = None) -> DemoResponse:
        return status_info(self.status, self.minor, self.description, headers)


def status_info(
    status: int, minor: str, description: str, headers: Mapping[str, str] | None = None
) -> DemoResponse:
    """An ``imsx_StatusInfo`` failure payload (oneroster.md §8.5)."""
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "TargetEndSystemReferenceID",
                    "imsx_codeMinorFieldValue": minor,
                }
            ]
        },
    }
    return _json(status, body, {**_JSON, **(headers or {})})


class OneRosterApi:
    """The demo district's OneRoster provider; ``answer()`` takes one request, with the URL the
    client used (OAuth 1.0a signs it; ``Link`` headers are built on it)."""

    def __init__(self, district: DemoDistrict, clock: Callable[[], float] = time.time) -> None:
        self.district = district
        self.demo = OneRosterDemo(district)
        self.clock = clock
        self._lock = threading.Lock()
        self._nonces: dict[tuple[str, str], float] = {}
        self._oauth1 = SignatureOnlyEndpoint(_Validator(self))
        self._cache: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def answer(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str | bytes],
        body: bytes | str | None = None,
    ) -> DemoResponse:
        # requests-oauthlib sets its Authorization header as bytes
        text_headers = {
            k: v.decode("latin-1") if isinstance(v, bytes) else v for k, v in headers.items()
        }
        parts = urlsplit(url)
        path = parts.path.rstrip("/") or "/"
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        try:
            if path == TOKEN_PATH:
                return self._token(method.upper(), text_headers, text)
            for base, version in ((BASE_V1P2, "1.2"), (BASE_V1P1, "1.1")):
                if path.startswith(base + "/"):
                    if method.upper() not in ("GET", "HEAD"):
                        raise _HttpError(
                            405, "unsupported", "The OneRoster rostering API only reads (GET)."
                        )
                    segments = path[len(base) + 1 :].split("/")
                    scopes = self._authorize(version, method, url, text_headers, text)
                    return self._read(version, segments, parse_qs(parts.query), scopes, url)
            raise _HttpError(404, "unknownobject", f"There is no OneRoster endpoint at {path}.")
        except _HttpError as err:
            extra = (
                {"WWW-Authenticate": 'Bearer realm="OneRoster demo"'} if err.status == 401 else {}
            )
            return err.response(extra)

    # -- authentication -------------------------------------------------------------------------

    def _token(self, method: str, headers: Mapping[str, str], body: str) -> DemoResponse:
        """OAuth 2.0 client credentials (RFC 6749 §4.4), client authenticated by HTTP Basic."""
        if method != "POST":
            return _json(405, {"error": "invalid_request", "error_description": "Use POST."}, _JSON)
        if not _basic_ok(_header(headers, "authorization")):
            return _json(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed: check the client id and secret.",
                },
                {**_JSON, "WWW-Authenticate": 'Basic realm="OneRoster demo"'},
            )
        form = parse_qs(body)
        if form.get("grant_type", [""])[-1] != "client_credentials":
            return _json(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type must be client_credentials.",
                },
                _JSON,
            )
        asked = form.get("scope", [""])[-1].split()
        granted: list[str] = []
        for scope in asked:
            short = _short_scope(scope)
            if short is None:
                return _json(
                    400,
                    {"error": "invalid_scope", "error_description": f"Unknown scope {scope}."},
                    _JSON,
                )
            granted.append(short)
        scopes = tuple(s for s in SCOPES if s in granted) if asked else SCOPES
        return _json(
            200,
            {
                "access_token": token_for(scopes),
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "scope": " ".join(_SCOPE_PREFIXES[0] + s for s in scopes),
            },
            {**_JSON, "Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _authorize(
        self, version: str, method: str, url: str, headers: Mapping[str, str], body: str
    ) -> frozenset[str]:
        """The scopes of the request's credentials; 401 when it has none that hold."""
        authorization = _header(headers, "authorization")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            scopes = scopes_of(value.strip())
            if scopes is not None:
                return scopes
            raise _HttpError(401, "unauthorisedrequest", "The access token is not valid.")
        if version == "1.1" and scheme.lower() == "oauth":
            valid, _ = self._oauth1.validate_request(url, method.upper(), body, dict(headers))
            if valid:
                return frozenset(SCOPES)
            raise _HttpError(
                401,
                "unauthorisedrequest",
                "The OAuth 1.0a signature is not valid (consumer key, secret, timestamp or nonce).",
            )
        how = "an OAuth 1.0a signature or a bearer token" if version == "1.1" else "a bearer token"
        raise _HttpError(401, "unauthorisedrequest", f"The request needs {how}.")

    def _fresh_nonce(self, client_key: str, timestamp: str, nonce: str) -> bool:
        """True once per (client, nonce) within oauthlib's timestamp lifetime."""
        now = self.clock()
        with self._lock:
            self._nonces = {k: t for k, t in self._nonces.items() if now - t < 1200}
            key = (client_key, nonce)
            if key in self._nonces:
                return False
            self._nonces[key] = now
        return True

    # -- reading --------------------------------------------------------------------------------

    def records(self, collection: str, version: str = "1.2") -> list[dict[str, Any]]:
        """Every record of a collection, rendered once per API: only a filter or a sort needs
        them all (plain pages render just themselves, ``OneRosterDemo.window``)."""
        key = (collection, version)
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            cached = [
                v1p1(collection, r) if version == "1.1" else r
                for r in self.demo.records(collection)
            ]
            with self._lock:
                self._cache[key] = cached
        return cached

    def _read(
        self,
        version: str,
        segments: list[str],
        query: Mapping[str, Sequence[str]],
        scopes: frozenset[str],
        url: str,
    ) -> DemoResponse:
        route = _ROUTES.get(segments[0])
        if route is None or len(segments) > 2:
            raise _HttpError(
                404, "unknownobject", f"There is no OneRoster endpoint /{'/'.join(segments)}."
            )
        collection, keep = route
        needed = (DEMOGRAPHICS,) if collection == "demographics" else (CORE, ROSTER)
        if not scopes & set(needed):
            raise _HttpError(
                403, "forbidden", f"The token's scopes do not include {' or '.join(needed)}."
            )
        if len(segments) == 2:
            found = self.demo.record(collection, segments[1])
            if found is None or (keep is not None and not keep(found)):
                raise _HttpError(
                    404, "unknownobject", f"No {_SINGULAR[collection]} has sourcedId {segments[1]}."
                )
            record = v1p1(collection, found) if version == "1.1" else found
            return _json(
                200, {_SINGULAR[collection]: _select(record, _one(query, "fields"))}, _JSON
            )
        limit = min(_integer(query, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
        offset = _integer(query, "offset", 0, 0)
        expression, sort = _one(query, "filter"), _one(query, "sort")
        view = _VIEWS.get(segments[0])
        if not expression and not sort and (keep is None or view is not None):
            # Only the page is rendered: a page of a huge demo district stays cheap.
            total, page = self.demo.window(collection, offset, limit, view)
            if version == "1.1":
                page = [v1p1(collection, r) for r in page]
        else:
            selected = [r for r in self.records(collection, version) if keep is None or keep(r)]
            selected = _sorted(_filtered(selected, expression), sort, _one(query, "orderBy"))
            total, page = len(selected), selected[offset : offset + limit]
        headers = {
            **_JSON,
            "X-Total-Count": str(total),
            "Link": _links(url, offset, limit, total),
        }
        fields = _one(query, "fields")
        return _json(200, {collection: [_select(r, fields) for r in page]}, headers)


class _Validator(RequestValidator):  # type: ignore[misc]  # oauthlib is untyped
    """What oauthlib's signature check asks of the server: the demo's one consumer."""

    enforce_ssl = False  # the loopback server speaks plain HTTP
    allowed_signature_methods = ("HMAC-SHA1", "HMAC-SHA256")
    dummy_client = "demo-oneroster-dummy-client"
    # oauthlib's default is letters and digits only; keys and nonces may be any unreserved text
    safe_characters = frozenset(string.ascii_letters + string.digits + "-._~")

    def __init__(self, api: OneRosterApi) -> None:
        super().__init__()
        self.api = api

    def check_client_key(self, client_key: str) -> bool:
        return bool(client_key) and set(client_key) <= self.safe_characters

    def check_nonce(self, nonce: str) -> bool:
        return bool(nonce) and set(nonce) <= self.safe_characters

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        return hmac.compare_digest(client_key.encode(), DEMO_ONEROSTER_CLIENT_ID.encode())

    def get_client_secret(self, client_key: str, request: Any) -> str:
        if client_key == DEMO_ONEROSTER_CLIENT_ID:
            return DEMO_ONEROSTER_CLIENT_SECRET
        return "demo-oneroster-dummy-secret"

    def validate_timestamp_and_nonce(
        self,
        client_key: str,
        timestamp: str,
        nonce: str,
        request: Any,
        request_token: str | None = None,
        access_token: str | None = None,
    ) -> bool:
        return self.api._fresh_nonce(client_key, timestamp, nonce)


# -- tokens and scopes ---------------------------------------------------------------------------


def token_for(scopes: Sequence[str]) -> str:
    """The demo's bearer for a set of scopes: ``DEMO_ONEROSTER_TOKEN`` for all of them, else
    that token with the short scope names after a dot (stateless, so every transport agrees)."""
    if set(scopes) >= set(SCOPES):
        return DEMO_ONEROSTER_TOKEN
    return f"{DEMO_ONEROSTER_TOKEN}.{'+'.join(scopes)}"


def scopes_of(token: str) -> frozenset[str] | None:
    """The scopes a demo bearer carries; None for a token the demo never issued."""
    if token == DEMO_ONEROSTER_TOKEN:
        return frozenset(SCOPES)
    head, dot, tail = token.partition(".")
    if head != DEMO_ONEROSTER_TOKEN or not dot:
        return None
    names = frozenset(tail.split("+")) if tail else frozenset()
    return names if names <= set(SCOPES) else None


def _short_scope(scope: str) -> str | None:
    for prefix in _SCOPE_PREFIXES:
        if scope.startswith(prefix) and scope[len(prefix) :] in SCOPES:
            return scope[len(prefix) :]
    return None


def _basic_ok(authorization: str) -> bool:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = f"{DEMO_ONEROSTER_CLIENT_ID}:{DEMO_ONEROSTER_CLIENT_SECRET}"
    return hmac.compare_digest(decoded.encode(), expected.encode())


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")


# -- query parameters ----------------------------------------------------------------------------


def _one(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _integer(query: Mapping[str, Sequence[str]], name: str, default: int, least: int) -> int:
    raw = _one(query, name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = least - 1
    if value < least:
        raise _HttpError(400, "invaliddata", f"{name} must be a whole number of at least {least}.")
    return value


def _links(url: str, offset: int, limit: int, total: int) -> str:
    """RFC 8288 ``Link``: first and last always, prev and next where they exist."""
    parts = urlsplit(url)
    kept = [
        (k, v)
        for k, vs in parse_qs(parts.query).items()
        if k not in ("limit", "offset")
        for v in vs
    ]

    def at(start: int) -> str:
        query = urlencode([*kept, ("limit", str(limit)), ("offset", str(start))])
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))

    last = max(0, (total - 1) // limit * limit)
    links = [("first", 0)]
    if offset > 0:
        links.append(("prev", max(0, offset - limit)))
    if offset + limit < total:
        links.append(("next", offset + limit))
    links.append(("last", last))
    return ", ".join(f'<{at(start)}>; rel="{rel}"' for rel, start in links)


def _select(record: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return record
    return {k: record[k] for k in fields.split(",") if k in record}


_PREDICATE = re.compile(r"\s*([A-Za-z][\w.]*)\s*(!=|>=|<=|=|>|<|~)\s*'((?:[^']|'')*)'\s*")
_COMPARE: dict[str, Callable[[str, str], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "~": lambda a, b: b.lower() in a.lower(),
}


def _filtered(records: list[dict[str, Any]], expression: str | None) -> list[dict[str, Any]]:
    """OneRoster's filter (oneroster.md §8.4): ``field op 'value'``, at most two joined by one
    AND or OR; a dotted field looks inside nested values (``roles.role='student'``)."""
    if not expression:
        return records
    join = " AND " if " AND " in expression else " OR " if " OR " in expression else None
    texts = expression.split(join, 1) if join else [expression]
    predicates = []
    for text in texts:
        match = _PREDICATE.fullmatch(text)
        if match is None:
            raise _HttpError(
                400, "invalid_filter_field", f"The filter {expression!r} is not field op 'value'."
            )
        predicates.append(
            (match.group(1), _COMPARE[match.group(2)], match.group(3).replace("''", "'"))
        )

    def holds(record: dict[str, Any]) -> bool:
        results = (
            any(op(v, value) for v in _values(record, field)) for field, op, value in predicates
        )
        return all(results) if join == " AND " else any(results)

    return [r for r in records if holds(r)]


def _values(value: Any, path: str) -> list[str]:
    """The text values at a dotted path, looking into every item of a list on the way."""
    if isinstance(value, list):
        return [v for item in value for v in _values(item, path)]
    if not path:
        return [str(value)] if not isinstance(value, dict) else []
    head, _, rest = path.partition(".")
    if not isinstance(value, dict) or head not in value:
        return []
    return _values(value[head], rest)


def _sorted(
    records: list[dict[str, Any]], field: str | None, order: str | None
) -> list[dict[str, Any]]:
    if not field:
        return records
    return sorted(
        records,
        key=lambda r: (_values(r, field) or [""])[0],
        reverse=(order or "").lower() == "desc",
    )

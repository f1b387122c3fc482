"""Clever API v3.0 client: district token lookup, Test Connection, paged reads.

Everything goes through one injected `requests.Session`, on which the caller may mount a
transport: districts.py mounts the demo district's, so the demo runs this very code. Facts
this module relies on are in shared/reference/clever-api.md:

- tokens are *listed*, not minted: GET {oauth}/oauth/tokens?owner_type=district&district=<id>
  with HTTP Basic app credentials (§1);
- list envelopes are {"data": [{"data": {...}, "uri": ...}], "links": [{"rel", "uri"}]}, link
  uris are relative and already carry /v3.0, rel values are not an enum (§2);
- paging: follow rel=next until it is absent or a page is empty; never follow prev (§2);
- 1200 requests a minute per token; 429 comes with an empty body and X-RateLimit-Reset in unix
  seconds, usually without Retry-After (§7); 500/502/503 are retried, 400/401/404/413 are not;
- an HTML page can come back instead of JSON (§8).

Secrets: the client secret and the district token travel in headers only. No message, log line
or repr built here contains them.

Over 500 lines because it is one client: settings lookup, retries, paging, envelopes and
the error mapping all serve the same few calls, and each is small.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests

from mgi_roster.errors import (
    BadAppCredentials,
    CleverError,
    CleverUnavailable,
    ConfigError,
    DistrictIdError,
    DistrictNotFound,
    RequestRejected,
    RosteringNotAccepted,
    TokenRevoked,
    UnexpectedResponse,
)
from mgi_roster.settings import DEFAULT_API_BASE, CleverSettings
from mgi_roster.sources.http import Attempts, Retrying, Voice
from mgi_roster.sources.http import Bearer as _Bearer

log = logging.getLogger(__name__)
T = TypeVar("T")

API_VERSION = "/v3.0"
MAX_PAGE_SIZE = 10_000  # Clever answers 413 above this (§2)
RETRY_STATUSES = frozenset({500, 502, 503})
DEFAULT_BACKOFF = 1.0  # seconds before the first retry; doubled each time
DISTRICT_ID = re.compile(r"[0-9a-f]{24}")


def check_district_id(value: str) -> str:
    """Return the District ID normalised (trimmed, lower case), or raise DistrictIdError.

    Clever ids are 24-hex-character Mongo ObjectIDs; checking before any call turns the guide's
    most common mistake (pasting a district name or a URL) into a clear message.
    """
    candidate = (value or "").strip().lower()
    if DISTRICT_ID.fullmatch(candidate):
        return candidate
    if not candidate:
        raise DistrictIdError(
            "Enter the Clever District ID: it is on the district's page in the Clever dashboard."
        )
    raise DistrictIdError(
        f"The District ID must be 24 characters, digits 0-9 and letters a-f (this one has "
        f"{len(candidate)} characters{_odd_characters(candidate)}). Copy it from the district's "
        "page in the Clever dashboard, not its name or URL."
    )


def _odd_characters(candidate: str) -> str:
    odd = sorted({c for c in candidate if c not in "0123456789abcdef"})
    if not odd:
        return ""
    shown = " ".join(repr(c) for c in odd[:5])
    return f", including {shown}"


# --- results --------------------------------------------------------------------------------


def text(value: Any) -> str | None:
    """Clever's missing values: "", null and an absent key all mean None (§13 #10)."""
    if value is None:
        return None
    value = str(value)
    return value if value.strip() else None


@dataclass(frozen=True)
class District:
    id: str
    name: str | None
    sis_type: str | None
    state: str | None
    last_sync: str | None
    error: str | None = None
    launch_date: str | None = None
    portal_url: str | None = None

    @classmethod
    def parse(cls, record: Mapping[str, Any]) -> District:
        return cls(
            id=text(record.get("id")) or "",
            name=text(record.get("name")),
            sis_type=text(record.get("sis_type")),
            state=text(record.get("state")),
            last_sync=text(record.get("last_sync")),
            error=text(record.get("error")),
            launch_date=text(record.get("launch_date")),
            portal_url=text(record.get("portal_url")),
        )


@dataclass(frozen=True)
class Connection:
    """What Test Connection found: the district, and how its token was obtained."""

    district: District
    token_source: str  # "app credentials" or "CLEVER_DISTRICT_TOKEN"
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Envelope:
    """What paging needs of a list page: how many records it holds, and its links."""

    count: int
    links: list[Any]


EnvelopeReader = Callable[[str], Envelope]  # raises ValueError when the text is not JSON


def read_envelope(text: str) -> Envelope:
    """The default reader, with Python's json. A sync passes a faster one (staging.py): a page
    of 10,000 users is megabytes, and json.loads holds the GIL while DuckDB wants it."""
    body = json.loads(text)
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    links = body.get("links")
    return Envelope(count=len(_records(body)), links=links if isinstance(links, list) else [])


@dataclass(frozen=True)
class Page:
    """One page of a list endpoint: the raw body for staging in DuckDB, and its record count."""

    number: int
    count: int
    body: str = field(repr=False)
    url: str = ""

    @property
    def records(self) -> list[dict[str, Any]]:
        """The page's records, parsed on demand (staging reads the body itself)."""
        return _records(json.loads(self.body))


# --- HTTP with retries ----------------------------------------------------------------------


CLEVER = Voice(
    name="Clever",
    unavailable=CleverUnavailable,
    retry_statuses=RETRY_STATUSES,
    unreachable_advice="Check the network, then try again; if it persists, see status.clever.com.",
    busy_advice="Another program may be using this district's token heavily; try again later.",
    failing_advice="Clever is having trouble: try again later (status.clever.com).",
)


@dataclass
class Http(Retrying):
    """requests with Clever's rules: timeouts, 429 waits, bounded 5xx retries (sources/http.py),
    and Clever's error mapping."""

    # Read when an Http is made, so a test may set DEFAULT_BACKOFF to 0 for the whole module.
    backoff: float = field(default_factory=lambda: DEFAULT_BACKOFF)

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        auth: Any = None,
        unauthorized: Callable[[], CleverError],
    ) -> dict[str, Any]:
        """GET a JSON object. Raise a CleverError on failure."""
        return self.get(url, params=params, auth=auth, unauthorized=unauthorized, read=_json_object)

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        auth: Any = None,
        unauthorized: Callable[[], CleverError],
        read: Callable[[str], T],
    ) -> T:
        """GET a JSON answer and read it with `read` (which raises ValueError on text that is not
        JSON: retried, as an answer cut off on the way)."""
        attempts = Attempts()
        place = _where(url)
        while True:
            response = self.send(CLEVER, "GET", url, attempts=attempts, params=params, auth=auth)
            status = response.status_code
            if status == 401:
                raise unauthorized()
            if status >= 400:
                raise _rejected(status, place, response)
            _expect_json(response, place)
            try:
                return read(response.text)
            except ValueError:
                # A 200 whose JSON does not parse was almost always cut off on the way.
                self.failed(
                    CLEVER,
                    attempts,
                    f"invalid JSON from {place}",
                    f"Clever's answer for {place} was not valid JSON {attempts.failures + 1} "
                    f"times in a row (HTTP {status}, {len(response.content)} bytes): it is being "
                    "cut off. Check the network (a proxy?), then run the sync again.",
                    error=UnexpectedResponse,
                )


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def _expect_json(response: requests.Response, where: str) -> None:
    content_type = response.headers.get("Content-Type", "")
    if "json" not in content_type.lower():
        kind = (
            "an HTML page"
            if "html" in content_type.lower()
            else f"'{content_type or 'no content type'}'"
        )
        raise UnexpectedResponse(
            f"Clever answered {kind} instead of JSON for {where} (HTTP {response.status_code}). "
            "On a first call, check CLEVER_API_BASE and that the token is a district token; "
            "in the middle of a sync, Clever may be under maintenance: try again later."
        )


def _json_object(text: str) -> dict[str, Any]:
    body = json.loads(text)
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    return body


def _rejected(status: int, where: str, response: requests.Response) -> CleverError:
    error = _rejection(status, where, response)
    error.status = status  # callers that decide on it (the events feed) need not read sentences
    return error


def _rejection(status: int, where: str, response: requests.Response) -> CleverError:
    if status == 413:
        return RequestRejected(
            f"Clever refused the page size for {where} (HTTP 413): the limit is 10,000 records a page."
        )
    if status == 404:
        if "html" in response.headers.get("Content-Type", "").lower():
            return UnexpectedResponse(
                f"Clever has no endpoint {where} (HTTP 404, an HTML page). Check CLEVER_API_BASE: "
                "it should be https://api.clever.com."
            )
        return RequestRejected(
            f"Clever answered 'not found' for {where} (HTTP 404): the record is not shared with "
            "the MGI, was deleted, or the token is not a district token."
        )
    return RequestRejected(
        f"Clever rejected the request for {where} (HTTP {status}){_reason(response)}."
    )


def _reason(response: requests.Response) -> str:
    """Clever's own words, when it sent some: {"message"} or {"error"} (§8)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        said = body.get("message") or body.get("error_description") or body.get("error")
        if isinstance(said, str) and said.strip():
            return f": {said.strip()[:200]}"
    return ""


# --- the client -----------------------------------------------------------------------------


class CleverClient:
    """Reads one district's roster with its district token."""

    def __init__(self, http: Http, token: str, *, api_base: str = DEFAULT_API_BASE) -> None:
        self._http = http
        self._auth = _Bearer(token)
        self.api_base = api_base.rstrip("/")

    def __repr__(self) -> str:
        return f"CleverClient(api_base={self.api_base!r})"

    def district(self) -> District:
        body = self._http.get_json(
            f"{self.api_base}{API_VERSION}/districts", auth=self._auth, unauthorized=_token_revoked
        )
        districts = [District.parse(item) for item in _records(body)]
        if not districts:
            raise DistrictNotFound(
                "Clever returned no district for this token. The district may have disconnected "
                "the MGI: ask it to check the MGI app in its Clever dashboard."
            )
        return districts[0]

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One JSON answer of the Data API (e.g. "/events/<id>"), with the district token."""
        return self._http.get_json(
            f"{self.api_base}{API_VERSION}{path}",
            params=params,
            auth=self._auth,
            unauthorized=_token_revoked,
        )

    def has_records(self, path: str, params: Mapping[str, str] | None = None) -> bool:
        """Whether a list endpoint holds any record the token can see (one record fetched)."""
        return next(self.pages(path, params, page_size=1), None) is not None

    def pages(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        envelope: EnvelopeReader = read_envelope,
    ) -> Iterator[Page]:
        """Yield the pages of a list endpoint (e.g. "/users", {"role": "student"}).

        A generator: only one page is in memory at a time, whatever the district's size.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        url: str | None = f"{self.api_base}{API_VERSION}{path}"
        query: dict[str, str] | None = {**(params or {}), "limit": str(page_size)}
        number = 0
        while url:
            raw, found = self._http.get(
                url,
                params=query,
                auth=self._auth,
                unauthorized=_token_revoked,
                read=lambda text: (text, envelope(text)),
            )
            if not found.count:
                return  # Clever may link to an empty page after a full one (§2)
            number += 1
            yield Page(number=number, count=found.count, body=raw, url=_where(url))
            url = self._next_url(found.links)
            query = None  # the next link carries the whole query

    def _next_url(self, links: list[Any]) -> str | None:
        for link in links:
            if (
                isinstance(link, dict)
                and str(link.get("rel", "")).lower() == "next"
                and link.get("uri")
            ):
                url = urljoin(self.api_base + "/", str(link["uri"]))
                # Never send the district token to another host, whatever a link says.
                if urlsplit(url).netloc != urlsplit(self.api_base).netloc:
                    raise UnexpectedResponse(
                        "Clever's next-page link points to another host; the sync stopped so the "
                        "district token is not sent there."
                    )
                return url
        return None


def _token_revoked() -> CleverError:
    return TokenRevoked(
        "Clever refused the district token (HTTP 401): it was revoked or the district "
        "disconnected the MGI. Ask the district to reconnect the MGI in Clever, then Test "
        "Connection again."
    )


def _bad_app_credentials() -> CleverError:
    return BadAppCredentials(
        "Clever refused the app credentials (HTTP 401 from the tokens endpoint). Check "
        "CLEVER_CLIENT_ID and CLEVER_CLIENT_SECRET against the Clever developer dashboard."
    )


def _records(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The records of a list envelope: each item's `data` object (staging reads the same)."""
    items = body.get("data")
    if isinstance(items, dict):  # a single-record endpoint
        return [items]
    if not isinstance(items, list):
        return []
    return [
        item["data"]
        for item in items or []
        if isinstance(item, dict) and isinstance(item.get("data"), dict)
    ]


# --- tokens and connecting ------------------------------------------------------------------


@dataclass(frozen=True)
class DistrictToken:
    token: str = field(repr=False)
    source: str
    scopes: tuple[str, ...] = ()


def find_district_token(http: Http, settings: CleverSettings, district_id: str) -> DistrictToken:
    """Look the district's token up among the app's tokens (Clever: GET /oauth/tokens)."""
    if settings.district_token:
        return DistrictToken(settings.district_token.get_secret_value(), "CLEVER_DISTRICT_TOKEN")
    if not (settings.client_id and settings.client_secret):
        raise ConfigError(
            "No Clever credentials are configured: set CLEVER_CLIENT_ID and CLEVER_CLIENT_SECRET "
            "(or CLEVER_DISTRICT_TOKEN)."
        )
    body = http.get_json(
        f"{settings.oauth_base}/oauth/tokens",
        params={"owner_type": "district", "district": district_id},
        auth=(settings.client_id, settings.client_secret.get_secret_value()),
        unauthorized=_bad_app_credentials,
    )
    for item in body.get("data") or []:
        if not isinstance(item, dict):
            continue
        owner = item.get("owner") or {}
        token = text(item.get("access_token"))
        if isinstance(owner, dict) and text(owner.get("id")) == district_id and token:
            scopes = tuple(s for s in item.get("scopes") or [] if isinstance(s, str))
            return DistrictToken(token, "app credentials", scopes)
    raise RosteringNotAccepted(
        f"Clever has no token for district {district_id}: the district has not accepted the MGI's "
        "rostering request yet. Ask the district to accept it in its Clever dashboard "
        "(Applications), then Test Connection again. If it has, check the District ID."
    )


@dataclass(frozen=True)
class ConnectedDistrict:
    id: str
    name: str | None


def connected_districts(
    http: Http, settings: CleverSettings, *, limit: int = 20
) -> list[ConnectedDistrict]:
    """The districts the app's credentials hold a token for, with their names (each read with
    its own token), at most `limit`: for a District ID that is not among them."""
    if not (settings.client_id and settings.client_secret):
        return []
    body = http.get_json(
        f"{settings.oauth_base}/oauth/tokens",
        params={"owner_type": "district"},
        auth=(settings.client_id, settings.client_secret.get_secret_value()),
        unauthorized=_bad_app_credentials,
    )
    found: list[ConnectedDistrict] = []
    for item in body.get("data") or []:
        if len(found) >= limit:
            break
        owner = item.get("owner") if isinstance(item, dict) else None
        owner_id = text(owner.get("id")) if isinstance(owner, dict) else None
        token = text(item.get("access_token")) if isinstance(item, dict) else None
        if not owner_id:
            continue
        name = None
        if token:
            try:
                name = CleverClient(http, token, api_base=settings.api_base).district().name
            except CleverError:
                name = None
        found.append(ConnectedDistrict(owner_id, name))
    return found


def new_session() -> requests.Session:
    """A plain Session for Clever. A caller may mount a transport on it before use (the demo
    district is one: see districts.clever_session); this module never decides that."""
    session = requests.Session()
    session.headers["User-Agent"] = "mgi-roster-review/0.1"
    return session


def connect(
    district_id: str,
    settings: CleverSettings,
    *,
    session: requests.Session | None = None,
    **http_options: Any,
) -> tuple[CleverClient, DistrictToken]:
    """A client for one district: format check, then the token lookup. No data call yet."""
    district_id = check_district_id(district_id)
    http = Http(session if session is not None else new_session(), **http_options)
    token = find_district_token(http, settings, district_id)
    return CleverClient(http, token.token, api_base=settings.api_base), token


def check_connection(
    district_id: str,
    settings: CleverSettings,
    *,
    session: requests.Session | None = None,
    **http_options: Any,
) -> Connection:
    """The guide's Test Connection: check the ID, find the token, read the district."""
    district_id = check_district_id(district_id)
    client, token = connect(district_id, settings, session=session, **http_options)
    district = client.district()
    if district.id and district.id != district_id:
        raise DistrictNotFound(
            f"The token belongs to district {district.id}, not {district_id}. Check the District "
            "ID, or the CLEVER_DISTRICT_TOKEN setting."
        )
    return Connection(district=district, token_source=token.source, scopes=token.scopes)

"""The OneRoster REST API (1.1 and 1.2) as a source: settings, requests, paging, landing.

Facts this module relies on are in shared/reference/oneroster.md §8:

- bases `/ims/oneroster/v1p1` (1.1) and `/ims/oneroster/rostering/v1p2` (1.2); a collection
  answers `{"<collection>": [...]}` (§8.1);
- paging by `limit`/`offset`: follow `Link: <...>; rel="next"` when there is one, else go on
  while `offset + n < X-Total-Count`, else stop on an empty page; a provider may cap `limit`, so
  the offset moves by what came, and a short page is not the last (§8.3). Traversal is bounded;
  records seen twice (offset paging over changing data) are kept once, by sourcedId;
- 429 and 5xx are retried with the same rules as Clever (sources/http.py); `imsx_StatusInfo`
  bodies become sentences (status.py); 1.1 signs requests with OAuth 1.0a, 1.2 uses an OAuth 2.0
  client-credentials token (auth.py).

Everything goes through one injected `requests.Session`, on which the caller may mount a
transport (the demo district's OneRoster server). `land` writes the records into the raw tables
`or_<file>` the CSV reader fills too (files.py; wire.py flattens a page in one statement), so one
mapping takes both to staging. Test Connection is connection.py.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import duckdb
import requests
from pydantic import SecretStr

from mgi_roster.errors import ConfigError, OneRosterApiError, OneRosterUnexpected
from mgi_roster.sources.http import Attempts, Retrying, where
from mgi_roster.sources.oneroster import wire
from mgi_roster.sources.oneroster.auth import (
    DEMOGRAPHICS_SCOPE,
    SIGNATURE_METHODS,
    ClientCredentials,
    Credentials,
    SignatureMethod,
    SignedRequests,
    default_scopes,
    scope,
)
from mgi_roster.sources.oneroster.files import VERSIONS, Version
from mgi_roster.sources.oneroster.status import API, not_json, refused, status_info

log = logging.getLogger(__name__)

BASE_PATHS: dict[Version, str] = {
    "1.1": "/ims/oneroster/v1p1",
    "1.2": "/ims/oneroster/rostering/v1p2",
}
# The envelope key of a collection, where it is not the collection's own name (§8.1).
ENVELOPES = {
    "schools": "orgs",
    "students": "users",
    "teachers": "users",
    "terms": "academicSessions",
    "gradingPeriods": "academicSessions",
}
DEFAULT_PAGE_SIZE = 1000  # the spec's default is 100; most providers allow more, some cap it
MAX_PAGE_SIZE = 10_000
DEFAULT_MAX_PAGES = 100_000  # a bound on traversal: 100M records at 1,000 a page


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiConfig:
    """What the MGI's OneRoster API screen asks for (Client ID, Client Secret, Endpoint), plus
    the token URL (OAuth 2.0), the version and, for OAuth 1.0a, the signature method.

    OAuth 2.0 is used when there is a token URL (1.2 always; some 1.1 providers too), OAuth 1.0a
    signatures otherwise (1.1 only). The endpoint may be the provider's host or its full base:
    the version's base path is added when it is not already there.
    """

    endpoint: str
    client_id: str
    client_secret: SecretStr = field(repr=False)
    version: Version = "1.2"
    token_url: str | None = None
    signature_method: SignatureMethod = "HMAC-SHA256"
    scopes: tuple[str, ...] | None = None  # None: roster-core and roster-demographics
    page_size: int = DEFAULT_PAGE_SIZE
    max_pages: int = DEFAULT_MAX_PAGES

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise ConfigError(
                f"The OneRoster version must be 1.1 or 1.2, not '{str(self.version)[:10]}' "
                "(ONEROSTER_VERSION)."
            )
        for name, url in (
            ("ONEROSTER_ENDPOINT", self.endpoint),
            ("ONEROSTER_TOKEN_URL", self.token_url),
        ):
            if url is not None and not url.startswith(("https://", "http://")):
                raise ConfigError(f"{name} must be an http(s) URL, such as https://host/path.")
        if not self.client_id.strip():
            raise ConfigError("Set the OneRoster Client ID (ONEROSTER_CLIENT_ID).")
        if not self.client_secret.get_secret_value().strip():
            raise ConfigError("Set the OneRoster Client Secret (ONEROSTER_CLIENT_SECRET).")
        if self.signature_method not in SIGNATURE_METHODS:
            raise ConfigError(
                "The OAuth 1.0a signature method must be HMAC-SHA1 or HMAC-SHA256 "
                "(ONEROSTER_SIGNATURE_METHOD)."
            )
        if self.version == "1.2" and not self.token_url:
            raise ConfigError(
                "OneRoster 1.2 uses OAuth 2.0: set the token URL (ONEROSTER_TOKEN_URL), the "
                "provider's token endpoint for the MGI's Client ID."
            )
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"The OneRoster page size must be 1 to {MAX_PAGE_SIZE:,}.")

    @property
    def base_url(self) -> str:
        endpoint = self.endpoint.rstrip("/")
        if any(endpoint.endswith(path) for path in BASE_PATHS.values()):
            return endpoint
        return endpoint + BASE_PATHS[self.version]

    @property
    def oauth2(self) -> bool:
        return bool(self.token_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiConfig:
        """From ONEROSTER_ENDPOINT, ONEROSTER_CLIENT_ID, ONEROSTER_CLIENT_SECRET,
        ONEROSTER_TOKEN_URL, ONEROSTER_VERSION (default 1.2 with a token URL, else 1.1) and
        ONEROSTER_SIGNATURE_METHOD (default HMAC-SHA256)."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = (env.get(name) or "").strip()
            return value or None

        endpoint = get("ONEROSTER_ENDPOINT")
        if not endpoint:
            raise ConfigError("Set the OneRoster endpoint (ONEROSTER_ENDPOINT).")
        token_url = get("ONEROSTER_TOKEN_URL")
        version = get("ONEROSTER_VERSION") or ("1.2" if token_url else "1.1")
        return cls(
            endpoint=endpoint,
            client_id=get("ONEROSTER_CLIENT_ID") or "",
            client_secret=SecretStr(get("ONEROSTER_CLIENT_SECRET") or ""),
            version=version,  # type: ignore[arg-type]  # checked in __post_init__
            token_url=token_url,
            signature_method=(get("ONEROSTER_SIGNATURE_METHOD") or "HMAC-SHA256").upper(),  # type: ignore[arg-type]
        )


# --- the client ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of a collection: the raw body for DuckDB, its record count, the total the
    provider announced (X-Total-Count), if any."""

    number: int
    count: int
    body: str = field(repr=False)
    total: int | None = None


@dataclass(frozen=True)
class Answer:
    """A JSON answer and what paging reads from its headers."""

    body: dict[str, Any]
    text: str = field(repr=False)
    total: int | None
    next_url: str | None


class OneRosterClient:
    """Reads one OneRoster REST API with one set of credentials."""

    def __init__(self, config: ApiConfig, session: requests.Session, **retry_options: Any) -> None:
        self.config = config
        self._http = Retrying(session, **retry_options)
        self._credentials: Credentials
        if config.token_url:
            scopes = config.scopes or default_scopes(config.version)
            self._credentials = ClientCredentials(
                self._http,
                config.token_url,
                config.client_id,
                config.client_secret,
                scopes,
                optional_scopes=(scope(config.version, DEMOGRAPHICS_SCOPE),),
            )
        else:
            self._credentials = SignedRequests(
                config.client_id, config.client_secret, config.signature_method
            )

    def __repr__(self) -> str:
        return f"OneRosterClient(base_url={self.config.base_url!r}, version={self.version!r})"

    @property
    def version(self) -> Version:
        return self.config.version

    @property
    def auth_name(self) -> str:
        return self._credentials.name

    def get(
        self, collection: str, params: Mapping[str, Any] | None = None, *, url: str | None = None
    ) -> Answer:
        """GET one page of `collection` (or the `url` a next link gave) as a JSON object."""
        target = url or f"{self.config.base_url}/{collection}"
        place = where(target)
        attempts = Attempts()
        renewed = False
        while True:
            response = self._http.send(
                API,
                "GET",
                target,
                attempts=attempts,
                params=params,
                auth=self._credentials.auth(),
                headers={"Accept": "application/json"},
            )
            status = response.status_code
            if status == 401 and not renewed and self._credentials.renew():
                renewed = True  # a token that expired early or was revoked: one new one
                continue
            if status >= 400:
                raise refused(
                    response,
                    place,
                    what=f"the {collection}",
                    unauthorized=self._credentials.unauthorized,
                    scrub=self._credentials.scrub,
                )
            if "json" not in response.headers.get("Content-Type", "").lower():
                raise not_json(response, place)
            try:
                body = json.loads(response.text)
            except ValueError:
                # A 200 whose JSON does not parse was almost always cut off on the way.
                self._http.failed(
                    API,
                    attempts,
                    f"invalid JSON from {place}",
                    f"The OneRoster API's answer for {place} was not valid JSON "
                    f"{attempts.failures + 1} times in a row (HTTP {status}, "
                    f"{len(response.content)} bytes): it is being cut off. Check the network "
                    "(a proxy?), then try again.",
                    error=OneRosterUnexpected,
                )
                continue
            if not isinstance(body, dict):
                raise self._wrong_envelope(collection, place, body)
            return Answer(body, response.text, _total(response), self._next(response, target))

    def pages(
        self,
        collection: str,
        params: Mapping[str, str] | None = None,
        *,
        page_size: int | None = None,
    ) -> Iterator[Page]:
        """Yield the pages of a collection ("classes"), one in memory at a time."""
        limit = page_size or self.config.page_size
        base = {**(params or {}), "limit": str(limit)}
        offset = 0
        url: str | None = None
        first_page: list[Any] = []  # its sourcedIds: a server ignoring offset sends it again
        for number in range(1, self.config.max_pages + 1):
            answer = self.get(collection, None if url else {**base, "offset": str(offset)}, url=url)
            records = self._records(collection, answer)
            if not records:
                return
            ids = [r.get("sourcedId") for r in records]
            if number == 1:
                first_page = ids
            elif not url and ids == first_page:
                raise OneRosterUnexpected(
                    f"The OneRoster API answered the same {collection} again at offset {offset}: "
                    "it ignores the offset parameter, so the collection cannot be read page by "
                    f"page. Ask the provider about paging, or raise the page size above the number "
                    f"of {collection}."
                )
            yield Page(number, len(records), answer.text, answer.total)
            offset += len(records)
            if answer.next_url:
                if answer.next_url == url:
                    raise OneRosterUnexpected(
                        f"The OneRoster API's next-page link for the {collection} points to the "
                        "page it came with, so paging would never end. Ask the provider to "
                        "check its Link headers."
                    )
                url = answer.next_url
            elif url:
                return  # we were following links, and the last page has none
            elif answer.total is not None and offset >= answer.total:
                return
        raise OneRosterUnexpected(
            f"The OneRoster API still had more {collection} after {self.config.max_pages:,} "
            "pages; the sync stopped rather than run on. Raise the page size, or check that the "
            "provider's next links do not go round in a circle."
        )

    def total(self, collection: str) -> tuple[int | None, list[dict[str, Any]]]:
        """A collection's X-Total-Count (None when the provider does not send it) and its first
        record, read with limit=1."""
        answer = self.get(collection, {"limit": "1", "offset": "0"})
        return answer.total, self._records(collection, answer)[:1]

    def _records(self, collection: str, answer: Answer) -> list[dict[str, Any]]:
        records = answer.body.get(ENVELOPES.get(collection, collection))
        if isinstance(records, list):
            return [r for r in records if isinstance(r, dict)]
        raise self._wrong_envelope(
            collection, where(f"{self.config.base_url}/{collection}"), answer.body
        )

    def _wrong_envelope(self, collection: str, place: str, body: Any) -> OneRosterApiError:
        info = status_info(body)
        if info is not None:
            return OneRosterUnexpected(
                f"The OneRoster API answered a status instead of the {collection} for {place}"
                f"{info.said(self._credentials.scrub)}."
            )
        keys = ", ".join(sorted(str(k) for k in body)[:5]) if isinstance(body, dict) else ""
        found = f"an object with {keys}" if keys else f"a JSON {type(body).__name__}"
        return OneRosterUnexpected(
            f"The OneRoster API's answer for {place} is not a list of {collection} (expected "
            f'{{"{collection}": [...]}}, found {found}). Check ONEROSTER_ENDPOINT and the version '
            f"(1.1 or 1.2) against what the provider serves."
        )

    def _next(self, response: requests.Response, current: str) -> str | None:
        link = response.links.get("next") if response.headers.get("Link") else None
        target = link.get("url") if isinstance(link, dict) else None
        if not target:
            return None
        url = urljoin(current, target)
        # Never send credentials to another host, whatever a link says.
        if urlsplit(url).netloc != urlsplit(self.config.base_url).netloc:
            raise OneRosterUnexpected(
                "The OneRoster API's next-page link points to another host; the sync stopped "
                "so the credentials are not sent there."
            )
        return url


def _total(response: requests.Response) -> int | None:
    value = (response.headers.get("X-Total-Count") or "").strip()
    return int(value) if value.isdigit() else None


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "mgi-roster-review/0.1"
    return session


# --- landing the records ---------------------------------------------------------------------


@dataclass(frozen=True)
class LandProgress:
    """Reported after each page, and once more when a collection is done (or skipped)."""

    collection: str
    step: int  # 1-based, of `steps`
    steps: int
    pages: int
    records: int
    total: int | None
    done: bool = False
    skipped: str | None = None  # why an optional collection was not read


LandCallback = Callable[[LandProgress], None]


def land(
    con: duckdb.DuckDBPyConnection,
    client: OneRosterClient,
    progress: LandCallback | None = None,
) -> str:
    """Read every collection a sync needs into the raw tables `or_<file>` and return the version
    ("1.1" or "1.2"). The tables are created when missing and emptied first: they hold this
    read only. A failure raises a OneRosterApiError and leaves them partly filled, for the
    caller to discard with the run; demographics refused (403) or not served (404) is skipped.
    """
    version = client.version
    report = progress or (lambda _p: None)
    for raw in wire.ALL_TABLES:
        con.execute(raw.create_sql())
        con.execute(f"DELETE FROM {raw.table}")
    steps = len(wire.FETCHED)
    for step, collection in enumerate(wire.FETCHED, start=1):
        tables = wire.tables_filled_by(collection, version)
        pages = records = 0
        total: int | None = None
        try:
            for page in client.pages(collection):
                for raw in tables:
                    con.execute(wire.INSERTS[(collection, raw.name, version)], {"body": page.body})
                pages, records, total = page.number, records + page.count, page.total
                report(LandProgress(collection, step, steps, pages, records, total))
        except OneRosterApiError as exc:
            if collection not in wire.OPTIONAL or exc.status not in (403, 404):
                raise
            log.warning("OneRoster %s skipped: %s", collection, exc.message)
            report(
                LandProgress(collection, step, steps, 0, 0, None, done=True, skipped=exc.message)
            )
            continue
        for raw in tables:
            con.execute(wire.dedupe_sql(raw))
        report(LandProgress(collection, step, steps, pages, records, total, done=True))
    return version

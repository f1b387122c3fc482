"""How a OneRoster API request proves who is asking (oneroster.md §8.6).

- OAuth 1.0a signed requests (REST 1.1): each request is signed with the Client ID and Secret,
  HMAC-SHA1 or HMAC-SHA256 as the provider expects (both are in use; which one 1.1 certification
  mandates is unconfirmed). The signing is requests-oauthlib's `OAuth1`, not ours.
- OAuth 2.0 client credentials (REST 1.2; some 1.1 providers too): `POST` the token URL with
  HTTP Basic client authentication and `grant_type=client_credentials&scope=...`. The bearer
  token is kept until a minute before it expires, and fetched again once after a 401.

The secret is read out of its SecretStr only where it is sent. Reprs hide it and the token,
and `scrub` blanks both out of any text a server sends back before it reaches a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal, Protocol

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_AUTH_HEADER
from pydantic import SecretStr
from requests_oauthlib import OAuth1

from mgi_roster.errors import (
    OneRosterApiError,
    OneRosterAuthRejected,
    OneRosterRejected,
    OneRosterUnexpected,
)
from mgi_roster.sources.http import Bearer, Retrying, where
from mgi_roster.sources.oneroster.files import Version
from mgi_roster.sources.oneroster.status import API

SignatureMethod = Literal["HMAC-SHA1", "HMAC-SHA256"]
SIGNATURE_METHODS: tuple[SignatureMethod, ...] = (SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256)

_SCOPE = "https://purl.imsglobal.org/spec/or/{v}/scope/{name}"
CORE_SCOPE = "roster-core.readonly"  # the base collections: all a sync reads
DEMOGRAPHICS_SCOPE = "roster-demographics.readonly"  # optional, like demographics itself


def scope(version: Version, name: str) -> str:
    """The full scope URI, e.g. scope("1.2", "roster-core.readonly")."""
    return _SCOPE.format(v="v1p1" if version == "1.1" else "v1p2", name=name)


def default_scopes(version: Version) -> tuple[str, ...]:
    return (scope(version, CORE_SCOPE), scope(version, DEMOGRAPHICS_SCOPE))


EXPIRY_MARGIN = 60.0  # seconds: fetch a new token this long before the old one expires
DEFAULT_EXPIRES_IN = 3600.0  # when the token answer does not say


class Credentials(Protocol):
    """What the client needs of an authentication scheme."""

    @property
    def name(self) -> str:
        """How the scheme is shown on Test Connection: "OAuth 1.0a (HMAC-SHA256)"."""
        ...

    def auth(self) -> requests.auth.AuthBase:
        """The auth for the next request."""
        ...

    def renew(self) -> bool:
        """After a 401: forget what is cached; True when asking again may succeed."""
        ...

    def scrub(self, text: str) -> str:
        """`text` with every secret this scheme holds blanked out."""
        ...

    @property
    def unauthorized(self) -> str:
        """What to check when the API still answers 401."""
        ...


def _blank(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "**********")
    return text


class SignedRequests:
    """OAuth 1.0a: every request signed with the consumer key and secret (two-legged: no token)."""

    def __init__(self, client_id: str, secret: SecretStr, method: SignatureMethod) -> None:
        self.method = method
        self._secret = secret
        self._auth: requests.auth.AuthBase = OAuth1(
            client_id,
            client_secret=secret.get_secret_value(),
            signature_method=method,
            signature_type=SIGNATURE_TYPE_AUTH_HEADER,
        )

    def __repr__(self) -> str:
        return f"SignedRequests(method={self.method!r}, secret=<hidden>)"

    @property
    def name(self) -> str:
        return f"OAuth 1.0a ({self.method})"

    def auth(self) -> requests.auth.AuthBase:
        return self._auth  # a fresh nonce and timestamp are made for each request

    def renew(self) -> bool:
        return False  # nothing is cached: the same signature would be refused again

    def scrub(self, text: str) -> str:
        return _blank(text, (self._secret.get_secret_value(),))

    @property
    def unauthorized(self) -> str:
        other = "HMAC-SHA1" if self.method == SIGNATURE_HMAC_SHA256 else "HMAC-SHA256"
        return (
            "Check the Client ID and Secret (ONEROSTER_CLIENT_ID, ONEROSTER_CLIENT_SECRET) and "
            f"the signature method: this provider may expect {other} "
            "(ONEROSTER_SIGNATURE_METHOD). A computer clock more than a few minutes off is "
            "refused too."
        )


@dataclass
class _Token:
    value: str = field(repr=False)
    expires_at: float


class ClientCredentials:
    """OAuth 2.0 client credentials: a bearer token from the token URL, cached until it expires."""

    def __init__(
        self,
        http: Retrying,
        token_url: str,
        client_id: str,
        secret: SecretStr,
        scopes: tuple[str, ...],
        *,
        optional_scopes: tuple[str, ...] = (),
    ) -> None:
        self._http = http
        self.token_url = token_url
        self._client_id = client_id
        self._secret = secret
        self.scopes = scopes
        self._optional = optional_scopes
        self._token: _Token | None = None
        self._tokens_issued: list[str] = []  # every token seen, to scrub them from messages

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self.token_url!r}, secret=<hidden>)"

    @property
    def name(self) -> str:
        return "OAuth 2.0 client credentials"

    def auth(self) -> requests.auth.AuthBase:
        now = self._http.clock()
        if self._token is None or now >= self._token.expires_at - EXPIRY_MARGIN:
            self._token = self._fetch(now)
        return Bearer(self._token.value)

    def renew(self) -> bool:
        self._token = None
        return True

    def scrub(self, text: str) -> str:
        return _blank(text, (self._secret.get_secret_value(), *self._tokens_issued))

    @property
    def unauthorized(self) -> str:
        return (
            "Check the Client ID and Secret (ONEROSTER_CLIENT_ID, ONEROSTER_CLIENT_SECRET), that "
            "the token URL (ONEROSTER_TOKEN_URL) belongs to this endpoint, and that the "
            f"application has been granted {CORE_SCOPE}."
        )

    def _fetch(self, now: float) -> _Token:
        scopes = self.scopes
        while True:
            response = self._http.send(
                API,
                "POST",
                self.token_url,
                data={"grant_type": "client_credentials", "scope": " ".join(scopes)},
                auth=requests.auth.HTTPBasicAuth(self._client_id, self._secret.get_secret_value()),
                headers={"Accept": "application/json"},
            )
            error = _oauth_error(response)
            if error == "invalid_scope":
                # A provider that grants only the core scope refuses the whole request when
                # demographics is asked for too; demographics is optional, so ask without it.
                narrower = tuple(s for s in scopes if s not in self._optional)
                if narrower != scopes:
                    scopes = narrower
                    continue
            if response.status_code >= 400 or error:
                raise self._refused(response, error, scopes)
            return self._read(response, now)

    def _refused(
        self, response: requests.Response, error: str | None, scopes: tuple[str, ...]
    ) -> OneRosterApiError:
        place = where(self.token_url)
        status = response.status_code
        said = f", {error}" if error else ""
        if error == "invalid_scope":
            names = ", ".join(s.rsplit("/", 1)[-1] for s in scopes)
            return OneRosterAuthRejected(
                f"The OneRoster token URL {place} refused the scopes asked for ({names}; HTTP "
                f"{status}, invalid_scope). Ask the provider to grant the MGI's application at "
                "least roster-core.readonly.",
                status=status,
            )
        if status in (400, 401) or error in ("invalid_client", "unauthorized_client"):
            return OneRosterAuthRejected(
                f"The OneRoster token URL {place} refused the Client ID and Secret (HTTP "
                f"{status}{said}). Check the Client ID and Secret (ONEROSTER_CLIENT_ID, "
                "ONEROSTER_CLIENT_SECRET) the provider issued for the MGI, and the token URL "
                "(ONEROSTER_TOKEN_URL).",
                status=status,
            )
        if status == 404:
            return OneRosterRejected(
                f"There is no token endpoint at {place} (HTTP 404). Check the token URL "
                "(ONEROSTER_TOKEN_URL) the provider gave.",
                status=status,
            )
        return OneRosterRejected(
            f"The OneRoster token URL {place} refused the request (HTTP {status}{said}).",
            status=status,
        )

    def _read(self, response: requests.Response, now: float) -> _Token:
        place = where(self.token_url)
        try:
            body = json.loads(response.text)
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise OneRosterUnexpected(
                f"The OneRoster token URL {place} answered without an access token (HTTP "
                f"{response.status_code}). Check ONEROSTER_TOKEN_URL: it should be the "
                "provider's OAuth 2.0 token endpoint.",
                status=response.status_code,
            )
        assert isinstance(body, dict)
        kind = body.get("token_type")
        if isinstance(kind, str) and kind.lower() != "bearer":
            raise OneRosterUnexpected(
                f"The OneRoster token URL {place} issued a '{kind[:20]}' token; OneRoster uses "
                "bearer tokens. Check ONEROSTER_TOKEN_URL.",
                status=response.status_code,
            )
        self._tokens_issued.append(token)
        expires_in = _seconds(body.get("expires_in"))
        return _Token(token, now + expires_in)


def _seconds(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_EXPIRES_IN
    return seconds if seconds > 0 else DEFAULT_EXPIRES_IN


def _oauth_error(response: requests.Response) -> str | None:
    """RFC 6749 §5.2's `error` code of a token answer, when there is one."""
    try:
        body = json.loads(response.text)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error[:40] if isinstance(error, str) and error.strip() else None

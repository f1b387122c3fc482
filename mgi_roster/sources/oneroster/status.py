"""A OneRoster API's answers said as sentences a specialist can act on (oneroster.md §8.5).

A provider explains a failure in an `imsx_StatusInfo` object (`imsx_codeMajor`, `imsx_severity`,
`imsx_description`, `imsx_CodeMinor.imsx_codeMinorField[].imsx_codeMinorFieldValue`), at the top
of the body or under `imsx_StatusInfo` / `statusInfoSet`. Its words are quoted (shortened, with
the client secret and any token blanked out: a server may echo what it was sent); the advice
around them is ours and names the setting to check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from mgi_roster.errors import (
    OneRosterApiError,
    OneRosterAuthRejected,
    OneRosterRejected,
    OneRosterUnavailable,
    OneRosterUnexpected,
)
from mgi_roster.sources.http import Voice

Scrub = Callable[[str], str]  # blanks secrets out of text a server sent

API = Voice(
    name="The OneRoster API",
    unavailable=lambda message: OneRosterUnavailable(message),
    # 504 too: OneRoster providers sit behind gateways that time out on large pages.
    retry_statuses=frozenset({500, 502, 503, 504}),
    unreachable_advice="Check the network and ONEROSTER_ENDPOINT, then try again.",
    busy_advice="The provider is limiting this Client ID's requests; try again later.",
    failing_advice="The provider is having trouble: try again later.",
)


@dataclass(frozen=True)
class StatusInfo:
    """An imsx_StatusInfo payload, as data."""

    code_major: str | None
    severity: str | None
    description: str | None
    code_minor: tuple[str, ...] = ()

    def said(self, scrub: Scrub) -> str:
        """The provider's words as a clause: ` (failure: unauthorisedrequest, "...")`."""
        parts = [p for p in (self.code_major, *self.code_minor) if p]
        words = ", ".join(parts)
        if self.description:
            text = scrub(" ".join(self.description.split()))
            text = text if len(text) <= 200 else text[:197] + "..."
            words = f'{words}, "{text}"' if words else f'"{text}"'
        return f" ({words})" if words else ""


def status_info(body: Any) -> StatusInfo | None:
    """The imsx_StatusInfo in a decoded body, wherever a provider put it; None when there is
    none."""
    if not isinstance(body, Mapping):
        return None
    for key in ("imsx_StatusInfo", "imsx_statusInfo", "statusInfoSet"):
        inner = body.get(key)
        if isinstance(inner, list) and inner:
            inner = inner[0]
        if isinstance(inner, Mapping):
            return status_info(inner)
    if not any(k in body for k in ("imsx_codeMajor", "imsx_description", "imsx_CodeMinor")):
        return None
    minor: list[str] = []
    fields = (body.get("imsx_CodeMinor") or {}) if isinstance(body, Mapping) else {}
    items = fields.get("imsx_codeMinorField") if isinstance(fields, Mapping) else None
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, Mapping) and isinstance(item.get("imsx_codeMinorFieldValue"), str):
            minor.append(item["imsx_codeMinorFieldValue"])
    return StatusInfo(
        code_major=_text(body.get("imsx_codeMajor")),
        severity=_text(body.get("imsx_severity")),
        description=_text(body.get("imsx_description")),
        code_minor=tuple(minor),
    )


def response_status(response: requests.Response) -> StatusInfo | None:
    try:
        return status_info(json.loads(response.text))
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def refused(
    response: requests.Response,
    place: str,
    *,
    what: str,
    unauthorized: str,
    scrub: Scrub,
) -> OneRosterApiError:
    """The error for an HTTP 4xx from the API (after retries and one renewed token): `what` is
    the thing asked for ("the classes"), `unauthorized` the advice for a 401."""
    status = response.status_code
    info = response_status(response)
    said = info.said(scrub) if info else ""
    if status == 401:
        return OneRosterAuthRejected(
            f"The OneRoster API refused the credentials for {place} (HTTP 401{said}). "
            f"{unauthorized}",
            status=status,
        )
    if status == 403:
        return OneRosterRejected(
            f"The OneRoster API does not let this Client ID read {what} at {place} (HTTP 403"
            f"{said}). Ask the provider or the district to share {what} with the MGI's "
            "application (for OAuth 2.0, to grant its scope).",
            status=status,
        )
    if status == 404:
        return OneRosterRejected(
            f"The OneRoster API has no {what} at {place} (HTTP 404{said}). Is the endpoint "
            "right? ONEROSTER_ENDPOINT should be the base URL the provider gave for OneRoster, "
            "ending in /ims/oneroster/v1p1 (1.1) or /ims/oneroster/rostering/v1p2 (1.2), and "
            "the version should match it.",
            status=status,
        )
    if status == 400:
        return OneRosterRejected(
            f"The OneRoster API refused the request for {what} at {place} (HTTP 400{said}). "
            "The provider may not accept the page size asked for: lower the page size, or ask "
            "the provider which limit it allows.",
            status=status,
        )
    return OneRosterRejected(
        f"The OneRoster API refused the request for {what} at {place} (HTTP {status}{said}).",
        status=status,
    )


def not_json(response: requests.Response, place: str) -> OneRosterUnexpected:
    content_type = response.headers.get("Content-Type", "")
    kind = (
        "an HTML page"
        if "html" in content_type.lower()
        else f"'{content_type or 'no content type'}'"
    )
    return OneRosterUnexpected(
        f"The OneRoster API answered {kind} instead of JSON for {place} (HTTP "
        f"{response.status_code}). Check ONEROSTER_ENDPOINT: it should be the API's base URL, "
        "not a web page or a sign-in page.",
        status=response.status_code,
    )

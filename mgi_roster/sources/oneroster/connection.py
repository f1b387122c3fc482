"""Test Connection for the OneRoster API (the MGI's "Test Connection" button): authenticate,
find the district org, count what the provider shares, and see which version's shape it serves.

Plain data for the Connection page and the command line; one record is read per collection
(`limit=1`, the count from X-Total-Count where the provider sends it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from mgi_roster.errors import OneRosterApiError
from mgi_roster.sources.oneroster.files import Version
from mgi_roster.sources.oneroster.rest import OneRosterClient


@dataclass(frozen=True)
class Org:
    sourced_id: str
    name: str | None
    type: str | None
    identifier: str | None = None


@dataclass(frozen=True)
class ApiConnection:
    """What Test Connection found: where, how, which version, the district org(s), counts."""

    base_url: str
    version: Version  # the version asked for
    version_served: Version | None  # what the users' shape says (None: no user to look at)
    auth: str
    districts: tuple[Org, ...]  # orgs of type district
    schools: tuple[Org, ...]  # the first schools (the district id when there is no district org)
    counts: dict[str, int | None]  # X-Total-Count per collection; None: not said or not shared

    def as_dict(self) -> dict[str, Any]:
        """One JSON-ready object, for `--json` and the page."""
        found = asdict(self)
        found["version_note"] = self.version_note
        return found

    @property
    def version_note(self) -> str | None:
        """A sentence when the provider serves another version's shape than the one set."""
        if self.version_served and self.version_served != self.version:
            return (
                f"The provider's users have the OneRoster {self.version_served} shape, but "
                f"the version set is {self.version}: set ONEROSTER_VERSION={self.version_served}."
            )
        return None


COUNTED = (
    "orgs",
    "academicSessions",
    "courses",
    "classes",
    "users",
    "students",
    "teachers",
    "enrollments",
    "demographics",
)
MAX_SCHOOLS_SHOWN = 50
ORG_PAGES = 5  # orgs are few (a district and its schools): enough to find the district org


def check_connection(client: OneRosterClient) -> ApiConnection:
    """The MGI's Test Connection for the OneRoster API: authenticate, find the district org,
    count what the provider shares (one record read per collection)."""
    districts: list[Org] = []
    schools: list[Org] = []
    for page in client.pages("orgs"):
        for record in json.loads(page.body).get("orgs") or []:
            org = _org(record)
            if org is None:
                continue
            if (org.type or "").lower() == "district":
                districts.append(org)
            elif (org.type or "").lower() == "school" and len(schools) < MAX_SCHOOLS_SHOWN:
                schools.append(org)
        if page.number >= ORG_PAGES:
            break
    counts: dict[str, int | None] = {}
    served: Version | None = None
    for collection in COUNTED:
        try:
            counts[collection], first = client.total(collection)
        except OneRosterApiError as exc:
            if collection in ("orgs", "users", "classes", "enrollments") or exc.status not in (
                403,
                404,
            ):
                raise
            counts[collection] = None
            continue
        if collection == "users" and first:
            served = "1.2" if "roles" in first[0] else "1.1" if "role" in first[0] else None
    return ApiConnection(
        base_url=client.config.base_url,
        version=client.version,
        version_served=served,
        auth=client.auth_name,
        districts=tuple(districts),
        schools=tuple(schools),
        counts=counts,
    )


def _org(record: Any) -> Org | None:
    if not isinstance(record, dict):
        return None
    sourced_id = record.get("sourcedId")
    if not isinstance(sourced_id, str) or not sourced_id.strip():
        return None

    def text(key: str) -> str | None:
        value = record.get(key)
        return str(value).strip() or None if value is not None else None

    return Org(sourced_id.strip(), text("name"), text("type"), text("identifier"))

"""The districts a specialist works on, and where each one's roster comes from.

The demo district is built in: with no Clever configuration (or for its own District ID while
CLEVER_API_BASE is left at Clever's), its roster comes from the demo SIS mounted on the
requests Session, so the demo runs exactly the production code path. Its SIS "day" is stored
here, so a demo can show a second sync with changes and problems.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb
import requests
from pydantic import SecretStr

from mgi_roster import demo
from mgi_roster.errors import InputError
from mgi_roster.kinds import ProviderKind
from mgi_roster.settings import DEFAULT_API_BASE, CleverSettings
from mgi_roster.sources import clever, provider
from mgi_roster.sources.clever import Connection
from mgi_roster.sources.provider import ProviderSettings

if TYPE_CHECKING:
    from mgi_roster.checklist import Checklist
    from mgi_roster.sources.oneroster.rest import ApiConfig

DEMO_NAME = "Maple Valley Unified (demo)"


@dataclass(frozen=True)
class District:
    district_id: str
    name: str
    is_demo: bool
    demo_day: int | None
    clever_name: str | None
    sis_type: str | None
    clever_state: str | None
    last_sync: str | None
    token_source: str | None
    verified_at: datetime | None
    provider: ProviderKind = ProviderKind.CLEVER
    provider_settings: ProviderSettings = ProviderSettings()

    @property
    def label(self) -> str:
        return f"{self.name} ({self.district_id})"


_COLUMNS = (
    "district_id, name, is_demo, demo_day, clever_name, sis_type, clever_state, last_sync, "
    "token_source, verified_at, provider, provider_settings"
)


def _district(row: tuple[Any, ...]) -> District:
    *fields, kind, options = row
    names = _COLUMNS.replace(" ", "").split(",")
    return District(
        **dict(zip(names, fields, strict=False)),
        provider=ProviderKind(kind or ProviderKind.CLEVER),
        provider_settings=ProviderSettings.parse(json.loads(options) if options else None),
    )


def _row(row: tuple[Any, ...] | None) -> District | None:
    return _district(row) if row else None


def provider_of(con: duckdb.DuckDBPyConnection, district_id: str) -> ProviderKind | None:
    """The stored provider of a district, found by its id as typed (or as Clever normalises it);
    None for a district not known yet."""
    typed = (district_id or "").strip()
    row = con.execute(
        "SELECT provider FROM districts WHERE district_id IN (?, ?) ORDER BY district_id = ? DESC LIMIT 1",
        [typed, typed.lower(), typed],
    ).fetchone()
    return ProviderKind(row[0] or ProviderKind.CLEVER) if row else None


def check_id(
    con: duckdb.DuckDBPyConnection, district_id: str, kind: ProviderKind | None = None
) -> tuple[str, ProviderKind]:
    """The district id checked for its provider (the one given, else the stored one, else
    Clever), and that provider."""
    kind = kind or provider_of(con, district_id) or ProviderKind.CLEVER
    return provider.check_district_id(district_id, kind), kind


def set_provider(
    con: duckdb.DuckDBPyConnection,
    district_id: str,
    kind: ProviderKind,
    options: ProviderSettings | None = None,
) -> District:
    """Choose where a district's roster comes from, with its non-secret settings."""
    district_id, kind = check_id(con, district_id, kind)
    add(con, district_id, provider=kind)
    con.execute(
        "UPDATE districts SET provider = ?, provider_settings = ? WHERE district_id = ?",
        [kind, (options or ProviderSettings()).to_json(), district_id],
    )
    found = get(con, district_id)
    assert found is not None
    return found


def ensure_demo(con: duckdb.DuckDBPyConnection) -> None:
    """The demo district is there out of the box."""
    con.execute(
        "INSERT INTO districts (district_id, name, is_demo, demo_day) VALUES (?, ?, true, 1) ON CONFLICT DO NOTHING",
        [demo.DEMO_DISTRICT_ID, DEMO_NAME],
    )


def add(
    con: duckdb.DuckDBPyConnection,
    district_id: str,
    name: str = "",
    *,
    provider: ProviderKind | None = None,
) -> District:
    """The district, added when new (with `provider`, Clever when not given); its id is
    checked for its provider (a known district's stored one)."""
    district_id, kind = check_id(con, district_id, provider)
    if district_id == demo.DEMO_DISTRICT_ID:
        ensure_demo(con)
    else:
        name = " ".join((name or "").split())[:200]
        con.execute(
            "INSERT INTO districts (district_id, name, provider) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [district_id, name or f"District {district_id[-6:]}", kind],
        )
    found = get(con, district_id)
    assert found is not None
    return found


def get(con: duckdb.DuckDBPyConnection, district_id: str) -> District | None:
    return _row(
        con.execute(
            f"SELECT {_COLUMNS} FROM districts WHERE district_id = ?", [district_id]
        ).fetchone()
    )


def all_districts(con: duckdb.DuckDBPyConnection) -> list[District]:
    rows = con.execute(f"SELECT {_COLUMNS} FROM districts ORDER BY is_demo DESC, name").fetchall()
    return [_district(r) for r in rows]


def advance_demo_day(
    con: duckdb.DuckDBPyConnection, district_id: str = demo.DEMO_DISTRICT_ID
) -> int:
    """Move the demo SIS to its next day (the last day stays the last)."""
    district = get(con, district_id)
    if district is None or not district.is_demo:
        raise InputError("Only the demo district has a demo SIS to advance.")
    day = min((district.demo_day or 1) + 1, demo.DEMO_DAYS)
    con.execute("UPDATE districts SET demo_day = ? WHERE district_id = ?", [day, district_id])
    return day


def uses_demo(district_id: str, settings: CleverSettings) -> bool:
    """Whether this district's roster comes from the demo: always with no Clever configuration,
    and for the demo's own District ID while the API base is Clever's (not a loopback server)."""
    default_base = settings.api_base == DEFAULT_API_BASE
    return settings.is_demo or (district_id == demo.DEMO_DISTRICT_ID and default_base)


def demo_session(day: int = 1) -> tuple[requests.Session, CleverSettings]:
    """A Session with the demo district (on this SIS day) mounted for Clever's API and OAuth
    hosts, and the demo's app credentials: the Clever client then runs unchanged."""
    settings = CleverSettings(
        client_id=demo.DEMO_CLIENT_ID, client_secret=SecretStr(demo.DEMO_CLIENT_SECRET)
    )
    session = clever.new_session()
    demo.mount_demo(
        session,
        demo.DemoDistrict(day=day),
        api_base=settings.api_base,
        oauth_base=settings.oauth_base,
    )
    return session, settings


def clever_session(
    con: duckdb.DuckDBPyConnection, district_id: str, settings: CleverSettings
) -> tuple[requests.Session, CleverSettings]:
    """The Session (and effective settings) to reach this district's roster: Clever's, or the
    demo's SIS on its stored day."""
    if not uses_demo(district_id, settings):
        return clever.new_session(), settings
    if district_id != demo.DEMO_DISTRICT_ID:
        raise InputError(
            f"No Clever credentials are configured, so only the demo district "
            f"({demo.DEMO_DISTRICT_ID}) can be reached. Set CLEVER_CLIENT_ID and "
            "CLEVER_CLIENT_SECRET to connect a real district."
        )
    district = get(con, district_id)
    return demo_session((district.demo_day if district else None) or 1)


def oneroster_connection(
    con: duckdb.DuckDBPyConnection, district_id: str
) -> tuple[requests.Session, ApiConfig]:
    """The Session and API settings to reach a OneRoster district: the credentials from the
    environment (or secrets.toml; never the database), its endpoint and token URL from its own
    settings first. The demo's endpoint (DEMO_ONEROSTER_ENDPOINT, or none configured for the
    demo district) is answered in-process by the demo SIS on its stored day, with the demo's
    published credentials, so the OneRoster path runs with no credentials."""
    from mgi_roster.demo import oneroster_api, oneroster_transport
    from mgi_roster.settings import OneRosterSettings
    from mgi_roster.sources.oneroster import rest

    district = get(con, district_id)
    options = district.provider_settings if district else None
    env = OneRosterSettings.from_env()
    endpoint = (options.endpoint if options else None) or env.endpoint
    token_url = (options.token_url if options else None) or env.token_url
    version = (options.version if options else None) or ("1.2" if token_url else "1.1")
    session = rest.new_session()
    demo_host = oneroster_transport.DEMO_ONEROSTER_HOST
    if (endpoint or "").startswith(demo_host) or (
        endpoint is None and district_id == demo.DEMO_DISTRICT_ID
    ):
        day = (district.demo_day if district else None) or 1
        oneroster_transport.mount_oneroster_demo(session, demo.DemoDistrict(day=day))
        # The demo serves 1.2 (OAuth 2.0) unless the district's settings ask for 1.1.
        v11 = bool(options and options.version == "1.1" and not options.token_url)
        return session, rest.ApiConfig(
            endpoint=endpoint
            or (
                oneroster_transport.DEMO_ONEROSTER_V1P1_ENDPOINT
                if v11
                else oneroster_transport.DEMO_ONEROSTER_ENDPOINT
            ),
            client_id=oneroster_api.DEMO_ONEROSTER_CLIENT_ID,
            client_secret=SecretStr(oneroster_api.DEMO_ONEROSTER_CLIENT_SECRET),
            version="1.1" if v11 else "1.2",
            token_url=None if v11 else (token_url or oneroster_transport.DEMO_ONEROSTER_TOKEN_URL),
        )
    if not env.configured or not endpoint:
        raise InputError(
            "The OneRoster API is not configured: set ONEROSTER_CLIENT_ID and "
            "ONEROSTER_CLIENT_SECRET (in the environment or .streamlit/secrets.toml), and the "
            "endpoint on the Connection page or as ONEROSTER_ENDPOINT."
        )
    assert env.client_id is not None and env.client_secret is not None
    return session, rest.ApiConfig(
        endpoint=endpoint,
        client_id=env.client_id,
        client_secret=env.client_secret,
        version="1.2" if version == "1.2" else "1.1",
        token_url=token_url,
    )


def test_connection(
    con: duckdb.DuckDBPyConnection, district_id: str, settings: CleverSettings
) -> Connection:
    """Test Connection, remembering what it found (never the token) for the checklist."""
    district_id = clever.check_district_id(district_id)
    session, effective = clever_session(con, district_id, settings)
    connection = clever.check_connection(district_id, effective, session=session)
    found = connection.district
    add(con, district_id, found.name or "")
    con.execute(
        """UPDATE districts SET clever_name = ?, sis_type = ?, clever_state = ?, last_sync = ?,
           token_source = ?, verified_at = now() WHERE district_id = ?""",
        [
            found.name,
            found.sis_type,
            found.state,
            found.last_sync,
            connection.token_source,
            district_id,
        ],
    )
    return connection


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def checklist(
    con: duckdb.DuckDBPyConnection,
    district_id: str,
    settings: CleverSettings,
    *,
    now: datetime | None = None,
) -> Checklist:
    """The connection checklist (checklist.py) for a district, through Clever or the demo.
    A district whose request is accepted is remembered, as Test Connection does."""
    from mgi_roster import checklist as steps

    if settings.is_demo:
        # No Clever configuration: the demo answers for any ID (an unknown one is then a
        # wrong ID, named beside the demo district the demo credentials see).
        known = get(con, district_id)
        session, effective = demo_session((known.demo_day if known else None) or 1)
    elif uses_demo(district_id, settings):
        session, effective = clever_session(con, district_id, settings)
    else:
        session, effective = clever.new_session(), settings
    result = steps.run(district_id, effective, session, now=now)
    if result.ok:
        test_connection(con, district_id, settings)
    if clever.DISTRICT_ID.fullmatch(result.district_id):  # a malformed ID is not kept
        con.execute(
            """INSERT INTO checklists (district_id, body, checked_at) VALUES (?, ?, now())
               ON CONFLICT (district_id) DO UPDATE SET body = excluded.body,
               checked_at = excluded.checked_at""",
            [result.district_id, json.dumps(result.to_dict())],
        )
    return result


def last_checklist(con: duckdb.DuckDBPyConnection, district_id: str) -> Checklist | None:
    """The connection checklist last measured for this District ID (None when never)."""
    from mgi_roster.checklist import Checklist

    row = con.execute(
        "SELECT body FROM checklists WHERE district_id = ?", [district_id.strip().lower()]
    ).fetchone()
    return Checklist.from_dict(json.loads(row[0])) if row else None

"""Connection: the MGI's provider dropdown (Clever, OneRoster API, OneRoster CSV). For Clever, the
District ID with a format check before any call, Test Connection, and the guide's checklist as it
measured each step (state, detail, advice); for a wrong ID, the connected districts to pick from.
For OneRoster, the district's non-secret settings (secrets stay in the environment)."""

from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from mgi_roster import checklist, districts, parameters, ui
from mgi_roster.checklist import Checklist
from mgi_roster.districts import District
from mgi_roster.errors import RosterError
from mgi_roster.kinds import ProviderKind
from mgi_roster.settings import CleverSettings
from mgi_roster.sources import clever
from mgi_roster.sources.provider import ProviderSettings

PROVIDERS = tuple(ProviderKind)
AUTH = {"oauth2": "OAuth 2.0 (1.2)", "oauth1-hmac-sha1": "OAuth 1.0a HMAC-SHA1 (1.1)",
        "oauth1-hmac-sha256": "OAuth 1.0a HMAC-SHA256 (1.1)"}  # fmt: skip


def _save_provider(con: duckdb.DuckDBPyConnection, district_id: str, kind: str) -> str:
    options = ProviderSettings.parse(
        {
            k: st.session_state.get(f"conn_{k}") or None
            for k in ("endpoint", "token_url", "version", "auth", "drop_folder")
        }
        if kind != ProviderKind.CLEVER
        else {}
    )
    found = districts.set_provider(con, district_id, ProviderKind(kind), options)
    return f"{found.label} rosters through {found.provider.label}."


def _oneroster(district: District, kind: ProviderKind) -> None:
    """A OneRoster district's settings: none of them secret."""
    st.caption(
        "The district's id is the sourcedId of its district org in the OneRoster files (or of "
        "its school when there is none). The Client ID and Client Secret are never stored here: "
        "set ONEROSTER_CLIENT_ID and ONEROSTER_CLIENT_SECRET in the environment or in "
        ".streamlit/secrets.toml."
    )
    saved = district.provider_settings
    if kind is ProviderKind.ONEROSTER_API:
        st.text_input("Endpoint (base URL)", value=saved.endpoint or "", key="conn_endpoint")
        st.text_input("Token URL (OAuth 2.0)", value=saved.token_url or "", key="conn_token_url")
        left, right = st.columns(2)
        left.selectbox("Version", ("1.2", "1.1"), index=0 if saved.version != "1.1" else 1,
                       key="conn_version")  # fmt: skip
        right.selectbox("Authentication", list(AUTH), format_func=AUTH.__getitem__,
                        index=list(AUTH).index(saved.auth or "oauth2"), key="conn_auth")  # fmt: skip
    else:
        st.text_input(
            "Drop folder (optional: the scheduler syncs the newest ZIP dropped here)",
            value=saved.drop_folder or "",
            key="conn_drop_folder",
        )
    st.button(
        "Save",
        key="conn_save",
        type="primary",
        on_click=ui.act,
        args=(_save_provider, district.district_id, kind.value),
    )
    if district.provider is kind:
        ui.link("app_pages/sync.py", "Next: Test Sync")


def _test_connection(con: duckdb.DuckDBPyConnection) -> str | None:
    """Measure the connection checklist for the typed District ID (kept in the store)."""
    district_id = clever.check_district_id(st.session_state["conn_district_id"])
    found = districts.checklist(con, district_id, CleverSettings.from_env())
    if found.problem is not None:
        said = f"Test Connection found a problem: {found.problem.name}. {found.problem.detail}"
        ui.notify("error", said)
        return None
    ui.select_district(district_id)
    return f"Test Connection succeeded for District ID {district_id}."


def _show_checklist(found: Checklist | None) -> None:
    if found is None:
        st.caption("Not measured yet: enter the District ID and press Test Connection.")
        return
    ui.table(pd.DataFrame(checklist.steps_table(found.steps)), key="conn_checklist")
    if found.connected:
        st.warning(
            f"District {found.district_id} is not among the districts connected to the MGI app. "
            "Pick the right one from those these credentials can see:"
        )
        ui.table(pd.DataFrame(checklist.connected_table(found.connected)), key="conn_connected")


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("Connection")
    district = ui.selected_district(con)
    if parameters.load(con, district.district_id) is None:
        ui.needs(
            "app_pages/parameters.py",
            "District Parameters",
            "The guide's first step comes first: save the District Parameters before rostering.",
        )

    st.subheader("Data integration")
    provider = st.selectbox(
        "Rostering provider (Data Integration › Rostering)",
        PROVIDERS,
        index=PROVIDERS.index(district.provider),
        format_func=lambda k: k.label,
        key="conn_provider",
    )
    if provider is not ProviderKind.CLEVER:
        _oneroster(district, provider)
        return
    if district.provider is not ProviderKind.CLEVER:
        st.button(
            "Roster this district through Clever",
            key="conn_save_clever",
            on_click=ui.act,
            args=(_save_provider, district.district_id, ProviderKind.CLEVER.value),
        )

    value = st.text_input(
        "Clever District ID",
        value=district.district_id,
        key="conn_district_id",
        max_chars=64,
        help="24 characters, digits 0-9 and letters a-f, from the district's page in Clever.",
    )
    format_ok = False
    try:
        clever.check_district_id(value)
        format_ok = True
    except RosterError as exc:
        ui.show_error(exc)

    st.button(
        "Test Connection",
        key="conn_test",
        type="primary",
        disabled=not format_ok,
        icon=":material/cable:",
        on_click=ui.act,
        args=(_test_connection,),
    )
    st.subheader("Checklist")
    _show_checklist(districts.last_checklist(con, value) if format_ok else None)

    current = districts.get(con, district.district_id)
    if current is not None and current.verified_at is not None:
        st.subheader("The district, as Clever describes it")
        ui.table(
            pd.DataFrame(
                {
                    "field": ["Name", "SIS type", "Clever sync state", "Last sync", "Token"],
                    "value": [
                        current.clever_name,
                        current.sis_type,
                        current.clever_state,
                        current.last_sync,
                        current.token_source,
                    ],
                }
            ),
            static=True,
        )
        ui.link("app_pages/sync.py", "Next: Test Sync")

    saved = parameters.load(con, district.district_id)
    if saved is not None:
        st.subheader("Data requirements to send the district")
        st.caption(
            "In Clever's setup guide the district sets sharing and validates its data: these are "
            "the fields the MGI needs, from the District Parameters."
        )
        ui.requirements(saved, district.district_id, key="conn_requirements")


ui.run(render)

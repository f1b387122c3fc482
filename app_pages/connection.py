"""Clever Connection: the guide's checklist with live status, the District ID with a format check
before any call, and Test Connection."""

from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from mgi_roster import districts, parameters, ui, views
from mgi_roster.districts import District
from mgi_roster.errors import RosterError
from mgi_roster.settings import CleverSettings
from mgi_roster.sources import clever

PROVIDERS = ("Clever", "OneRoster")


def _checklist(con: duckdb.DuckDBPyConnection, district: District) -> pd.DataFrame:
    saved = parameters.load(con, district.district_id) is not None
    verified = district.verified_at is not None
    sharing = views.sharing(con, district.district_id)
    if sharing.run_id is None:
        shared = "Run a test sync to see what the district shares."
    else:
        shared = (
            f"Run {sharing.run_id} saw {sharing.counts.get('schools', 0):,} schools, "
            f"{sharing.counts.get('students', 0):,} students, {sharing.counts.get('teachers', 0):,} "
            f"teachers and {sharing.counts.get('sections', 0):,} sections"
            + (
                f"; sections name {sharing.unshared_users:,} users that are not shared with the MGI."
                if sharing.unshared_users
                else "."
            )
        )
    rows = [
        ("District Parameters saved", saved, "Saved." if saved else "Save them first (Setup)."),
        (
            "Rostering request accepted",
            verified,
            f"A district token was found ({district.token_source})."
            if verified
            else "Measured by Test Connection: a token for the district means it accepted.",
        ),
        ("Sharing seen in the data", sharing.run_id is not None, shared),
        (
            "District ID verified",
            verified,
            f"Test Connection succeeded {district.verified_at:%Y-%m-%d %H:%M}."
            if verified and district.verified_at
            else "Not tested yet.",
        ),
    ]
    return pd.DataFrame(
        [{"step": s, "status": "✅ done" if ok else "⬜ to do", "detail": d} for s, ok, d in rows]
    )


def _test_connection(con: duckdb.DuckDBPyConnection) -> str:
    district_id = clever.check_district_id(st.session_state["conn_district_id"])
    districts.test_connection(con, district_id, CleverSettings.from_env())
    ui.select_district(district_id)
    return f"Test Connection succeeded for District ID {district_id}."


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("Clever Connection")
    district = ui.selected_district(con)
    if parameters.load(con, district.district_id) is None:
        ui.needs(
            "app_pages/parameters.py",
            "District Parameters",
            "The guide's first step comes first: save the District Parameters before rostering.",
        )

    st.subheader("Checklist")
    ui.table(_checklist(con, district), key="conn_checklist")

    st.subheader("Data integration")
    provider = st.selectbox(
        "Rostering provider (Data Integration › Rostering › REST API)",
        PROVIDERS,
        key="conn_provider",
    )
    if provider != "Clever":
        st.info("OneRoster is planned; for now the MGI rosters through Clever only.")
        return

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

"""Clever Connection: the District ID with a format check before any call, Test Connection, and
the guide's checklist as it measured each step (state, detail, advice); for a wrong ID, the
connected districts to pick from."""

from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from mgi_roster import checklist, districts, parameters, ui
from mgi_roster.checklist import Checklist
from mgi_roster.errors import RosterError
from mgi_roster.settings import CleverSettings
from mgi_roster.sources import clever

PROVIDERS = ("Clever", "OneRoster")


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
    st.title("Clever Connection")
    district = ui.selected_district(con)
    if parameters.load(con, district.district_id) is None:
        ui.needs(
            "app_pages/parameters.py",
            "District Parameters",
            "The guide's first step comes first: save the District Parameters before rostering.",
        )

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

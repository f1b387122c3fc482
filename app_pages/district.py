"""District: choose the district to work on, or add one. The demo district is always there."""

from __future__ import annotations

import duckdb
import streamlit as st

from mgi_roster import districts, ui, views


def _add(con: duckdb.DuckDBPyConnection) -> str:
    added = districts.add(
        con, st.session_state["district_new_id"], st.session_state["district_new_name"]
    )
    ui.select_district(added.district_id)
    st.session_state["district_new_id"] = st.session_state["district_new_name"] = ""
    return f"Added district {added.district_id}; it is now selected."


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("District")
    st.write(
        "Choose the school district whose Clever roster you are reviewing. One database holds "
        "several districts. The demo district needs no Clever credentials: it serves a made-up "
        "district in Clever's own format, so the whole flow can be shown end to end."
    )
    ui.district_picker(con, key="district_choose", label="Work on district")
    ui.table(views.districts_table(districts.all_districts(con)), key="district_table")

    st.subheader("Add a district")
    st.caption(
        "The Clever District ID is on the district's page in the Clever dashboard: 24 characters, "
        "digits and the letters a to f. Test Connection (next steps) fills in the rest."
    )
    st.text_input("Clever District ID", key="district_new_id")
    st.text_input("Name (optional)", key="district_new_name", max_chars=200)
    st.button(
        "Add district", key="district_add", icon=":material/add:", on_click=ui.act, args=(_add,)
    )

    st.divider()
    ui.link("app_pages/parameters.py", "Next: District Parameters")


ui.run(render)

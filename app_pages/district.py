"""District: choose the district to work on, or add one. The demo district is always there."""

from __future__ import annotations

import duckdb
import streamlit as st

from mgi_roster import districts, ui


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
        "Choose the school district whose roster you are reviewing, sent through Clever, the "
        "OneRoster API or a OneRoster CSV package. One database holds several districts. The "
        "demo district needs no credentials: it serves a made-up district in Clever's and "
        "OneRoster's own formats, so the whole flow can be shown end to end."
    )
    ui.district_switcher(con, key="district_choose", label="Work on district")
    found = districts.all_districts(con)
    if len(found) > 1:  # with the demo district alone, the picker says all a table would
        # Imported here: views brings pandas, which a first visit (this page, the demo district
        # alone) does not need (benchmarks/RESULTS.md, "First render").
        from mgi_roster import views

        ui.table(views.districts_table(found), key="district_table")

    # A popover's fields are drawn when it opens: a first visit does not wait for their code.
    with st.popover("Add a district", icon=":material/add:"):
        st.caption(
            "The Clever District ID is on the district's page in the Clever dashboard: 24 "
            "characters, digits and the letters a to f. Test Connection (next steps) fills in "
            "the rest."
        )
        st.text_input("Clever District ID", key="district_new_id")
        st.text_input("Name (optional)", key="district_new_name", max_chars=200)
        st.button(
            "Add district", key="district_add", icon=":material/add:", on_click=ui.act, args=(_add,)
        )

    st.divider()
    ui.link("app_pages/parameters.py", "Next: District Parameters")


ui.run(render)

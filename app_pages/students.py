"""Students added by hand: the form that adds one (never archived by a sync; a synced student who
matches is proposed as a link on the Changes page), and the list of those added so far."""

from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from mgi_roster import ui
from mgi_roster.entities import GRADES
from mgi_roster.roster import manual


def _add(con: duckdb.DuckDBPyConnection, district_id: str) -> str:
    s = st.session_state
    added = manual.add(
        con,
        district_id,
        manual.NewStudent(
            first_name=str(s.get("hand_first") or ""),
            last_name=str(s.get("hand_last") or ""),
            school=str(s.get("hand_school") or ""),
            grade=str(s.get("hand_grade") or ""),
            dob=str(s.get("hand_dob") or "") or None,
            state_id=str(s.get("hand_state_id") or "") or None,
            student_number=str(s.get("hand_number") or "") or None,
        ),
        by=ui.acting_reviewer("hand_by"),
    )
    return f"Added student {added.record_id} (roster version {added.version})."


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("Students added by hand")
    district = ui.selected_district(con)
    st.caption(
        "A student the district adds here, not through its SIS. A sync never archives them; a "
        "synced student with the same state id, student number in the same school, or name and "
        "date of birth is proposed as a link on the Changes page."
    )
    schools = dict(manual.schools(con, district.district_id))
    if not schools:
        st.info("The roster has no school yet: approve a first sync, then add students here.")
    else:
        with st.form("hand_form"):
            left, right = st.columns(2)
            left.text_input("First name", key="hand_first", max_chars=100)
            right.text_input("Last name", key="hand_last", max_chars=100)
            left.selectbox("School", list(schools), format_func=schools.get, key="hand_school")
            right.selectbox("Grade", GRADES, index=GRADES.index("Kindergarten"), key="hand_grade")
            left.text_input("Date of birth (M/D/YYYY)", key="hand_dob", max_chars=10)
            right.text_input("State id", key="hand_state_id", max_chars=100)
            left.text_input("Student number", key="hand_number", max_chars=100)
            refusal = ui.reviewer_field("hand_by", label="Your name", required=False)
            st.form_submit_button(
                "Add student",
                disabled=refusal is not None,
                on_click=ui.act,
                args=(_add, district.district_id),
            )
    st.subheader("Added by hand")
    rows = manual.listed(con, district.district_id)
    if rows:
        ui.table(pd.DataFrame(rows), key="hand_list")
    else:
        st.caption("No student has been added by hand.")


ui.run(render)

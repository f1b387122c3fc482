"""Test plans: can the MGI build test plans from this roster, and how many? Students of the
latest run awaiting review (else of the current roster) by school and grade form, the plans each
group needs (75 students a plan; one per class when tests are distributed by class), and the
students who cannot be placed, with the reason."""

from __future__ import annotations

import altair as alt
import duckdb
import streamlit as st

from mgi_roster import parameters, ui, views
from mgi_roster.grades import FORMS
from mgi_roster.parameters import PLAN_SIZE
from mgi_roster.review import readiness
from mgi_roster.ui import charts


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("Test plans")
    district = ui.selected_district(con)
    district_id = district.district_id
    params = parameters.load(con, district_id)
    if params is None:
        ui.needs(
            "app_pages/parameters.py",
            "District Parameters",
            "Save the District Parameters first: they say who is screened.",
        )
        return
    run_id = readiness.reviewable_run(con, district_id)
    found = (
        readiness.of_run(con, run_id, params)
        if run_id is not None
        else readiness.of_roster(con, district_id, params)
    )
    if not (found.groups or found.unplaceable or found.not_screened):
        ui.needs(
            "app_pages/sync.py",
            "Test Sync",
            "No students yet: run a test sync (or approve one) to see the test plans it needs.",
        )
        return
    schools = readiness.schools(con, district_id, run_id)
    where = f"staged run {run_id} (awaiting review)" if run_id is not None else "the roster"
    by = ", one plan per screening class" if params.distribute_by_class else ""
    st.caption(
        f"From {where}. A test plan is one school, one grade form{by}, at most {PLAN_SIZE} "
        "students (help.mhs.com/mgi/create-a-test-plan)."
    )
    placed = sum(g.students for g in found.groups)
    cols = st.columns(4)
    cols[0].metric("Test plans needed", f"{found.plans:,}")
    cols[1].metric("Students placed", f"{placed:,}")
    cols[2].metric("Cannot be placed", f"{len(found.unplaceable):,}")
    cols[3].metric("Not screened", f"{found.not_screened:,}")
    if found.not_screened:
        st.info(
            f"{found.not_screened:,} students are not screened (a grade outside the screened "
            "forms, or a school not taking part): information, not an error."
        )

    plans = views.plans_table(found, schools)
    if not plans.empty:
        st.subheader("Students by school and grade form")
        charts.bar_chart(
            views.plans_by_school_grade(plans),
            x=charts.count_axis("students:Q", "students"),
            y=alt.Y("school:N", title=None),
            color=alt.Color("grade:N", sort=list(FORMS), scale=alt.Scale(scheme="tableau10")),
            key="plans_chart",
        )
        st.subheader("Plans per group")
        ui.table(plans, key="plans_table")

    st.subheader("Students who cannot be placed")
    if not found.unplaceable:
        st.success("Every screened student can be placed in a test plan.")
        return
    people = readiness.students(con, district_id, run_id, [u.record_id for u in found.unplaceable])
    unplaceable = views.unplaceable_table(found, people, schools)
    ui.table(unplaceable, key="plans_unplaceable")
    ui.download_table(
        "Download the list (CSV)",
        unplaceable,
        key="plans_download",
        file_name=f"mgi-unplaceable-{district_id}.csv",
    )


ui.run(render)

"""Roster Quality, for analysts: the merged roster as charts and tables (students by school and
grade, field completeness, section sizes, students per teacher, issues across runs)."""

from __future__ import annotations

import altair as alt
import duckdb
import streamlit as st

from mgi_roster import ui, views
from mgi_roster.entities import ENTITIES
from mgi_roster.ui import charts


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("Roster Quality")
    district = ui.selected_district(con)
    district_id = district.district_id
    counts = views.roster_counts(con, district_id)
    if not any(counts.values()):
        ui.needs(
            "app_pages/approve.py",
            "Approve",
            "The roster of this district is empty: approve a clean test sync to merge it first.",
        )
        return
    labels = {e.name: e.label for e in ENTITIES}
    cols = st.columns(len(counts))
    for col, (name, n) in zip(cols, counts.items(), strict=True):
        col.metric(labels[name], f"{n:,}")

    st.subheader("Students by school and grade")
    by_school = ui.roster_figures(con, views.students_by_school_grade, district_id)
    charts.bar_chart(
        by_school,
        x=charts.count_axis("sum(students):Q", "students"),
        y=alt.Y("school:N", title=None),
        color=alt.Color(
            "grade:N",
            sort=by_school.sort_values("grade_rank")["grade"].unique().tolist(),
            scale=alt.Scale(scheme="tableau20"),
        ),
        key="quality_school_chart",
    )
    with st.expander("As a table"):
        ui.table(
            by_school.pivot_table(index="school", columns="grade", values="students", fill_value=0)[
                by_school.sort_values("grade_rank")["grade"].unique()
            ],
            hide_index=False,
            key="quality_school_table",
        )

    st.subheader("Field completeness")
    entity = st.selectbox(
        "Records",
        [e.name for e in ENTITIES],
        format_func=labels.__getitem__,
        index=[e.name for e in ENTITIES].index("students"),
        key="quality_entity",
    )
    completeness = ui.roster_figures(con, views.field_completeness, district_id, entity)
    charts.bar_chart(
        completeness,
        x=alt.X("missing_pct:Q", title="% missing", scale=alt.Scale(domain=[0, 100])),
        y=alt.Y("field:N", sort=None, title=None),
        key="quality_completeness_chart",
    )
    with st.expander("As a table"):
        ui.table(completeness, key="quality_completeness_table")

    left, right = st.columns(2)
    with left:
        st.subheader("Section sizes")
        charts.bar_chart(
            ui.roster_figures(con, views.section_sizes, district_id),
            x=alt.X("students:O", title="students in the section"),
            y="sections:Q",
            key="quality_sections_chart",
        )
    with right:
        st.subheader("Students per teacher")
        charts.bar_chart(
            ui.roster_figures(con, views.students_per_teacher, district_id),
            x=alt.X("students:O", title="distinct students taught"),
            y="teachers:Q",
            key="quality_teachers_chart",
        )

    st.subheader("Issues across runs")
    charts.bar_chart(
        views.issues_across_runs(con, district_id),
        x=alt.X("run:O"),
        y=alt.Y("issues:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        color=charts.SEVERITY_COLOR,
        key="quality_runs_chart",
    )


ui.run(render)

"""Changes: what Approve would do to the roster. High-impact changes first (a student's school,
grade or screening class: they move students between test plans), then per entity and per
school, and record by record (updated records field by field, before → after), each with its
likely cause. Rows selected in a table can be withheld from the approval."""

from __future__ import annotations

import altair as alt
import duckdb
import pandas as pd
import streamlit as st

from mgi_roster import ui, views
from mgi_roster.review import people
from mgi_roster.roster import exports
from mgi_roster.ui import charts, selection

TABS = (
    ("high_impact", "High impact"),
    ("added", "Added"),
    ("updated", "Updated (field by field)"),
    ("archived", "Archived"),
    ("restored", "Restored"),
    ("absent", "Absent (reported only)"),
    ("rekeyed", "Re-keyed (new id, same person)"),
    ("linked", "Linked to a student added by hand"),
)
OPTIONAL = ("absent", "rekeyed", "linked")  # tabs shown only when the run has such changes


# --- same person? (re-keys and links: review/people.py) ---------------------------------------


def _decide(con: duckdb.DuckDBPyConnection, run_id: int, old: str, new: str, same: bool) -> str:
    people.decide(
        con, run_id, old_id=old, new_id=new, same=same, by=ui.acting_reviewer("people_by")
    )
    return f"Recorded: {old} and {new} are {'one person' if same else 'different people'}."


def _same_person(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    found = people.matches(con, run_id)
    if not found:
        return
    st.subheader("Same person?")
    st.caption(
        "Records that may be one person under two ids: a re-key (absent under an old id, present "
        "under a new one) or a synced student matching one added by hand (a link). A link, or a "
        "re-key with several candidates, waits for your choice before Approve."
    )
    # One name per row, in the `record` column presentation mode masks (the old id beside it).
    rows = [
        {"entity": m.entity, "kind": m.kind, "status": m.status, "record": m.new_name,
         "record_id": m.new_id, "old id": m.old_id, "matched on": ", ".join(m.bases)}
        for m in found
    ]  # fmt: skip
    ui.table(pd.DataFrame(rows), key="people_table")
    undecided = [m for m in found if m.status == "proposed"]
    if not undecided:
        return
    refusal = ui.reviewer_field("people_by", label="Your name", required=False)
    for i, m in enumerate(undecided):
        cols = st.columns([4, 1, 1])
        cols[0].markdown(f"**{m.kind}** `{m.old_id}` → `{m.new_id}` ({', '.join(m.bases)})")
        for col, same, label in ((cols[1], True, "Same person"), (cols[2], False, "Keep both")):
            col.button(
                label,
                key=f"people_{i}_{same}",
                disabled=refusal is not None,
                on_click=ui.act,
                args=(_decide, run_id, m.old_id, m.new_id, same),
            )


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("Changes")
    district = ui.selected_district(con)
    run = ui.review_run(con, district, key="run_changes")
    if run is None:
        return
    run_id = int(run["run_id"])
    changes = run["changes"] or {}
    totals = {kind: sum(c.get(kind, 0) for c in changes.values()) for kind, _ in TABS}
    totals["high_impact"] = 1  # always a tab (it says when there is none)
    cols = st.columns(4)
    for col, kind in zip(cols, ("added", "updated", "archived", "restored"), strict=True):
        col.metric(kind.capitalize(), f"{totals[kind]:,}")
    if totals["absent"]:
        st.info(
            f"{totals['absent']:,} records are missing from this sync. All Records Processing is "
            "off, so they are reported, not archived."
        )
    if run["guards"]:
        st.warning("This run is held by its guards: see Approve.")
    _same_person(con, run_id)

    st.subheader("High-impact changes")
    high = views.high_impact_table(con, run_id)
    if high.empty:
        st.caption("No student changes school, grade or screening class in this run.")
    else:
        st.caption(
            "Students whose school, grade or screening class changes move to another test plan. "
            "Counted by their school and grade in this sync."
        )
        unusual = int(high["unusual (mid-year)"].sum())
        if unusual:
            st.warning(
                f"{unusual:,} grade change(s) happen in the middle of the school year (by the "
                "district's terms), when grades rarely move: check them with the district."
            )
        ui.table(high, key="chg_high_impact")

    st.subheader("Per entity")
    by_entity = views.changes_by_entity(changes)
    left, right = st.columns([3, 2])
    with left:
        ui.table(views.change_counts_table(changes), key="chg_counts")
    with right:
        if not by_entity.empty:
            charts.bar_chart(
                by_entity,
                x=charts.count_axis("sum(records):Q", "records"),
                y=alt.Y("entity:N", sort=None, title=None),
                color=charts.CHANGE_COLOR,
                key="chg_entity_chart",
            )

    st.subheader("Per school")
    by_school = views.changes_by_school(con, run_id)
    in_schools = by_school[by_school["school_id"].notna()]
    if by_school.empty:
        st.caption("No changes.")
    else:
        st.caption(
            "Students, teachers, sections and schools by the school they belong to (terms, "
            "courses and enrollments have none: see the table)."
        )
        charts.bar_chart(
            in_schools,
            x=charts.count_axis("sum(records):Q", "records"),
            y=alt.Y("school:N", sort="-x", title=None),
            color=charts.CHANGE_COLOR,
            key="chg_school_chart",
        )
        with st.expander("Per school, as a table"):
            ui.table(
                by_school.pivot_table(
                    index=["school", "entity"], columns="change", values="records", fill_value=0
                ).reset_index(),
                key="chg_school_table",
            )

    st.subheader("Records")
    options = views.change_options(con, run_id)
    schools = dict(options.schools)
    cols = st.columns([1, 1, 2])
    entities = cols[0].multiselect("Entity", options.entities, key="chg_entity")
    chosen_schools = cols[1].multiselect(
        "School", list(schools), format_func=lambda s: schools.get(s, s), key="chg_school"
    )
    search = cols[2].text_input("Search by name or Clever id", key="chg_search")
    shown = [(kind, label) for kind, label in TABS if totals[kind] or kind not in OPTIONAL]
    for (kind, _), tab in zip(shown, st.tabs([label for _, label in shown]), strict=True):
        with tab:
            high = kind == "high_impact"
            filters = views.ChangeFilter(
                tuple(entities),
                () if high else (kind,),
                tuple(chosen_schools),
                search,
                high_impact=high,
            )
            shown_rows = ui.paged_table(
                f"chg_{kind}",
                lambda page, size, f=filters: views.changes_page(con, run_id, f, page, size),
                signature=(run_id, filters),
                empty=f"No {kind.replace('_', '-')} records"
                + (" match these filters." if entities or chosen_schools or search else "."),
                selectable=True,
            )
            chosen = selection.selected(shown_rows.frame, f"chg_{kind}_table")
            st.button(
                f"Withhold the {len(chosen)} selected record(s) from the approval",
                key=f"chg_{kind}_withhold",
                disabled=chosen.empty,
                help="They stay as they are in the roster when this run is approved.",
                on_click=ui.act,
                args=(
                    lambda _con, ids: selection.withhold(run_id, ids),
                    list(dict.fromkeys(chosen["record_id"])) if not chosen.empty else [],
                ),
            )
    ui.download_csv(
        "Download all changes (CSV)",
        lambda c: exports.rows(c, run_id, "changes"),
        key="chg_download",
        file_name=f"mgi-changes-run-{run_id}.csv",
    )
    st.divider()
    ui.link("app_pages/approve.py", "Next: Approve")


ui.run(render)

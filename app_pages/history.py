"""History: runs and merges (who, when, what), the audit log, the roster as of any merge, and
Undo of the latest merge (with a confirmation)."""

from __future__ import annotations

import duckdb
import streamlit as st

from mgi_roster import ui, views
from mgi_roster.entities import ENTITIES
from mgi_roster.roster import merge, oneroster_export

CURRENT = 0  # the version selector's "current roster"


def _undo(district_id: str, version: int) -> None:
    st.subheader("Undo the latest merge")
    st.caption(
        f"The latest merge made roster version {version}. Undo puts the roster back exactly as "
        "it was before it; its run is marked rejected, and a new sync brings its changes back."
    )
    refusal = ui.reviewer_field("undo_by", label="Your name", required=False)
    if refusal:
        st.info(refusal)
    sure = st.checkbox(f"Yes, undo version {version}", key="undo_confirm")
    st.button(
        "Undo last merge",
        key="undo_button",
        disabled=not sure or refusal is not None,
        help=refusal,
        icon=":material/undo:",
        on_click=ui.act,
        args=(_do_undo, district_id),
    )


def _do_undo(con: duckdb.DuckDBPyConnection, district_id: str) -> str:
    result = merge.undo(con, district_id, by=ui.acting_reviewer("undo_by"))
    return (
        f"Undid version {result.version} "
        f"({f'run {result.run_id}' if result.run_id else 'a student added by hand'}); "
        "the roster is back at version "
        f"{result.restored_version}."
    )


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("History")
    district = ui.selected_district(con)
    runs = views.runs_table(con, district.district_id)
    if runs.empty:
        ui.needs(
            "app_pages/sync.py",
            "Test Sync",
            "Nothing has happened in this district yet: run a test sync.",
        )
        return
    st.subheader("Merges")
    merges = views.merges_table(con, district.district_id)
    if merges.empty:
        st.caption("No merge yet: approve a run to merge it into the roster.")
    else:
        ui.table(merges, key="hist_merges")
    versions = views.versions(con, district.district_id)
    if versions:
        ui.download_file(
            "Download the roster as OneRoster 1.1 (ZIP)",
            lambda c: oneroster_export.to_bytes(c, district.district_id, name=district.name),
            file_name=f"roster-{district.district_id}-oneroster-1.1.zip",
            mime="application/zip",
            key="hist_oneroster",
            help="The current roster in the format the MGI ingests (OneRoster 1.1 CSV).",
        )
        _undo(district.district_id, versions[0][0])

    st.subheader("Runs")
    ui.table(runs, key="hist_runs")
    with st.expander("Audit log"):
        ui.table(views.audit_table(con, district.district_id), key="hist_audit")

    st.subheader("The roster as of a version")
    labels = {CURRENT: "Current roster", **{v: ui.shown(label) for v, label in versions}}
    cols = st.columns([2, 1, 2])
    version = cols[0].selectbox(
        "Version", list(labels), format_func=labels.__getitem__, key="hist_version"
    )
    names = {e.name: e.label for e in ENTITIES}
    entity = cols[1].selectbox(
        "Records",
        list(names),
        format_func=names.__getitem__,
        index=list(names).index("students"),
        key="hist_entity",
    )
    search = cols[2].text_input("Search by name or id", key="hist_search")
    as_of = None if version == CURRENT else int(version)
    ui.paged_table(
        "hist_roster",
        lambda page, size: views.roster_page(
            con,
            district.district_id,
            entity,
            version=as_of,
            search=search,
            page=page,
            page_size=size,
        ),
        signature=(district.district_id, as_of, entity, search),
        empty="No records." if not search else "No record matches.",
    )


ui.run(render)

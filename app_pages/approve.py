"""Approve: the summary, the guards and their confirmation, what blocks Approve (and why), who
decides (a typed name, or the signed-in approver), Approve and Reject."""

from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from mgi_roster import ui, views
from mgi_roster.roster import merge


def _merged(run: dict) -> None:
    st.success(f"Run {run['run_id']} was merged into the roster.")
    ui.table(
        pd.DataFrame(
            {
                "field": ["Approved by", "Approved at"],
                "value": [run["decided_by"] or "(no name)", str(run["decided_at"] or "")],
            }
        ),
        static=True,
    )
    st.caption("What merged:")
    ui.table(views.change_counts_table(run["changes"] or {}), key="approve_merged")
    ui.link("app_pages/history.py", "See History (and Undo)")


def _approve(con: duckdb.DuckDBPyConnection, run_id: int) -> str:
    confirm = bool(st.session_state.get("approve_confirm_guards"))
    by = ui.acting_reviewer("approve_by")
    result = merge.approve(con, run_id, by=by, confirm_guards=confirm)
    if result.already_merged:
        return f"Run {run_id} was already merged (version {result.version}); nothing changed."
    return f"Merged run {run_id} into the roster as version {result.version}."


def _reject(con: duckdb.DuckDBPyConnection, run_id: int) -> str:
    merge.reject(con, run_id, by=ui.acting_reviewer("approve_by"))
    return f"Rejected run {run_id}; the roster is unchanged."


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("Approve")
    district = ui.selected_district(con)
    run = ui.review_run(con, district, key="run_approve")
    if run is None:
        return
    run_id = int(run["run_id"])
    if run["status"] == "merged":
        _merged(run)
        return
    if run["status"] == "rejected":
        st.info(ui.shown(f"Run {run_id} was rejected: {run['message'] or ''}"))
        ui.link("app_pages/sync.py", "Run a new test sync")
        return

    st.subheader("Summary")
    cols = st.columns(3)
    cols[0].metric("Records staged", f"{sum((run['counts'] or {}).values()):,}")
    cols[1].metric("Errors", run["errors"] or 0)
    cols[2].metric("Warnings", run["warnings"] or 0)
    ui.table(views.change_counts_table(run["changes"] or {}), key="approve_counts")

    confirm = False
    if run["guards"]:
        st.subheader("Guards")
        st.warning(
            "This sync would change more of the roster than the District Parameters allow "
            "without a second look. Review the changes, then confirm."
        )
        ui.table(pd.DataFrame(run["guards"]), key="approve_guards")
        confirm = st.checkbox(
            "I reviewed these changes: approve them although the guards tripped",
            key="approve_confirm_guards",
        )

    st.subheader("Decision")
    refusal = ui.reviewer_field("approve_by", label="Reviewer name", required=True)
    blockers = merge.approval_blockers(con, merge.load_run(con, run_id), confirm_guards=confirm)
    if blockers:
        st.error("Approve is blocked:\n\n" + "\n".join(f"- {reason}" for reason in blockers))
        ui.link("app_pages/validation.py", "See Validation")
    if refusal:
        st.info(refusal)
    left, right = st.columns(2)
    left.button(
        "Approve and merge",
        key="approve_button",
        type="primary",
        disabled=bool(blockers) or refusal is not None,
        help=" ".join([*blockers, refusal or ""]).strip() or None,
        icon=":material/task_alt:",
        on_click=ui.act,
        args=(_approve, run_id),
    )
    right.button(
        "Reject",
        key="reject_button",
        disabled=refusal is not None,
        help=refusal,
        icon=":material/block:",
        on_click=ui.act,
        args=(_reject, run_id),
    )


ui.run(render)

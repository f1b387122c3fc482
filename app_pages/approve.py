"""Approve: the summary, the guards and their confirmation, what blocks Approve (and why), the
reviewer's name, Approve and Reject."""

from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from mgi_roster import merge, ui, views


def _merged(run: dict) -> None:
    st.success(f"Run {run['run_id']} was merged into the roster.")
    st.table(
        pd.DataFrame(
            {
                "field": ["Approved by", "Approved at"],
                "value": [run["decided_by"] or "(no name)", str(run["decided_at"] or "")],
            }
        ),
        hide_index=True,
    )
    st.caption("What merged:")
    st.dataframe(
        views.change_counts_table(run["changes"] or {}), hide_index=True, key="approve_merged"
    )
    ui.link("app_pages/history.py", "See History (and Undo)")


def _reviewer() -> str:
    return str(st.session_state.get("approve_by") or "").strip()


def _approve(con: duckdb.DuckDBPyConnection, run_id: int) -> str:
    confirm = bool(st.session_state.get("approve_confirm_guards"))
    result = merge.approve(con, run_id, by=_reviewer(), confirm_guards=confirm)
    if result.already_merged:
        return f"Run {run_id} was already merged (version {result.version}); nothing changed."
    return f"Merged run {run_id} into the roster as version {result.version}."


def _reject(con: duckdb.DuckDBPyConnection, run_id: int) -> str:
    merge.reject(con, run_id, by=_reviewer())
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
        st.info(f"Run {run_id} was rejected: {run['message'] or ''}")
        ui.link("app_pages/sync.py", "Run a new test sync")
        return

    st.subheader("Summary")
    cols = st.columns(3)
    cols[0].metric("Records staged", f"{sum((run['counts'] or {}).values()):,}")
    cols[1].metric("Errors", run["errors"] or 0)
    cols[2].metric("Warnings", run["warnings"] or 0)
    st.dataframe(
        views.change_counts_table(run["changes"] or {}), hide_index=True, key="approve_counts"
    )

    confirm = False
    if run["guards"]:
        st.subheader("Guards")
        st.warning(
            "This sync would change more of the roster than the District Parameters allow "
            "without a second look. Review the changes, then confirm."
        )
        st.dataframe(pd.DataFrame(run["guards"]), hide_index=True, key="approve_guards")
        confirm = st.checkbox(
            "I reviewed these changes: approve them although the guards tripped",
            key="approve_confirm_guards",
        )

    st.subheader("Decision")
    by = st.text_input(
        "Reviewer name", key="approve_by", max_chars=100, help="Recorded in the audit log."
    )
    blockers = merge.approval_blockers(con, merge.load_run(con, run_id), confirm_guards=confirm)
    if blockers:
        st.error("Approve is blocked:\n\n" + "\n".join(f"- {reason}" for reason in blockers))
        ui.link("app_pages/validation.py", "See Validation")
    elif not by.strip():
        st.info("Enter your name as the reviewer to approve or reject.")
    left, right = st.columns(2)
    left.button(
        "Approve and merge",
        key="approve_button",
        type="primary",
        disabled=bool(blockers) or not by.strip(),
        help=" ".join(blockers) or None,
        icon=":material/task_alt:",
        on_click=ui.act,
        args=(_approve, run_id),
    )
    right.button(
        "Reject",
        key="reject_button",
        disabled=not by.strip(),
        icon=":material/block:",
        on_click=ui.act,
        args=(_reject, run_id),
    )


ui.run(render)

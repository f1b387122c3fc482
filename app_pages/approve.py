"""Approve: the run in plain words (its digest), the summary with the high-impact changes first,
a partial approval (withhold records with errors, chosen records, archives; waived issues) and
what will and will not merge, the guards and their confirmation, what blocks Approve (and why),
who decides (a typed name, or the signed-in approver), Approve and Reject."""

from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from mgi_roster import ui, views
from mgi_roster.review import digest
from mgi_roster.roster import merge, partial
from mgi_roster.ui import selection


def _merged(con: duckdb.DuckDBPyConnection, run: dict) -> None:
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
    withheld = views.withheld_table(con, int(run["run_id"]))
    if not withheld.empty:
        st.caption(f"Withheld ({len(withheld):,} records, left as they were in the roster):")
        ui.table(withheld, key="approve_withheld")
    ui.link("app_pages/history.py", "See History (and Undo)")


def _approve(con: duckdb.DuckDBPyConnection, run_id: int) -> str:
    confirm = bool(st.session_state.get("approve_confirm_guards"))
    by = ui.acting_reviewer("approve_by")
    result = merge.approve(
        con, run_id, by=by, confirm_guards=confirm, selection=selection.chosen(run_id)
    )
    if result.already_merged:
        return f"Run {run_id} was already merged (version {result.version}); nothing changed."
    withheld = sum(result.withheld.values())
    kept = f"; {withheld:,} record(s) withheld, as they were" if withheld else ""
    return f"Merged run {run_id} into the roster as version {result.version}{kept}."


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
        _merged(con, run)
        return
    if run["status"] == "rejected":
        st.info(ui.shown(f"Run {run_id} was rejected: {run['message'] or ''}"))
        ui.link("app_pages/sync.py", "Run a new test sync")
        return

    st.subheader("Summary")
    st.info(f"In short: {digest.of_run(con, run_id).text}")
    cols = st.columns(3)
    cols[0].metric("Records staged", f"{sum((run['counts'] or {}).values()):,}")
    cols[1].metric("Errors", run["errors"] or 0)
    cols[2].metric("Warnings", run["warnings"] or 0)
    high = views.high_impact_table(con, run_id)
    if not high.empty:
        st.caption("High-impact changes (students moving to another test plan):")
        ui.table(high, key="approve_high_impact")
    ui.table(views.change_counts_table(run["changes"] or {}), key="approve_counts")

    plan = _partial(con, run_id)
    guards = [g.to_dict() for g in plan.guards] if plan is not None else run["guards"]

    confirm = False
    if guards:
        st.subheader("Guards")
        st.warning(
            "This sync would change more of the roster than the District Parameters allow "
            "without a second look. Review the changes, then confirm."
        )
        ui.table(pd.DataFrame(guards), key="approve_guards")
        confirm = st.checkbox(
            "I reviewed these changes: approve them although the guards tripped",
            key="approve_confirm_guards",
        )

    st.subheader("Decision")
    refusal = ui.reviewer_field("approve_by", label="Reviewer name", required=True)
    blockers = merge.approval_blockers(
        con, merge.load_run(con, run_id), confirm_guards=confirm, plan=plan
    )
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


def _partial(con: duckdb.DuckDBPyConnection, run_id: int) -> partial.Plan | None:
    """The partial approval: its choices, and what will and will not merge (None: whole)."""
    st.subheader("What to merge")
    left, right = st.columns(2)
    left.checkbox(
        "Withhold every record with an error (and what depends on it)",
        key=selection.EXCLUDE_ERRORS,
        help="They stay as they are in the roster; the clean records merge.",
    )
    right.checkbox(
        "Archive nothing",
        key=selection.NO_ARCHIVE,
        help="Records missing from this sync stay current in the roster.",
    )
    chosen = selection.chosen(run_id)
    if chosen.exclude or chosen.waivers:
        said = []
        if chosen.exclude:
            said.append(f"{len(chosen.exclude)} record(s) chosen to withhold")
        if chosen.waivers:
            said.append(
                f"{len(chosen.waivers)} issue(s) waived ("
                + "; ".join(f"{w.label()}: {w.reason}" for w in chosen.waivers)
                + ")"
            )
        st.caption("Chosen on Validation and Changes: " + ", ".join(said) + ".")
        st.button(
            "Clear these choices",
            key="approve_clear",
            on_click=ui.act,
            args=(lambda _con: selection.clear(run_id),),
        )
    if not chosen.partial:
        st.caption("The whole run merges.")
        return None
    plan = partial.plan(con, merge.load_run(con, run_id), chosen)
    st.info(plan.summary())
    ui.table(views.plan_merged_table(plan), key="approve_plan_merged")
    if plan.withheld:
        with st.expander(f"Withheld: {len(plan.withheld):,} record(s), and why"):
            ui.table(views.plan_withheld_table(plan), key="approve_plan_withheld")
    return plan


ui.run(render)

"""Validation: every problem of a run as a table (filter, search, page, download), and the
counts by check as a chart. Errors block Approve, unless their records are withheld or the issue
is waived with a reason: select rows of the table to do either. Warnings inform."""

from __future__ import annotations

import altair as alt
import duckdb
import pandas as pd
import streamlit as st

from mgi_roster import ui, views
from mgi_roster.review import validation
from mgi_roster.roster import exports
from mgi_roster.ui import charts, selection


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("Validation")
    district = ui.selected_district(con)
    run = ui.review_run(con, district, key="run_validation")
    if run is None:
        return
    run_id = int(run["run_id"])
    totals = views.issue_totals(con, run_id)
    left, right = st.columns(2)
    left.metric("Errors", totals["error"], help="Errors block Approve.")
    right.metric("Warnings", totals["warning"], help="Warnings inform; they do not block.")
    if totals["error"]:
        st.error(
            f"{totals['error']:,} errors block Approve. Fix them in the SIS (each message says "
            "what to fix), let the district sync Clever, then run a new test sync; or approve "
            "this run without those records (Approve: withhold every record with an error), or "
            "select issues below to withhold their records or waive them with a reason."
        )
    elif totals["warning"]:
        st.success("No errors: this run can be approved. Review the warnings below.")
    else:
        st.success("No errors and no warnings.")

    by_check = views.issues_by_check(con, run_id)
    if not by_check.empty:
        charts.bar_chart(
            by_check,
            x=charts.count_axis("sum(issues):Q", "issues"),
            y=alt.Y("check:N", sort="-x", title=None),
            color=charts.SEVERITY_COLOR,
            title="Issues by check",
            key="val_chart",
        )

    options = views.issue_options(con, run_id)
    schools = dict(options.schools)
    cols = st.columns(4)
    entities = cols[0].multiselect("Entity", options.entities, key="val_entity")
    severities = cols[1].multiselect("Severity", ("error", "warning"), key="val_severity")
    checks = cols[2].multiselect("Check", options.checks, key="val_check")
    chosen_schools = cols[3].multiselect(
        "School", list(schools), format_func=lambda s: schools.get(s, s), key="val_school"
    )
    search = st.text_input(
        "Search by name, SIS id or Clever id", key="val_search", placeholder="e.g. Garcia or 1042"
    )
    filters = views.IssueFilter(
        tuple(entities), tuple(severities), tuple(checks), tuple(chosen_schools), search
    )
    shown_rows = ui.paged_table(
        "val_issues",
        lambda page, size: views.issues_page(con, run_id, filters, page, size),
        signature=(run_id, filters),
        column_config={"params": None},  # the data its message is rendered from
        empty="No issue matches these filters." if filters != views.IssueFilter() else "No issues.",
        selectable=run["status"] in ("staged", "held"),
    )
    chosen = selection.selected(shown_rows.frame, "val_issues_table")
    if not chosen.empty:
        records, issues = selection.picked_issues(chosen)
        cols = st.columns([2, 3, 2])
        cols[0].button(
            f"Withhold these {len(records)} record(s)",
            key="val_withhold",
            disabled=not records,
            help="Approve leaves them as they are in the roster.",
            on_click=ui.act,
            args=(lambda _con, ids: selection.withhold(run_id, ids), records),
        )
        reason = cols[1].text_input(
            "Why approve despite these issues?",
            key="val_waive_reason",
            placeholder="e.g. birth date confirmed with the family",
        )
        cols[2].button(
            f"Waive these {len(issues)} issue(s)",
            key="val_waive",
            disabled=not reason.strip(),
            help="The reason and your name go into the audit when the run is approved.",
            on_click=ui.act,
            args=(
                lambda _con, found: selection.waive(
                    run_id, found, str(st.session_state.get("val_waive_reason") or "")
                ),
                issues,
            ),
        )
    ui.download_csv(
        "Download all issues (CSV)",
        lambda c: exports.rows(c, run_id, "issues"),
        key="val_download",
        file_name=f"mgi-issues-run-{run_id}.csv",
    )

    with st.expander("What each check means"):
        ui.table(
            pd.DataFrame(
                [
                    {
                        "check": c.name,
                        "entity": c.entity,
                        "severity": c.severity,
                        "description": c.description,
                    }
                    for c in validation.CHECKS
                ]
            ),
            key="val_checks",
        )

    st.divider()
    ui.link("app_pages/changes.py", "Next: Changes")


ui.run(render)

"""Test Sync: pull the district's roster into staging (never into the roster), with progress per
entity; then validation and the diff run, and the result says what comes next."""

from __future__ import annotations

from typing import Any

import duckdb
import streamlit as st

from mgi_roster import demo, districts, parameters, store, sync, ui, views
from mgi_roster.districts import District
from mgi_roster.errors import RosterError
from mgi_roster.kinds import ProviderKind
from mgi_roster.sources import provider as providers


def _demo_controls(district: District) -> None:
    day = district.demo_day or 1
    st.caption(
        f"Demo district: its SIS is on day {day} of {demo.DEMO_DAYS}. Day 1 is a clean baseline; "
        "day 2 brings changes and data problems; day 3 has the problems fixed."
    )
    st.button(
        "Advance the demo SIS to the next day",
        key="demo_advance",
        disabled=day >= demo.DEMO_DAYS,
        icon=":material/skip_next:",
        on_click=ui.act,
        args=(_advance, district.district_id),
    )


def _advance(con: duckdb.DuckDBPyConnection, district_id: str) -> str:
    day = districts.advance_demo_day(con, district_id)
    return f"The demo SIS is now on day {day}. Run a test sync to see it."


def _run(district: District, package: bytes | None = None, *, full: bool = False) -> None:
    with st.status("Running the test sync…", expanded=True) as status:
        bar = st.progress(0.0, text="Looking up the district's token…")
        lines: dict[str, Any] = {}

        def progress(p: sync.Progress) -> None:
            share = (p.step - (0 if p.done else 1)) / p.steps
            bar.progress(min(share, 1.0), text=f"{p.label} ({p.step} of {p.steps})")
            if p.entity not in lines:
                lines[p.entity] = st.empty()  # one line per entity, rewritten after every page
            mark = "✓" if p.done else "…"
            pages = f"{p.pages:,} page" + ("s" if p.pages != 1 else "")
            lines[p.entity].text(f"{mark} {p.label}: {p.records:,} records in {pages}")

        try:
            # The page's connection is released for the sync's length: the sync takes the
            # store for moments only, so the scheduler and the command line can work meanwhile.
            file = (
                providers.keep_upload(store.db_path(), district.district_id, package)
                if package is not None
                else None
            )
            result = sync.run_sync(
                ui.store_for_long_work(),
                district.district_id,
                progress=progress,
                file=file,
                full=full,
            )
        except RosterError as exc:  # refused before a run existed
            status.update(label="Test sync refused", state="error")
            ui.show_error(exc)
            return
        ok = result.ok
        status.update(
            label=f"Run {result.run_id}: {result.status}",
            state="complete" if ok else "error",
            expanded=False,
        )
    st.session_state["run_id"] = result.run_id


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("Test Sync")
    district = ui.selected_district(con)
    if parameters.load(con, district.district_id) is None:
        ui.needs(
            "app_pages/parameters.py",
            "District Parameters",
            "Save the District Parameters first: a sync is refused until they are (they decide "
            "what valid data means).",
        )
        return
    if district.verified_at is None:
        st.info("Test Connection has not succeeded for this district yet; it is the step before.")
        ui.link("app_pages/connection.py", "Connection")
    if district.is_demo:
        _demo_controls(district)

    st.write(
        f"A test sync reads the roster from {district.provider.label} into staging, "
        "validates it and compares it with the roster the MGI holds. Nothing reaches the roster "
        "until you approve."
    )
    package = None
    full = False
    if district.provider is ProviderKind.ONEROSTER_CSV:
        upload = st.file_uploader("OneRoster CSV package (ZIP)", type=["zip"], key="sync_upload")
        package = upload.getvalue() if upload is not None else None
    elif district.provider is ProviderKind.CLEVER:
        st.caption(
            "After a merge, a sync reads only Clever's events since then; it pulls every record "
            "on the first sync, weekly, when Clever's events cannot serve, or when asked to."
        )
        full = st.checkbox(
            "Full sync: pull every record", key="sync_full", help="Instead of Clever's events."
        )
    waiting = district.provider is ProviderKind.ONEROSTER_CSV and package is None
    if st.button(
        "Run test sync", key="sync_run", type="primary", icon=":material/sync:", disabled=waiting
    ):
        _run(district, package, full=full)
    with ui.db() as again:  # the sync released the page's connection: this takes it again
        _result(again, district)


def _result(con: duckdb.DuckDBPyConnection, district: District) -> None:
    run = ui.current_run(con, district)
    if run is None:
        return
    st.subheader(f"Run {run['run_id']}")
    status, message = run["status"], ui.shown(run["message"] or "")
    if status == "failed":
        st.error(f"The sync failed: {message}")
        return
    if status == "fetching":
        st.info("This run is still fetching.")
        return
    if status == "staged" and not run["errors"]:
        st.success(message)
    elif status in ("staged", "held"):
        st.warning(message)
    else:
        st.info(f"This run is {status}. {message}")
    cols = st.columns(4)
    cols[0].metric("Records staged", f"{sum((run['counts'] or {}).values()):,}")
    cols[1].metric("Errors", run["errors"] or 0)
    cols[2].metric("Warnings", run["warnings"] or 0)
    cols[3].metric("Mode", views.mode_label(run) or "full")
    ui.table(views.counts_table(run["counts"] or {}), key="sync_counts")
    left, mid, right = st.columns(3)
    with left:
        ui.link("app_pages/validation.py", "Next: Validation")
    with mid:
        ui.link("app_pages/changes.py", "Changes")
    with right:
        ui.link("app_pages/approve.py", "Approve")


ui.run(render)

"""Schedule: automatic sync. When it runs, when it pauses (the summer rollover), and whether it
merges on its own (only a clean run, never one with errors or tripped guards)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import available_timezones

import duckdb
import pandas as pd
import streamlit as st

from mgi_roster import schedule, store, ui
from mgi_roster.schedule import KINDS, Schedule

KIND_LABELS = {
    "off": "Off",
    "daily": "Every day",
    "weekdays": "Monday to Friday",
    "hourly": "Every few hours",
}
POLICY_LABELS = {
    "auto": "Merge on its own when the run is clean (no errors, no guard tripped)",
    "review": "Never merge on its own: always wait for a reviewer",
}


def _pauses(text: str) -> list[tuple[str, str]]:
    """One window a line, START..END (a single date pauses one day)."""
    return [schedule.parse_pause(line) for line in text.splitlines() if line.strip()]


def _edited(current: Schedule) -> Schedule:
    """The schedule as the widgets hold it (widgets not shown keep the saved values)."""
    get = st.session_state.get
    return Schedule.from_dict(
        {
            "kind": get("sched_kind", current.kind),
            "at": str(get("sched_at", current.at)).strip(),
            "every_hours": int(get("sched_every", current.every_hours)),
            "tz": get("sched_tz", current.tz),
            "pauses": _pauses(get("sched_pauses", "")),
            "policy": get("sched_policy", current.policy),
        }
    )


def _save(con: duckdb.DuckDBPyConnection, district_id: str) -> str:
    saved = _edited(schedule.load(con, district_id))
    schedule.save(con, district_id, saved, now=datetime.now(UTC))
    return f"Saved the schedule. {saved.describe()}"


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("Schedule")
    district = ui.selected_district(con)
    current = schedule.load(con, district.district_id)
    st.info(current.describe())
    upcoming = schedule.next_due(current, datetime.now(UTC))
    if upcoming is not None:
        st.caption(f"Next sync: {upcoming:%Y-%m-%d %H:%M %Z}.")

    st.subheader("When")
    kind = st.selectbox(
        "Automatic sync",
        KINDS,
        index=KINDS.index(current.kind),
        format_func=KIND_LABELS.__getitem__,
        key="sched_kind",
    )
    left, right = st.columns(2)
    if kind in ("daily", "weekdays"):
        left.text_input("At (HH:MM, 24-hour clock)", value=current.at, key="sched_at")
    if kind == "hourly":
        left.number_input(
            "Every how many hours",
            min_value=1,
            max_value=24,
            value=current.every_hours,
            step=1,
            key="sched_every",
        )
    zones = sorted(available_timezones())
    right.selectbox(
        "Time zone",
        zones,
        index=zones.index(current.tz) if current.tz in zones else zones.index("UTC"),
        key="sched_tz",
    )
    st.text_area(
        "Pause windows (one a line: YYYY-MM-DD..YYYY-MM-DD)",
        value="\n".join(schedule.format_pause(p) for p in current.pauses),
        key="sched_pauses",
        help="No automatic sync on these days, e.g. over the summer rollover.",
    )
    st.subheader("What to do with the result")
    st.radio(
        "Merge policy",
        list(POLICY_LABELS),
        index=list(POLICY_LABELS).index(current.policy),
        format_func=POLICY_LABELS.__getitem__,
        key="sched_policy",
    )
    edited = ui.checked(lambda: _edited(current))
    st.button(
        "Save schedule",
        key="sched_save",
        type="primary",
        disabled=edited is None,
        icon=":material/save:",
        on_click=ui.act,
        args=(_save, district.district_id),
    )

    st.subheader("Scheduled runs")
    recent = schedule.recent_runs(con, district.district_id)
    if recent:
        ui.table(pd.DataFrame(recent), key="sched_runs")
    else:
        st.caption("No scheduled run yet.")

    st.subheader("Running the scheduler")
    st.caption(
        "Schedules run in the scheduler process, not in the dashboard: start it as a service, "
        "or from cron every few minutes with --once."
    )
    lines = schedule.service_lines(sys.executable, str(Path.cwd()), str(store.db_path()))
    st.code(lines["cron"], language="sh")
    with st.expander("systemd unit"):
        st.code(lines["systemd"], language="ini")


ui.run(render)

"""Schedule: automatic sync with the MGI's rules (help.mhs.com/?p=6098). Days Sunday to Friday,
a start time between 20:00 and 05:00 UTC (shown in the browser's zone too), valid until at most
60 days after the first sync; pause windows; whether it merges on its own; who hears about it."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pandas as pd
import streamlit as st

from mgi_roster import notify, schedule, store, ui
from mgi_roster.schedule import ALLOWED_DAYS, DAY_NAMES, Schedule
from mgi_roster.settings import NotifySettings

POLICY_LABELS = {
    "auto": "Merge on its own when the run is clean (no errors, no guard tripped)",
    "review": "Never merge on its own: always wait for a reviewer",
}


def _zone() -> ZoneInfo:
    """The browser's time zone (st.context.timezone), else UTC."""
    try:
        return ZoneInfo(getattr(st.context, "timezone", None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _pauses(text: str) -> list[tuple[str, str]]:
    """One window a line, START..END (a single date pauses one day)."""
    return [schedule.parse_pause(line) for line in text.splitlines() if line.strip()]


def _edited(current: Schedule) -> Schedule:
    """The schedule as the widgets hold it."""
    get = st.session_state.get
    until = get("sched_until", current.until)
    return Schedule.from_dict(
        {
            "days": tuple(get("sched_days", current.days)),
            "at": str(get("sched_at", current.at)).strip(),
            "until": until.isoformat() if isinstance(until, date) else None,
            "pauses": _pauses(get("sched_pauses", "")),
            "policy": get("sched_policy", current.policy),
        }
    )


def _save(con: duckdb.DuckDBPyConnection, district_id: str) -> str:
    saved = _edited(schedule.load(con, district_id))
    schedule.save(con, district_id, saved, now=datetime.now(UTC))
    schedule.save_contacts(con, district_id, [st.session_state.get("sched_contacts", "")])
    return f"Saved the schedule. {saved.describe()}"


def _test_email(con: duckdb.DuckDBPyConnection, district_id: str) -> str:
    return notify.send_test(con, district_id, NotifySettings.from_env())


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("Schedule")
    district = ui.selected_district(con)
    found = schedule.status(con, district.district_id, datetime.now(UTC))
    current, zone = found.schedule, _zone()
    st.info(current.describe())
    if not found.valid:
        st.error(f"This schedule does not run: {found.reason}")
    left, right = st.columns(2)
    left.metric("Valid until", str(current.until or "—"))
    last = found.facts.last_successful_sync
    right.metric("Last successful sync", f"{last:%Y-%m-%d %H:%M} UTC" if last else "none")
    if found.next_run is not None:
        st.caption(
            f"Next sync: {found.next_run:%Y-%m-%d %H:%M} UTC "
            f"({found.next_run.astimezone(zone):%Y-%m-%d %H:%M} {zone.key})."
        )

    st.subheader("When (the MGI's rules)")
    st.multiselect(
        "Days (Sunday to Friday)",
        ALLOWED_DAYS,
        default=[d for d in current.days if d in ALLOWED_DAYS],
        format_func=DAY_NAMES.__getitem__,
        key="sched_days",
    )
    at = st.text_input(
        "Start time, UTC (HH:MM, between 20:00 and 05:00)", value=current.at, key="sched_at"
    )
    shown = ui.checked(lambda: schedule.in_local_zone(at, zone))
    if shown:
        st.caption(f"That is {shown} in your time zone ({zone.key}).")
    latest = found.facts.latest_until
    st.date_input(
        "Valid until (at most 60 days after the district's first sync)",
        value=current.until or latest,
        max_value=latest,
        key="sched_until",
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
    st.subheader("Who hears about it")
    st.text_area(
        "Contacts (email addresses, one a line)",
        value="\n".join(schedule.contacts(con, district.district_id)),
        key="sched_contacts",
        help="Told when a scheduled sync is held, fails or merges, and a week before the "
        "schedule expires.",
    )
    edited = ui.checked(lambda: _edited(current))
    save, test = st.columns(2)
    save.button(
        "Save schedule",
        key="sched_save",
        type="primary",
        disabled=edited is None,
        icon=":material/save:",
        on_click=ui.act,
        args=(_save, district.district_id),
    )
    test.button(
        "Send test email",
        key="sched_test_email",
        icon=":material/mail:",
        on_click=ui.act,
        args=(_test_email, district.district_id),
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

"""Session state: every key the app uses, initialised in one place; the notice an action leaves
for the next run; the district and the run the session works on.

Session state holds small values only; durable work lives in DuckDB.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import streamlit as st

from mgi_roster import districts
from mgi_roster.roster import history

if TYPE_CHECKING:
    import duckdb

    from mgi_roster.districts import District

STATE_DEFAULTS: dict[str, Any] = {
    "district_id": None,  # the selected district
    "run_id": None,  # the run the review pages show (None: the district's latest)
    "notice": None,  # (kind, text): what an action said, shown once at the top of the page
    "presenting": False,  # presentation mode (the sidebar toggle's key): personal values masked
    "approve_partial": None,  # records to withhold and issues to waive (ui/selection.py)
}
# Widget keys (by prefix) that belong to one district: forgotten when the district changes, so a
# page shows the new district's values instead of the old one's.
PER_DISTRICT_PREFIXES = (
    "param_",
    "conn_",
    "val_",
    "chg_",
    "approve_",
    "hist_",
    "undo_",
    "run_",
    "sched_",
)


def init_state() -> None:
    """Every session key the app uses, initialised in one place."""
    for key, value in STATE_DEFAULTS.items():
        st.session_state.setdefault(key, value)
    # The key of presentation mode's masks: the session's own, so a token cannot be looked up
    # in a list of names or birth dates made elsewhere.
    st.session_state.setdefault("mask_key", os.urandom(16))


def notify(kind: str, text: str) -> None:
    """Say something once, on the page's next run (an action's callback runs before it)."""
    st.session_state["notice"] = (kind, text)


def show_notice() -> None:
    """The notice an action left, shown once."""
    notice = st.session_state.get("notice")
    if not notice:
        return
    st.session_state["notice"] = None
    kind, text = notice
    {"success": st.success, "warning": st.warning, "error": st.error}.get(kind, st.info)(text)


def selected_district(con: duckdb.DuckDBPyConnection) -> District:
    """The district the session works on (the demo district until another is chosen)."""
    found = districts.all_districts(con)
    if not any(d.is_demo for d in found):
        districts.ensure_demo(con)
        found = districts.all_districts(con)
    chosen = st.session_state.get("district_id")
    district = next((d for d in found if d.district_id == chosen), found[0])
    st.session_state["district_id"] = district.district_id
    return district


def select_district(district_id: str) -> None:
    """Make a district the selected one (from an action; the pickers follow on the rerun)."""
    if st.session_state.get("district_id") != district_id:
        st.session_state["district_id"] = district_id
        _forget_district_widgets()


def _forget_district_widgets() -> None:
    st.session_state["run_id"] = None
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(PER_DISTRICT_PREFIXES):
            del st.session_state[key]


def current_run(con: duckdb.DuckDBPyConnection, district: District) -> dict[str, Any] | None:
    """The run the review pages show: the one chosen in this session, else the latest."""
    run_id = st.session_state.get("run_id")
    if run_id is not None:
        found = history.run(con, int(run_id))
        if found and found["district_id"] == district.district_id:
            return found
    latest = history.latest_run(con, district.district_id)
    st.session_state["run_id"] = latest["run_id"] if latest else None
    return latest

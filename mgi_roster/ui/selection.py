"""A partial approval chosen across pages: records to withhold and issues to waive, picked from
the Validation and Changes tables, approved (or not) on the Approve page.

The session keeps only the small choice (a run id, record ids, waived checks with their reason)
under one key; the plan it makes, and everything it means, is roster/partial.py's. The key
starts with "approve_", so it is forgotten when the district changes (state.py), and a choice
made for another run is ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from mgi_roster.errors import InputError
from mgi_roster.roster.partial import Selection, Waiver

if TYPE_CHECKING:
    import pandas as pd

KEY = "approve_partial"  # {"run_id": int, "exclude": [ids], "waivers": [[check, record, reason]]}
EXCLUDE_ERRORS = "approve_exclude_errors"  # the Approve page's checkboxes
NO_ARCHIVE = "approve_no_archive"


def _choice(run_id: int) -> dict[str, Any]:
    found = st.session_state.get(KEY)
    if not found or found.get("run_id") != run_id:
        found = {"run_id": run_id, "exclude": [], "waivers": []}
    return dict(found)


def chosen(run_id: int) -> Selection:
    """The partial approval this session chose for the run (checkboxes included)."""
    found = _choice(run_id)
    return Selection(
        exclude_errors=bool(st.session_state.get(EXCLUDE_ERRORS)),
        exclude=tuple(found["exclude"]),
        no_archive=bool(st.session_state.get(NO_ARCHIVE)),
        waivers=tuple(Waiver(c, r, why) for c, r, why in found["waivers"]),
    )


def selected(frame: pd.DataFrame, table_key: str) -> pd.DataFrame:
    """The rows of `frame` selected in the st.dataframe of key `table_key`."""
    state = st.session_state.get(table_key)
    rows = list(getattr(getattr(state, "selection", None), "rows", None) or [])
    if not rows and isinstance(state, dict):
        rows = list(state.get("selection", {}).get("rows", []))
    return frame.iloc[[r for r in rows if 0 <= r < len(frame)]]


def picked_issues(frame: pd.DataFrame) -> tuple[list[str], list[tuple[str, str | None]]]:
    """Selected issue rows: their records (to withhold) and their (check, record) (to waive)."""
    records = [str(r) for r in dict.fromkeys(frame["record_id"]) if r]
    issues = [
        (str(c), str(r) if r else None)
        for c, r in dict.fromkeys(zip(frame["check"], frame["record_id"], strict=True))
    ]
    return records, issues


def withhold(run_id: int, record_ids: list[str]) -> str:
    found = _choice(run_id)
    found["exclude"] = list(dict.fromkeys([*found["exclude"], *record_ids]))
    st.session_state[KEY] = found
    return (
        f"{len(record_ids)} record(s) will be withheld when run {run_id} is approved (see Approve)."
    )


def waive(run_id: int, issues: list[tuple[str, str | None]], reason: str) -> str:
    """Waive these (check, record) issues, for `reason`."""
    if not reason.strip():
        raise InputError("Say why these issues are waived: the audit records the reason.")
    found = _choice(run_id)
    known = {(c, r) for c, r, _ in found["waivers"]}
    found["waivers"] = found["waivers"] + [
        [c, r, reason.strip()] for c, r in dict.fromkeys(issues) if (c, r) not in known
    ]
    st.session_state[KEY] = found
    return f"{len(issues)} issue(s) waived for run {run_id} (see Approve)."


def clear(run_id: int) -> str:
    st.session_state[KEY] = {"run_id": run_id, "exclude": [], "waivers": []}
    return "The records chosen to withhold and the waivers were cleared."

"""The sidebar around every page: the district picker and the presentation toggle before the
page runs, the latest run's status, the database and who is signed in after it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from mgi_roster import store
from mgi_roster.errors import RosterError
from mgi_roster.roster import history
from mgi_roster.ui.guard import db, show_error
from mgi_roster.ui.presentation import PRESENTING_HELP, shown
from mgi_roster.ui.signin import identity, policy, sign_out
from mgi_roster.ui.state import selected_district
from mgi_roster.ui.widgets import district_switcher


def sidebar() -> None:
    """The district (a button that opens its picker) and the presentation toggle, in the
    sidebar before the page runs (the page works on the district, and masks what it shows while
    presenting)."""
    with st.sidebar:
        try:
            with db() as con:
                district_switcher(con, key="sidebar_district", label="District", width="stretch")
        except RosterError as exc:
            show_error(exc)
        st.toggle("Presentation mode", key="presenting", help=PRESENTING_HELP)


def sidebar_status() -> None:
    """The latest run's status, the database and who is signed in, written after the page ran,
    so a sync or a merge the page just did is already counted."""
    with st.sidebar:
        try:
            with db() as con:
                latest = history.latest_run(con, selected_district(con).district_id)
            st.caption(shown(status_line(latest)))
        except RosterError as exc:
            show_error(exc)
        st.caption(f"Database: `{store.db_path()}`")
        rules = policy()
        st.caption(shown(rules.note(identity())))
        if not rules.is_open:
            st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=sign_out)


def status_line(latest: dict[str, Any] | None) -> str:
    if latest is None:
        return "Status: no sync yet."
    text = f"Status: run {latest['run_id']} is {latest['status']}"
    if latest["status"] in ("staged", "held", "merged", "rejected"):
        text += f" ({latest['errors'] or 0} errors, {latest['warnings'] or 0} warnings)"
    return text + "."

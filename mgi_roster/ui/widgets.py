"""Widgets the pages share: links to other steps, the district and run pickers, and the guard of
a review page (which run it reviews, or what comes first)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import streamlit as st

from mgi_roster import districts
from mgi_roster.ui.state import current_run, select_district, selected_district

if TYPE_CHECKING:
    import duckdb

    from mgi_roster.districts import District


# What Streamlit would read as syntax in a label: Markdown (links and images included), emoji
# shortcodes, Material icons (:material/...:) and colours (:red[...]).
_LABEL_SYNTAX = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def plain(text: str) -> str:
    """Text for a button or popover label, shown as itself: Streamlit renders labels as Markdown,
    and a district's name is whatever its adder typed, or Clever's."""
    return _LABEL_SYNTAX.sub(r"\\\1", text)


def link(page: str, label: str) -> None:
    """A link to another page (its file, app_pages/x.py, as registered in app.py)."""
    st.page_link(page, label=label, icon=":material/arrow_forward:")


def needs(page: str, title: str, message: str) -> None:
    """A prerequisite is missing: say which step comes first, and link to it."""
    st.warning(message)
    link(page, title)


def _picked(widget_key: str, state_key: str) -> None:
    value = st.session_state[widget_key]
    if state_key == "district_id":
        select_district(value)
    else:
        st.session_state[state_key] = value


def bound_select(
    label: str,
    options: Sequence[Any],
    *,
    state_key: str,
    key: str,
    labels: dict[Any, str],
    help: str | None = None,
) -> Any:
    """A selectbox showing, and setting, a session value that outlives it (the selected district,
    the current run). Several pages may show one; each keeps its own widget key."""
    current = st.session_state.get(state_key)
    if current in options and st.session_state.get(key) != current:
        st.session_state[key] = current  # before the widget exists in this run: allowed
    return st.selectbox(
        label,
        options,
        key=key,
        format_func=lambda value: labels.get(value, str(value)),
        on_change=_picked,
        args=(key, state_key),
        help=help,
    )


def district_picker(con: duckdb.DuckDBPyConnection, *, key: str, label: str) -> None:
    found = districts.all_districts(con)
    bound_select(
        label,
        [d.district_id for d in found],
        state_key="district_id",
        key=key,
        labels={d.district_id: d.label for d in found},
    )


def district_switcher(
    con: duckdb.DuckDBPyConnection,
    *,
    key: str,
    label: str,
    width: Literal["content", "stretch"] = "content",
) -> None:
    """The selected district, named on a button that opens its picker. A popover draws its
    content when it opens: the picker's browser code, the heaviest of the first page's, is
    loaded then rather than with every first visit (benchmarks/RESULTS.md, "First render")."""
    district = selected_district(con)
    with st.popover(plain(district.name), icon=":material/domain:", width=width):
        district_picker(con, key=key, label=label)


def run_picker(con: duckdb.DuckDBPyConnection, district: District, *, key: str) -> None:
    # views brings pandas: imported by the review pages, not by the first page.
    from mgi_roster import views

    choices = views.run_choices(con, district.district_id)
    bound_select(
        "Run",
        [run_id for run_id, _ in choices],
        state_key="run_id",
        key=key,
        labels=dict(choices),
        help="The run this page reviews. A new test sync becomes the current run.",
    )


def review_run(
    con: duckdb.DuckDBPyConnection, district: District, *, key: str
) -> dict[str, Any] | None:
    """The run a review page works on, with its picker; None (after saying what comes first)
    when there is no run, or the run failed."""
    run = current_run(con, district)
    if run is None:
        needs(
            "app_pages/sync.py",
            "Test Sync",
            "There is no sync of this district yet: run a test sync first.",
        )
        return None
    run_picker(con, district, key=key)  # a choice made there was applied before this run
    if run["status"] == "failed":
        st.error(f"Run {run['run_id']} failed: {run['message']}")
        needs("app_pages/sync.py", "Test Sync", "Fix the cause, then run the test sync again.")
        return None
    if run["status"] == "fetching":
        st.info(f"Run {run['run_id']} is still fetching. Reload this page in a moment.")
        return None
    return run

"""Streamlit helpers shared by the pages: the database per script run, session state, sign-in
and who may act, presentation mode, the sidebar, the page guard, tables, pagers, downloads and
charts. The only module of the package that imports Streamlit, and the only place that reads
`st.secrets` and `st.user` (the decisions on them are mgi_roster.access, pure).

The database is opened per script run and closed at its end (`run`), not held in an
`st.cache_resource` connection for the app's life as STYLE.md point 10 suggests: DuckDB lets one
process write a file at a time, and the command line and the scheduler must be able to sync and
merge while a dashboard is open. Opening the file costs milliseconds; holding it would lock
them out for as long as anyone has the dashboard open.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import altair as alt
import duckdb
import pandas as pd
import streamlit as st

from mgi_roster import districts, store, views
from mgi_roster.access import OPEN_NOTE, AccessDenied, AccessPolicy, Identity
from mgi_roster.districts import District
from mgi_roster.errors import ConfigError, RosterError
from mgi_roster.masking import Masker
from mgi_roster.parameters import Parameters
from mgi_roster.roster import exports, history

log = logging.getLogger(__name__)
T = TypeVar("T")

# Session state holds small values only; durable work lives in DuckDB.
STATE_DEFAULTS: dict[str, Any] = {
    "district_id": None,  # the selected district
    "run_id": None,  # the run the review pages show (None: the district's latest)
    "notice": None,  # (kind, text): what an action said, shown once at the top of the page
    "presenting": False,  # presentation mode (the sidebar toggle's key): personal values masked
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
PAGE_SIZES = (25, 50, 100, 250)
SIGN_IN_NOTE = OPEN_NOTE
PRESENTING_HELP = (
    "For sharing your screen with a district: names, dates of birth, gender, race, ethnicity, "
    "ELL status, emails and usernames are masked on every page and in CSV downloads."
)

# --- state and navigation -------------------------------------------------------------------


def init_state() -> None:
    """Every session key the app uses, initialised in one place."""
    for key, value in STATE_DEFAULTS.items():
        st.session_state.setdefault(key, value)
    # The key of presentation mode's masks: the session's own, so a token cannot be looked up
    # in a list of names or birth dates made elsewhere.
    st.session_state.setdefault("mask_key", os.urandom(16))


def link(page: str, label: str) -> None:
    """A link to another page (its file, app_pages/x.py, as registered in app.py)."""
    st.page_link(page, label=label, icon=":material/arrow_forward:")


def notify(kind: str, text: str) -> None:
    """Say something once, on the page's next run (an action's callback runs before it)."""
    st.session_state["notice"] = (kind, text)


def _show_notice() -> None:
    notice = st.session_state.get("notice")
    if not notice:
        return
    st.session_state["notice"] = None
    kind, text = notice
    {"success": st.success, "warning": st.warning, "error": st.error}.get(kind, st.info)(text)


# --- the database and the page guard --------------------------------------------------------


@contextmanager
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    """The database for one script run (or one action), closed afterwards."""
    with store.opened(store.db_path()) as con:
        yield con


def show_error(exc: RosterError) -> None:
    st.error(f"{exc.title}: {exc.message}")


def checked(build: Callable[[], T]) -> T | None:
    """What a form's widgets make (parameters, a schedule), or None after showing why not."""
    try:
        return build()
    except RosterError as exc:
        show_error(exc)
        return None


def run(render: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
    """Run a page: open the database, show a pending notice, render, and turn any failure into a
    short message instead of a traceback. Streamlit's own st.rerun / st.stop pass through (they
    are BaseExceptions, not Exceptions)."""
    try:
        with db() as con:
            _show_notice()
            render(con)
    except RosterError as exc:
        show_error(exc)
    except Exception as exc:  # the page's last line of defence: never a traceback
        log.exception("page failed")
        st.error(unexpected(exc))


def act(work: Callable[..., str | None], *args: Any) -> None:
    """Do what a button asks, as its on_click callback: before the script reruns, so the whole
    page (and the sidebar) then shows the new state. The work gets its own connection and
    returns what to tell the user; failures become a message the same way as on pages."""
    try:
        with db() as con:
            said = work(con, *args)
    except RosterError as exc:
        notify("error", f"{exc.title}: {exc.message}")
    except Exception as exc:
        log.exception("action failed")
        notify("error", unexpected(exc))
    else:
        if said:
            notify("success", said)


def unexpected(exc: Exception) -> str:
    return (
        f"Something unexpected went wrong ({type(exc).__name__}). Reload the page; if it "
        "happens again, the details are in the server's log."
    )


def sidebar() -> None:
    """The district picker and the presentation toggle, in the sidebar before the page runs
    (the page works on the district, and masks what it shows while presenting)."""
    with st.sidebar:
        try:
            with db() as con:
                selected_district(con)
                district_picker(con, key="sidebar_district", label="District")
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
            st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=_sign_out)


def status_line(latest: dict[str, Any] | None) -> str:
    if latest is None:
        return "Status: no sync yet."
    text = f"Status: run {latest['run_id']} is {latest['status']}"
    if latest["status"] in ("staged", "held", "merged", "rejected"):
        text += f" ({latest['errors'] or 0} errors, {latest['warnings'] or 0} warnings)"
    return text + "."


# --- sign-in and who may act ----------------------------------------------------------------


def _secrets() -> dict[str, Any]:
    """The secrets as a plain dict; {} without a secrets file. A file that is there but does not
    parse raises: sign-in may be configured in it, so the dashboard must not run open."""
    try:
        return st.secrets.to_dict()
    except FileNotFoundError:  # StreamlitSecretNotFoundError: none, or one that does not parse
        files = [Path(f).expanduser() for f in st.get_option("secrets.files")]
        broken = [str(f) for f in files if f.is_file()]
        if broken:
            raise ConfigError(
                f"The secrets file {broken[0]} could not be read; fix it (the dashboard stays "
                "closed while it may hold the sign-in settings)."
            ) from None
        return {}


def policy() -> AccessPolicy:
    """Who may see the dashboard and who may approve, from .streamlit/secrets.toml."""
    try:
        return AccessPolicy.from_secrets(_secrets())
    except ConfigError as exc:
        return AccessPolicy(sign_in=True, problem=exc.message)


def identity() -> Identity:
    """The signed-in user (st.user's claims); nobody when sign-in is not configured."""
    return Identity.from_claims(st.user.to_dict())


def admitted() -> bool:
    """May this session see the dashboard? Always, without sign-in; else once signed in."""
    return policy().admits(identity())


def login_available() -> bool:
    """st.login needs Authlib (`pip install streamlit[auth]`)."""
    return importlib.util.find_spec("authlib") is not None


def _sign_in(provider: str | None) -> None:
    if provider is None:
        st.login()
    else:
        st.login(provider)


def _sign_out() -> None:
    st.logout()


def sign_in_screen() -> None:
    """The only page a visitor sees until they sign in: nothing of the roster."""
    st.title("MGI Roster Review")
    rules = policy()
    if rules.problem is not None:
        st.error(f"Sign-in is not available: {rules.problem}")
        return
    if not login_available():
        st.error(
            "Sign-in is configured, but the Authlib package it needs is not installed: run "
            "`pip install 'streamlit[auth]'` on the server, then reload."
        )
        return
    st.write(
        "Sign in to review district rosters. Only listed approvers may approve, reject or undo "
        "a merge."
    )
    for provider in rules.providers:
        st.button(
            "Sign in" if provider is None else f"Sign in with {provider.capitalize()}",
            key=f"sign_in_{provider or 'default'}",
            type="primary",
            icon=":material/login:",
            on_click=_sign_in,
            args=(provider,),
        )


def reviewer_field(key: str, *, label: str, required: bool) -> str | None:
    """Who is deciding: without sign-in, a name to type (kept in the audit log); signed in, the
    user's identity. Returns why the user may not approve, reject or undo now (None: they may),
    ready to show."""
    rules, user = policy(), identity()
    if rules.is_open:
        name = st.text_input(label, key=key, max_chars=100, help="Recorded in the audit log.")
        if required and not name.strip():
            return "Enter your name as the reviewer to approve or reject."
        return None
    reason = rules.refusal(user)
    if reason is None:
        st.caption(shown(f"The audit log records you as {user.email}."))
        return None
    return shown(reason)


def acting_reviewer(key: str) -> str | None:
    """In an action: who the audit log records (the signed-in email, or the typed name). Checks
    again whatever the page showed, since a button's click can be sent without the page."""
    try:
        return policy().actor(identity(), str(st.session_state.get(key) or ""))
    except AccessDenied as exc:
        raise AccessDenied(shown(exc.message)) from None


# --- presentation mode ----------------------------------------------------------------------


def presenting() -> bool:
    return bool(st.session_state.get("presenting"))


def masker() -> Masker:
    key = st.session_state.get("mask_key")
    if not isinstance(key, bytes):
        key = st.session_state["mask_key"] = os.urandom(16)
    return Masker(key)


def shown(text: str) -> str:
    """Text for the page (a run's message, the signed-in user): emails masked while presenting."""
    return masker().text(text) if presenting() else text


def shown_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return masker().frame(frame) if presenting() and not frame.empty else frame


def table(
    frame: pd.DataFrame,
    *,
    key: str | None = None,
    static: bool = False,
    hide_index: bool = True,
    **options: Any,
) -> None:
    """Every table a page shows goes through here: masked while presenting. Static: st.table
    (a few fields as data), else st.dataframe."""
    frame = shown_frame(frame)
    if static:
        st.table(frame, hide_index=hide_index)
    else:
        st.dataframe(frame, hide_index=hide_index, key=key, **options)


# --- the district and the run ---------------------------------------------------------------


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


def run_picker(con: duckdb.DuckDBPyConnection, district: District, *, key: str) -> None:
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


def needs(page: str, title: str, message: str) -> None:
    """A prerequisite is missing: say which step comes first, and link to it."""
    st.warning(message)
    link(page, title)


# --- tables, pagers, downloads --------------------------------------------------------------


def paged_table(
    key: str,
    fetch: Callable[[int, int], views.Paged],
    *,
    signature: tuple[Any, ...] = (),
    column_config: dict[str, Any] | None = None,
    empty: str = "Nothing to show.",
) -> views.Paged:
    """A table that reads one page at a time: fetch(page, page_size) → Paged.

    The pager's key carries a digest of the filters and the page size, so changing either
    starts again at page 1 (a fresh widget) without writing to a widget's state.
    """
    size_key = f"{key}_size"
    size = int(st.session_state.get(size_key) or views.DEFAULT_PAGE_SIZE)
    digest = zlib.crc32(repr((signature, size)).encode())
    page_key = f"{key}_page_{digest:08x}"
    page = max(1, int(st.session_state.get(page_key) or 1))
    result = fetch(page, size)
    if page > result.pages(size):  # the data changed under the pager (a merge, a new run)
        page = result.pages(size)
        result = fetch(page, size)
    if result.total == 0:
        st.caption(empty)
        return result
    table(result.frame, column_config=column_config, key=f"{key}_table")
    left, right = st.columns([3, 1])
    with left:
        if result.pages(size) > 1:
            st.pagination(result.pages(size), key=page_key)
        first = (page - 1) * size + 1
        st.caption(f"Rows {first:,}–{first + len(result.frame) - 1:,} of {result.total:,}")
    with right:
        st.selectbox(
            "Rows per page",
            PAGE_SIZES,
            index=PAGE_SIZES.index(views.DEFAULT_PAGE_SIZE),
            key=size_key,
        )
    return result


Rows = tuple[Sequence[str], Iterable[Sequence[Any]]]


def _csv(columns: Sequence[str], data: Iterable[Sequence[Any]], masking: Masker | None) -> str:
    """CSV with formula prefixes neutralised (exports.safe_cell); masked when presenting."""
    if masking is not None:
        frame = masking.frame(pd.DataFrame(list(data), columns=list(columns)))
        frame = frame.astype(object).where(frame.notna(), None)  # missing: an empty cell
        data = frame.itertuples(index=False)
    return exports.to_csv(columns, data)


def _file_name(name: str, masking: Masker | None) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}-masked{dot}{ext}" if masking is not None and dot else name


def download_csv(
    label: str, make: Callable[[duckdb.DuckDBPyConnection], Rows], *, key: str, file_name: str
) -> None:
    """A CSV download generated when clicked (not on every rerun), from its own connection:
    make(con) gives (columns, rows), e.g. exports.rows. Masked while presenting (decided now:
    the data is made outside this script run)."""
    masking = masker() if presenting() else None

    def data() -> str:
        with db() as con:
            columns, rows = make(con)
            return _csv(columns, rows, masking)

    st.download_button(
        label,
        data=data,
        file_name=_file_name(file_name, masking),
        mime="text/csv",
        key=key,
        icon=":material/download:",
    )


def requirements(params: Parameters, district_id: str, *, key: str) -> None:
    """The data requirements the District Parameters imply, as a table and a CSV download."""
    frame = views.requirements_table(params)
    table(frame, key=key)
    download_table(
        "Download requirements (CSV)",
        frame,
        key=f"{key}_download",
        file_name=f"mgi-data-requirements-{district_id}.csv",
    )


def download_table(label: str, frame: pd.DataFrame, *, key: str, file_name: str) -> None:
    """A table the page already holds, as a CSV download (masked while presenting)."""
    masking = masker() if presenting() else None
    st.download_button(
        label,
        data=_csv(list(frame.columns), frame.itertuples(index=False), masking),
        file_name=_file_name(file_name, masking),
        mime="text/csv",
        key=key,
        icon=":material/download:",
    )


# --- roster figures -------------------------------------------------------------------------


def roster_figures(
    con: duckdb.DuckDBPyConnection,
    figure: Callable[..., pd.DataFrame],
    district_id: str,
    *args: str,
) -> pd.DataFrame:
    """A roster-quality aggregate (a views function), computed once per roster version: the
    merged roster only changes with a merge or an undo, and on a million-student district some
    of these take a second."""
    stamp = views.roster_stamp(con, district_id)
    return _roster_figures(
        figure.__name__, str(store.db_path()), district_id, stamp, args, _con=con
    )


@st.cache_data(max_entries=256, show_spinner=False)
def _roster_figures(
    figure: str,
    path: str,
    district_id: str,
    stamp: int,
    args: tuple[str, ...],
    _con: duckdb.DuckDBPyConnection,
) -> pd.DataFrame:
    return getattr(views, figure)(_con, district_id, *args)


# --- charts ---------------------------------------------------------------------------------

SEVERITY_COLOR = alt.Color(
    "severity:N", scale=alt.Scale(domain=["error", "warning"], range=["#d62728", "#ff9f0e"])
)
CHANGE_COLOR = alt.Color(
    "change:N",
    scale=alt.Scale(
        domain=["added", "updated", "archived", "restored", "absent"],
        range=["#2ca02c", "#1f77b4", "#d62728", "#9467bd", "#7f7f7f"],
    ),
)


def count_axis(field: str, title: str | None = None) -> alt.X:
    """A quantitative x axis for counts: whole numbers only."""
    return alt.X(field, title=title, axis=alt.Axis(tickMinStep=1, format="d"))


def bar_chart(
    frame: pd.DataFrame,
    *,
    x: Any,
    y: Any,
    color: Any = None,
    title: str | None = None,
    height: int | None = None,
    key: str | None = None,
) -> None:
    """A bar chart through Altair: x, y and color are shorthands ("issues:Q") or alt channels."""
    chart = alt.Chart(frame).mark_bar()
    encoding: dict[str, Any] = {"x": x, "y": y, "tooltip": list(frame.columns)}
    if color:
        encoding["color"] = color
    chart = chart.encode(**encoding)
    if title:
        chart = chart.properties(title=title)
    if height:
        chart = chart.properties(height=height)
    st.altair_chart(chart, width="stretch", key=key)

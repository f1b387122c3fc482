"""The database per script run, and the guard around pages and actions: a RosterError becomes
its title and message, anything else a short sentence (the details go to the server's log),
never a traceback.

The database is opened once per script run (`script_run`, around the router's sidebar, page
and status line) and closed at its end, not held in an `st.cache_resource` connection for the
app's life as STYLE.md point 10 suggests: DuckDB lets one process write a file at a time, and
the command line and the scheduler must be able to sync and merge while a dashboard is open.
Opening the file costs milliseconds; holding it would lock them out for as long as anyone has
the dashboard open. (Opened three times a run, once for each part, it cost a tenth of the first
visit on a busy machine.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

import streamlit as st

from mgi_roster import store
from mgi_roster.errors import RosterError
from mgi_roster.ui.state import notify, show_notice

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Shared:
    """The connection a script run shares, opened by the first `db()` that needs it."""

    con: duckdb.DuckDBPyConnection | None = None


_shared: ContextVar[_Shared | None] = ContextVar("mgi_roster_ui_shared_db", default=None)


@contextmanager
def script_run() -> Iterator[None]:
    """One connection for the whole script run: every `db()` inside shares it, and it is closed
    when the run ends (st.rerun and st.stop included). Opened by the first `db()`, so a run that
    never needs the database (the sign-in screen) never opens it, and a failure to open it is
    shown by each part that needed it, as before."""
    shared = _Shared()
    token = _shared.set(shared)
    try:
        yield
    finally:
        _shared.reset(token)
        if shared.con is not None:
            shared.con.close()


@contextmanager
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    """The database: the script run's shared connection inside `script_run`, else one opened
    for this block and closed afterwards (an action's callback, a download made on click)."""
    shared = _shared.get()
    if shared is None:
        with store.opened(store.db_path()) as con:
            yield con
        return
    if shared.con is None:
        shared.con = store.connect(store.db_path())
    yield shared.con


def store_for_long_work() -> store.Store:
    """The store for long work in this script run (a sync): the run's shared connection is
    closed first, so the file is taken only for the work's moments and other processes (the
    scheduler, the command line) are not kept waiting; a later `db()` opens it again."""
    shared = _shared.get()
    if shared is not None and shared.con is not None:
        shared.con.close()
        shared.con = None
    return store.Store(store.db_path())


def show_error(exc: RosterError) -> None:
    st.error(f"{exc.title}: {exc.message}")


def unexpected(exc: Exception) -> str:
    return (
        f"Something unexpected went wrong ({type(exc).__name__}). Reload the page; if it "
        "happens again, the details are in the server's log."
    )


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
            show_notice()
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

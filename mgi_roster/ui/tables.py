"""Tables: every table a page shows (masked while presenting), tables read a page at a time,
CSV downloads (formula-safe, masked while presenting), and roster figures cached per roster
version.

pandas and mgi_roster.views (which brings pandas and the validation models) are imported
inside the functions that draw or read a table: the first page shows none, and importing them
took a quarter of its first visit (benchmarks/RESULTS.md, "First render").
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import streamlit as st

from mgi_roster import store
from mgi_roster.roster import exports
from mgi_roster.ui.guard import db
from mgi_roster.ui.presentation import masker, presenting, shown_frame

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from mgi_roster.masking import Masker
    from mgi_roster.parameters import Parameters
    from mgi_roster.views import Paged

PAGE_SIZES = (25, 50, 100, 250)
Rows = tuple[Sequence[str], Iterable[Sequence[Any]]]


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


def paged_table(
    key: str,
    fetch: Callable[[int, int], Paged],
    *,
    signature: tuple[Any, ...] = (),
    column_config: dict[str, Any] | None = None,
    empty: str = "Nothing to show.",
    selectable: bool = False,
) -> Paged:
    """A table that reads one page at a time: fetch(page, page_size) → Paged. `selectable`:
    rows can be selected (ui.selection.selected reads them, key `<key>_table`).

    The pager's key carries a digest of the filters and the page size, so changing either
    starts again at page 1 (a fresh widget) without writing to a widget's state.
    """
    from mgi_roster.views import DEFAULT_PAGE_SIZE

    size_key = f"{key}_size"
    size = int(st.session_state.get(size_key) or DEFAULT_PAGE_SIZE)
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
    selecting: dict[str, Any] = (
        {"on_select": "rerun", "selection_mode": "multi-row"} if selectable else {}
    )
    table(result.frame, column_config=column_config, key=f"{key}_table", **selecting)
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
            index=PAGE_SIZES.index(DEFAULT_PAGE_SIZE),
            key=size_key,
        )
    return result


def _csv(columns: Sequence[str], data: Iterable[Sequence[Any]], masking: Masker | None) -> str:
    """CSV with formula prefixes neutralised (exports.safe_cell); masked when presenting."""
    if masking is not None:
        import pandas as pd

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


def download_file(
    label: str,
    make: Callable[[duckdb.DuckDBPyConnection], bytes],
    *,
    key: str,
    file_name: str,
    mime: str,
    help: str | None = None,
) -> None:
    """A file of personal data (the roster as a OneRoster ZIP) made when clicked, from its own
    connection. Not offered while presenting: its records cannot be masked and stay usable."""
    if presenting():
        st.button(label, key=key, disabled=True, icon=":material/download:",
                  help="Not while presenting: the file holds personal data.")  # fmt: skip
        return

    def data() -> bytes:
        with db() as con:
            return make(con)

    st.download_button(
        label, data=data, file_name=file_name, mime=mime, key=key,
        icon=":material/download:", help=help,
    )  # fmt: skip


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


def requirements(params: Parameters, district_id: str, *, key: str) -> None:
    """The data requirements the District Parameters imply, as a table and a CSV download."""
    from mgi_roster import views

    frame = views.requirements_table(params)
    table(frame, key=key)
    download_table(
        "Download requirements (CSV)",
        frame,
        key=f"{key}_download",
        file_name=f"mgi-data-requirements-{district_id}.csv",
    )


def roster_figures(
    con: duckdb.DuckDBPyConnection,
    figure: Callable[..., pd.DataFrame],
    district_id: str,
    *args: str,
) -> pd.DataFrame:
    """A roster-quality aggregate (a views function), computed once per roster version: the
    merged roster only changes with a merge or an undo, and on a million-student district some
    of these take a second."""
    from mgi_roster import views

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
    from mgi_roster import views

    result: pd.DataFrame = getattr(views, figure)(_con, district_id, *args)
    return result

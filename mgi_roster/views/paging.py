"""What every page's reads share: paging, filters, searching, the run's school names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import duckdb
import pandas as pd

from mgi_roster.entities import Entity
from mgi_roster.roster import sql
from mgi_roster.store import execute

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
SEVERITY_ORDER = "CASE severity WHEN 'error' THEN 0 ELSE 1 END"
CHANGE_SUMMARY = ("added", "updated", "archived", "restored")  # the kinds a run summary counts
# Columns a roster search looks in, when the entity has them (besides its display name).
SEARCH_COLUMNS = ("id", "sis_id", "email", "district_username", "section_id", "user_id", "number")


class Paged(NamedTuple):
    """One page of a filtered table, and how many rows the whole filtered table has."""

    frame: pd.DataFrame
    total: int

    def pages(self, page_size: int) -> int:
        return max(1, -(-self.total // max(1, page_size)))


@dataclass(frozen=True)
class IssueFilter:
    entities: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    schools: tuple[str, ...] = ()  # school ids
    search: str = ""  # record name, SIS id or record id


@dataclass(frozen=True)
class ChangeFilter:
    entities: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()  # added, updated, archived, absent, restored
    schools: tuple[str, ...] = ()
    search: str = ""  # record name or record id
    high_impact: bool = False  # only a student's school, grade or screening class changes


@dataclass(frozen=True)
class Options:
    """The values a run's filters can offer (schools as (id, name) pairs)."""

    entities: tuple[str, ...]
    checks: tuple[str, ...]
    schools: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Sharing:
    """What the district shares, as the latest successful run saw it."""

    run_id: int | None
    counts: dict[str, int]
    unshared_users: int  # users named in sections that the token cannot see


# --- helpers --------------------------------------------------------------------------------


def _limits(page: int, page_size: int) -> tuple[int, int]:
    size = min(max(1, int(page_size)), MAX_PAGE_SIZE)
    return size, (max(1, int(page)) - 1) * size


def like_pattern(text: str) -> str:
    """A substring ILIKE pattern for what the user typed, wildcards escaped."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Where:
    """A WHERE clause built from optional filters, with named parameters."""

    def __init__(self, **params: Any) -> None:
        self.parts: list[str] = []
        self.params: dict[str, Any] = dict(params)

    def add(self, sql: str) -> None:
        self.parts.append(sql)

    def any_of(self, column: str, values: Sequence[str]) -> None:
        if not values:
            return
        names = []
        for value in values:
            name = f"p{len(self.params)}"
            self.params[name] = value
            names.append(f"${name}")
        self.parts.append(f"{column} IN ({', '.join(names)})")

    @property
    def searching(self) -> bool:
        return "pattern" in self.params

    def search(self, columns: Sequence[str], text: str) -> None:
        if not text.strip():
            return
        self.params["pattern"] = like_pattern(text)
        self.parts.append(
            "(" + " OR ".join(f"{c} ILIKE $pattern ESCAPE '\\'" for c in columns) + ")"
        )

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) or "true"


def _frame(cursor: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return cursor.df()


def _school_names() -> str:
    """(id, name) of every school a run or the district's roster knows; staged names first."""
    return sql.school_names()


def _run_district(con: duckdb.DuckDBPyConnection, run_id: int) -> str:
    row = con.execute("SELECT district_id FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return str(row[0]) if row else ""


def _paged(
    con: duckdb.DuckDBPyConnection,
    source: str,
    where: _Where,
    order: str,
    page: int,
    page_size: int,
    *,
    extra: str = "",
    show: str = "SELECT * FROM page",
) -> Paged:
    """Count the filtered rows of `source`, then read one page of them in `order`, which must
    be total so pages never overlap: it ends in a unique key, or in `_row` (the row id of a
    base table, added with `extra=", rowid AS _row"`). The page is cut first and only its rows
    are decorated by `show` (joins for names), so a page of a million-row table costs a top-N
    sort, not a join of every row."""
    size, offset = _limits(page, page_size)
    if where.searching:
        # A search scans every row: scan once into a temporary table, then count the hits and
        # cut the page from them (two scans of a million-row roster took twice as long).
        execute(
            con,
            f"CREATE OR REPLACE TEMP TABLE search_hits AS SELECT *{extra} FROM {source} WHERE {where.sql}",
            where.params,
        )
        try:
            total_row = con.execute("SELECT count(*) FROM search_hits").fetchone()
            sql = (
                f"WITH page AS (SELECT * FROM search_hits ORDER BY {order} LIMIT {size} OFFSET {offset}) "
                f"{show} ORDER BY {order}"
            )
            frame = _frame(execute(con, sql, where.params))
        finally:
            con.execute("DROP TABLE IF EXISTS search_hits")
        return Paged(frame, int(total_row[0]) if total_row else 0)
    total_row = execute(
        con, f"SELECT count(*) FROM {source} WHERE {where.sql}", where.params
    ).fetchone()
    total = int(total_row[0]) if total_row else 0
    sql = (
        f"WITH page AS (SELECT *{extra} FROM {source} WHERE {where.sql} "
        f"ORDER BY {order} LIMIT {size} OFFSET {offset}) {show} ORDER BY {order}"
    )
    return Paged(_frame(execute(con, sql, where.params)), total)


def _current(spec: Entity) -> str:
    return sql.current(spec, live=True)

"""Where a district's roster stands: its merge versions (every merge and undo takes the next)."""

from __future__ import annotations

import duckdb

from mgi_roster.kinds import MergeKind


def current_version(con: duckdb.DuckDBPyConnection, district_id: str) -> int:
    """The merge version the district's roster is at (0 before the first merge): a sync's
    merge or a person's edit (a student added by hand)."""
    row = con.execute(
        "SELECT coalesce(max(version), 0) FROM merges WHERE district_id = ? AND kind IN (?, ?) AND NOT undone",
        [district_id, MergeKind.MERGE, MergeKind.MANUAL],
    ).fetchone()
    return int(row[0]) if row else 0


def next_version(con: duckdb.DuckDBPyConnection, district_id: str) -> int:
    row = con.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM merges WHERE district_id = ?", [district_id]
    ).fetchone()
    return int(row[0]) if row else 1


def stamp(con: duckdb.DuckDBPyConnection, district_id: str) -> int:
    """A number that changes whenever the district's roster does (every merge and every undo
    takes the next version number): a cache key for figures computed over the roster."""
    return next_version(con, district_id) - 1


def latest_merge(con: duckdb.DuckDBPyConnection, district_id: str) -> tuple[int, int] | None:
    """(version, run_id) of the district's latest merge still in force."""
    row = con.execute(
        "SELECT version, run_id FROM merges WHERE district_id = ? AND kind = ? AND NOT undone "
        "ORDER BY version DESC LIMIT 1",
        [district_id, MergeKind.MERGE],
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else None


def latest_change(
    con: duckdb.DuckDBPyConnection, district_id: str
) -> tuple[int, int | None] | None:
    """(version, run_id) of the district's latest merge or edit by hand still in force (what
    Undo reverses); run_id is None for an edit by hand."""
    row = con.execute(
        "SELECT version, run_id FROM merges WHERE district_id = ? AND kind IN (?, ?) AND NOT undone "
        "ORDER BY version DESC LIMIT 1",
        [district_id, MergeKind.MERGE, MergeKind.MANUAL],
    ).fetchone()
    return (int(row[0]), None if row[1] is None else int(row[1])) if row else None

"""What happened to a district: its runs, its merges and undos, and the audit log."""

from __future__ import annotations

import json
from typing import Any

import duckdb


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _decode(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    for row in rows:
        for key in keys:
            if isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
    return rows


def runs(
    con: duckdb.DuckDBPyConnection, district_id: str, limit: int = 200
) -> list[dict[str, Any]]:
    cursor = con.execute(
        """SELECT run_id, district_id, trigger, status, started_at, finished_at, counts, errors, warnings,
                  changes, guards, message, demo_day, decided_by, decided_at, mode, mode_reason,
                  events_applied
           FROM runs WHERE district_id = ? ORDER BY run_id DESC LIMIT ?""",
        [district_id, limit],
    )
    return _decode(_dicts(cursor), "counts", "changes", "guards")


def run(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, Any] | None:
    cursor = con.execute(
        """SELECT run_id, district_id, trigger, status, started_at, finished_at, counts, errors, warnings,
                  changes, guards, message, demo_day, decided_by, decided_at, roster_version, mode,
                  mode_reason, events_applied
           FROM runs WHERE run_id = ?""",
        [run_id],
    )
    found = _decode(_dicts(cursor), "counts", "changes", "guards")
    return found[0] if found else None


def latest_run(con: duckdb.DuckDBPyConnection, district_id: str) -> dict[str, Any] | None:
    row = con.execute(
        "SELECT max(run_id) FROM runs WHERE district_id = ?", [district_id]
    ).fetchone()
    return run(con, int(row[0])) if row and row[0] is not None else None


def merges(con: duckdb.DuckDBPyConnection, district_id: str) -> list[dict[str, Any]]:
    cursor = con.execute(
        """SELECT version, kind, run_id, actor, merged_at, counts, undone, undoes
           FROM merges WHERE district_id = ? ORDER BY version DESC""",
        [district_id],
    )
    return _decode(_dicts(cursor), "counts")


def audit_log(
    con: duckdb.DuckDBPyConnection, district_id: str, limit: int = 500
) -> list[dict[str, Any]]:
    cursor = con.execute(
        """SELECT logged_at, action, run_id, version, actor, detail FROM audit
           WHERE district_id = ? ORDER BY logged_at DESC LIMIT ?""",
        [district_id, limit],
    )
    return _decode(_dicts(cursor), "detail")


def history(con: duckdb.DuckDBPyConnection, district_id: str) -> dict[str, Any]:
    """Everything for `history --json` and the History page."""
    return {
        "district_id": district_id,
        "runs": runs(con, district_id),
        "merges": merges(con, district_id),
        "audit": audit_log(con, district_id),
    }

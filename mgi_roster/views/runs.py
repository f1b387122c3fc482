"""Runs, merges and the audit log, as the History and Sync pages show them."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd

from mgi_roster.entities import ENTITIES
from mgi_roster.kinds import SyncMode
from mgi_roster.roster import history
from mgi_roster.views.paging import (
    CHANGE_SUMMARY,
)

# --- runs -----------------------------------------------------------------------------------


def run_choices(con: duckdb.DuckDBPyConnection, district_id: str) -> list[tuple[int, str]]:
    """(run id, label) for a run picker, newest first. Labels hold only what never changes
    (not the status): a keyed selectbox keeps showing the label its choice had."""
    rows = con.execute(
        """SELECT run_id, strftime(started_at, '%Y-%m-%d %H:%M'), trigger, demo_day FROM runs
           WHERE district_id = ? ORDER BY run_id DESC LIMIT 200""",
        [district_id],
    ).fetchall()
    return [
        (int(r[0]), f"Run {r[0]} · {r[1]} · {r[2]}" + (f" · demo day {r[3]}" if r[3] else ""))
        for r in rows
    ]


def runs_table(con: duckdb.DuckDBPyConnection, district_id: str) -> pd.DataFrame:
    """The district's runs, newest first, with their counts flattened for a table."""
    rows = []
    for run in history.runs(con, district_id):
        counts = run.get("counts") or {}
        changes = run.get("changes") or {}
        rows.append(
            {
                "run": run["run_id"],
                "status": run["status"],
                "trigger": run["trigger"],
                "mode": mode_label(run),
                "started": run["started_at"],
                "finished": run["finished_at"],
                "records": sum(counts.values()) if counts else None,
                "errors": run["errors"],
                "warnings": run["warnings"],
                **{k: sum(c.get(k, 0) for c in changes.values()) for k in CHANGE_SUMMARY},
                "decided by": run["decided_by"],
                "demo day": run["demo_day"],
                "message": run["message"],
            }
        )
    return pd.DataFrame(rows)


def mode_label(run: dict[str, Any]) -> str | None:
    """How a run learned the roster: "full", or "events (N)" with the events it applied."""
    if not run.get("mode"):
        return None
    if run["mode"] == SyncMode.EVENTS:
        return f"events ({run.get('events_applied') or 0:,})"
    return str(run["mode"])


def merges_table(con: duckdb.DuckDBPyConnection, district_id: str) -> pd.DataFrame:
    rows = []
    for m in history.merges(con, district_id):
        counts = m.get("counts") or {}
        rows.append(
            {
                "version": m["version"],
                "kind": m["kind"],
                "run": m["run_id"],
                "by": m["actor"],
                "when": m["merged_at"],
                **{k: sum(c.get(k, 0) for c in counts.values()) for k in CHANGE_SUMMARY},
                "undone": m["undone"],
                "undoes": m["undoes"],
            }
        )
    return pd.DataFrame(rows)


def audit_table(con: duckdb.DuckDBPyConnection, district_id: str) -> pd.DataFrame:
    rows = history.audit_log(con, district_id)
    return pd.DataFrame(
        [
            {
                "when": r["logged_at"],
                "action": r["action"],
                "run": r["run_id"],
                "version": r["version"],
                "by": r["actor"],
                "detail": json.dumps(r["detail"], default=str) if r["detail"] else "",
            }
            for r in rows
        ]
    )


def counts_table(counts: dict[str, int]) -> pd.DataFrame:
    """A run's staged records per entity, in the entity order."""
    return pd.DataFrame(
        [
            {"entity": e.label, "records": int(counts.get(e.name, 0))}
            for e in ENTITIES
            if e.name in counts
        ]
    )

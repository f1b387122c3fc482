"""An empty share is an error, not "ready to approve".

A district that accepted the MGI's request but has not finished Clever's setup guide (Set
Sharing, Data Validation, Finalize) shares nothing: its sync stages no schools or no students,
and without this check it would look clean. One error issue says so, so Approve is refused.
Written into the run's `issues` like validation's findings (check "empty_share").
"""

from __future__ import annotations

import duckdb

from mgi_roster.entities import SCHOOLS, STUDENTS
from mgi_roster.kinds import Severity
from mgi_roster.roster.sql import staging_table

CHECK = "empty_share"


def message(missing: list[str]) -> str:
    """The sentence of an empty-share issue (only entity names: no record is involved)."""
    return (
        f"the district shares no {' and no '.join(missing)}: finish Set Sharing in Clever "
        "(Clever's setup guide for the MGI: Set Sharing, Data Validation, Finalize), then sync "
        "again."
    )


def check(
    con: duckdb.DuckDBPyConnection, run_id: int, district_id: str, found: dict[str, int]
) -> dict[str, int]:
    """Add one error issue when the run staged no schools or no students; return the run's
    issue counts with it. Runs inside the caller's transaction, on the run's connection."""
    missing = []
    for entity in (SCHOOLS, STUDENTS):
        row = con.execute(
            f"SELECT count(*) FROM {staging_table(entity)} WHERE run_id = ?", [run_id]
        ).fetchone()
        if not row or not row[0]:
            missing.append(entity.name)
    if not missing:
        return found
    con.execute(
        """INSERT INTO issues (run_id, district_id, entity, "check", severity, message)
           VALUES (?, ?, ?, ?, ?, ?)""",
        [run_id, district_id, missing[-1], CHECK, Severity.ERROR, message(missing)],
    )
    return {**found, "error": found.get("error", 0) + 1}

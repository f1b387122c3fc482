"""A person decides whether two records are one person: re-keys with several candidates, and
links between a synced student and a student added by hand (roster/rekey.py has the rules).

A decision is kept on the run's pair (`person_matches`), then the run is compared with the roster
again (its own staging file, review/diff.py), so its changes, counts and guards say what Approve
will do with the decision: a linked student is one `linked` change, kept-apart records are an
added and an archived (or absent) one. Accepting one pair declines every other pair of either
record: a record is one person.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import duckdb

from mgi_roster.errors import InputError, MergeRefused
from mgi_roster.kinds import MatchKind, MatchStatus, RunStatus
from mgi_roster.review import diff
from mgi_roster.roster import merge
from mgi_roster.staging import runfile
from mgi_roster.store import transaction


@dataclass(frozen=True)
class Match:
    """A pair of records that may be one person, as the Changes page and the CLI show it."""

    entity: str
    kind: str  # MatchKind
    old_id: str  # the roster's record (the old id; the student added by hand)
    new_id: str  # the sync's record
    bases: list[str]
    status: str  # MatchStatus
    old_name: str | None
    new_name: str | None
    school: str | None
    decided_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_COLUMNS = "entity, kind, old_id, new_id, bases, status, old_name, new_name, school, decided_by"


def matches(con: duckdb.DuckDBPyConnection, run_id: int) -> list[Match]:
    """The run's pairs: those a person must decide first, then the rest."""
    rows = con.execute(
        f"""SELECT {_COLUMNS} FROM person_matches WHERE run_id = ?
            ORDER BY status <> ?, kind, entity, new_id, old_id""",
        [run_id, MatchStatus.PROPOSED],
    ).fetchall()
    return [Match(r[0], r[1], r[2], r[3], (r[4] or "").split(","), *r[5:]) for r in rows]


def decide(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    *,
    old_id: str,
    new_id: str,
    same: bool,
    by: str | None = None,
) -> list[Match]:
    """Record that `old_id` and `new_id` are (`same`) or are not one person, and compare the run
    with the roster again. Returns the run's pairs after the decision."""
    run = merge.load_run(con, run_id)
    if not RunStatus(run.status).reviewable:
        raise MergeRefused(f"Run {run_id} is {run.status}; only a staged run can be decided on.")
    pair = con.execute(
        "SELECT kind FROM person_matches WHERE run_id = ? AND old_id = ? AND new_id = ?",
        [run_id, old_id, new_id],
    ).fetchone()
    if pair is None:
        raise InputError(
            f"Run {run_id} proposes no match between {old_id} and {new_id}. List its matches with "
            f"`students matches --run {run_id}`."
        )
    status = MatchStatus.ACCEPTED if same else MatchStatus.DECLINED
    path = runfile.require(con, run_id)
    # The run's own file is the working copy: the decision, then the diff again, there; then
    # the main store takes it all in one short transaction.
    with runfile.opened(path) as work, transaction(work):
        _record(work, run_id, old_id, new_id, status, by)
        found = diff.diff_run(work, run_id, run.district_id, run.parameters, run.roster_version)
    with transaction(con), runfile.attached(con, path) as work_schema:
        for table in ("changes", "person_matches"):
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
            con.execute(
                f"INSERT INTO {table} SELECT * FROM {work_schema}.{table} WHERE run_id = ?",
                [run_id],
            )
        con.execute(
            "UPDATE runs SET changes = ?, guards = ?, status = ? WHERE run_id = ?",
            [
                json.dumps(found.counts),
                json.dumps([g.to_dict() for g in found.guards]),
                RunStatus.HELD if found.guards else RunStatus.STAGED,
                run_id,
            ],
        )
        merge.audit(
            con,
            run.district_id,
            f"{MatchKind(pair[0])}_{'accepted' if same else 'declined'}",
            run_id=run_id,
            by=by,
            detail={"old_id": old_id, "new_id": new_id},
        )
    return matches(con, run_id)


def _record(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    old_id: str,
    new_id: str,
    status: MatchStatus,
    by: str | None,
) -> None:
    con.execute(
        """UPDATE person_matches SET status = ?, decided_by = ?, decided_at = now()
           WHERE run_id = ? AND old_id = ? AND new_id = ?""",
        [status, by, run_id, old_id, new_id],
    )
    if status is MatchStatus.ACCEPTED:  # a record is one person: its other pairs are declined
        con.execute(
            """UPDATE person_matches SET status = ?, decided_by = ?, decided_at = now()
               WHERE run_id = ? AND (old_id = ? OR new_id = ?) AND NOT (old_id = ? AND new_id = ?)""",
            [MatchStatus.DECLINED, by, run_id, old_id, new_id, old_id, new_id],
        )

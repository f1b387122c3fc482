"""An events run's findings on the records its events do not reach: the latest merge's, carried.

An events run stages, for every record no event touched, the very row the latest merged sync
staged (staging/events.py). When the District Parameters are the ones that run was validated
under, its findings on those records are this run's, and are copied instead of found again:

  field findings         judge one value of one record: carried for every record whose row
                         no event changed (only the changed ones are checked)
  the other findings     judge a record against others (cross-table, duplicates, requirements):
                         carried for the records outside the run's scope (scope.py: what the
                         events reach), which are the ones judged again

The latest merge's findings and parameters are copied into the run's file with the roster
snapshot (staging/runfile.py, `PREVIOUS_*`). Field findings are carried for every entity; the
others only for the large ones (students, teachers, sections): schools, terms and courses are
judged whole.
"""

from __future__ import annotations

import json

import duckdb

from mgi_roster.entities import Entity
from mgi_roster.kinds import sql_list
from mgi_roster.parameters import Parameters
from mgi_roster.review.validation import checks, scope
from mgi_roster.review.validation.findings import INSERT, ISSUE_COLUMNS
from mgi_roster.roster.sql import q, staging_table
from mgi_roster.staging import events
from mgi_roster.store import has_table

CARRIED = scope.SCOPED  # whose findings against others are carried outside the scope
FIELDS_CARRIED = checks.VALIDATED  # whose field findings are carried (all: one record each)
PREVIOUS_ISSUES = "previous_issues"  # the latest merge's findings (run's file)
PREVIOUS_PARAMETERS = "previous_parameters"  # the parameters that run was validated under
FIELD_CHECKS = tuple(sorted({c.name for c in checks.CHECKS if c.layer is checks.Layer.FIELD}))


def carries(con: duckdb.DuckDBPyConnection, params: Parameters) -> bool:
    """Whether findings are carried: only when `con` is an events run's file whose latest merge
    was validated under the same parameters."""
    if not (events.is_events_run(con) and has_table(con, PREVIOUS_PARAMETERS)):
        return False
    row = con.execute(f"SELECT parameters FROM {PREVIOUS_PARAMETERS}").fetchone()
    previous = row[0] if row else None
    return previous is not None and json.loads(previous) == json.loads(params.to_json())


def _carry(con: duckdb.DuckDBPyConnection, run_id: int, entity: Entity, where: str) -> None:
    columns = ", ".join(q(c) for c in ISSUE_COLUMNS[1:])
    previous = f"SELECT * FROM {PREVIOUS_ISSUES} p WHERE p.entity = '{entity.name}' AND {where}"
    # Of the records still staged: looked up among the few with a finding, not the other way
    # round (a million staged ids in memory)
    staged = f"""SELECT DISTINCT id FROM {staging_table(entity)} WHERE run_id = $run
        AND id IN (SELECT record_id FROM {PREVIOUS_ISSUES} WHERE entity = '{entity.name}')"""
    con.execute(
        f"""{INSERT} SELECT $run, {columns} FROM ({previous}) p
            JOIN ({staged}) s ON s.id = p.record_id""",
        {"run": run_id},
    )


def _fields() -> str:
    return sql_list(FIELD_CHECKS)


def carry_field_issues(con: duckdb.DuckDBPyConnection, run_id: int, entity: Entity) -> None:
    """Copy the latest merge's field findings on `entity`'s staged records no event changed."""
    _carry(
        con,
        run_id,
        entity,
        f'p."check" IN {_fields()} AND NOT {events.changed(entity, "p.record_id")}',
    )


def carry_judged_issues(
    con: duckdb.DuckDBPyConnection, run_id: int, entity: Entity, written: tuple[str, ...]
) -> None:
    """Copy the latest merge's findings under the checks `written` (those validation judges
    records against others by) on `entity`'s staged records outside the run's scope."""
    names = sql_list(written)
    _carry(
        con,
        run_id,
        entity,
        f'p."check" IN {names} AND p.record_id NOT IN (SELECT id FROM {scope.table(entity)})',
    )

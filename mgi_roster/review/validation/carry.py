"""An events run's field findings for the records no event touched: the latest merge's, carried.

A field check (schemas.py) judges one value of one record under the District Parameters (which
fields a requirement covers). An events run stages, for every record no event touched, the very
row the latest merged sync staged (staging/events.py). So when the parameters are the ones that
run was validated under, its field findings on those records are this run's: they are copied
instead of being found again, and only the touched records are checked. The latest merge's
findings and parameters are copied into the run's file with the roster snapshot
(staging/runfile.py, `PREVIOUS_*`).

Only the large entities are carried (students, teachers, sections): schools, terms and courses
are checked whole (terms' dates are also judged against each other, under the same check).
"""

from __future__ import annotations

import json

import duckdb

from mgi_roster.entities import SECTIONS, STUDENTS, TEACHERS, Entity
from mgi_roster.parameters import Parameters
from mgi_roster.review.validation.findings import INSERT, ISSUE_COLUMNS
from mgi_roster.roster.sql import q, staging_table
from mgi_roster.staging import events
from mgi_roster.store import has_table

CARRIED = (STUDENTS, TEACHERS, SECTIONS)
PREVIOUS_ISSUES = "previous_field_issues"  # the latest merge's field findings (run's file)
PREVIOUS_PARAMETERS = "previous_parameters"  # the parameters that run was validated under


def carried_entities(con: duckdb.DuckDBPyConnection, params: Parameters) -> tuple[Entity, ...]:
    """The entities whose untouched records' field findings are carried: none unless `con` is
    an events run's file whose latest merge was validated under the same parameters."""
    if not (events.is_events_run(con) and has_table(con, PREVIOUS_PARAMETERS)):
        return ()
    row = con.execute(f"SELECT parameters FROM {PREVIOUS_PARAMETERS}").fetchone()
    if row is None or row[0] is None or json.loads(row[0]) != json.loads(params.to_json()):
        return ()
    return CARRIED


def carry_field_issues(con: duckdb.DuckDBPyConnection, run_id: int, entity: Entity) -> None:
    """Copy the latest merge's field findings on `entity`'s untouched staged records."""
    columns = ", ".join(q(c) for c in ISSUE_COLUMNS[1:])
    con.execute(
        f"""{INSERT} SELECT $run, {columns} FROM {PREVIOUS_ISSUES} p
            WHERE p.entity = '{entity.name}' AND NOT {events.touched(entity, "p.record_id")}
              AND p.record_id IN (SELECT id FROM {staging_table(entity)} WHERE run_id = $run)""",
        {"run": run_id},
    )

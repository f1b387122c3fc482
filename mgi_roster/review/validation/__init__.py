"""Validation: every finding of a staged run, written to one table (`issues`).

Three layers, one result:

    schemas.py       field checks: pandera schemas generated from the entity declarations
                     (entities.py), run over the run's staged rows
    cross_table.py   the records against each other and the district's current roster, in SQL
    requirements.py  the data requirements the District Parameters imply, in SQL

    scope.py         an events run's records to judge again (what its events reach)
    carry.py         an events run's findings on the rest: the latest merge's, carried

    checks.py        the check table: each check's severity, description and sentence
    findings.py      how a finding becomes an issue row (the SQL pieces the layers share)
    messages.py      the sentences, rendered from an issue's fields when it is shown

An issue row keeps the check, the record, the field, the offending value and the check's params;
it never holds a finished sentence (messages.py renders one, masked in presentation mode).
Validation reads and writes tables by name (stg_<entity>, roster_<entity>, issues), so it runs
on any DuckDB connection that has them.
"""

from __future__ import annotations

import duckdb

from mgi_roster.entities import GENDERS, GRADE_ORDER, GRADES, RACES, SUBJECTS, YES_NO
from mgi_roster.parameters import Parameters
from mgi_roster.review.validation import (
    carry,
    checks,
    cross_table,
    duplicates,
    findings,
    oneroster,
    requirements,
    scope,
)
from mgi_roster.review.validation.checks import VALIDATED, CheckSpec, Layer
from mgi_roster.review.validation.findings import VALUE_CHARS
from mgi_roster.review.validation.messages import Finding, render
from mgi_roster.staging import events

__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "GENDERS",
    "GRADES",
    "GRADE_ORDER",
    "RACES",
    "SUBJECTS",
    "VALIDATED",
    "VALUE_CHARS",
    "YES_NO",
    "CheckSpec",
    "Finding",
    "Layer",
    "counts",
    "render",
    "validate",
]

# Every check, as the Validation page lists it and filters on it.
CHECKS: tuple[CheckSpec, ...] = (*checks.CHECKS, *requirements.CHECKS)
CHECK_NAMES: tuple[str, ...] = tuple(dict.fromkeys(c.name for c in CHECKS))
# The checks judging a record against others (carried outside an events run's scope)
JUDGED_CHECKS = tuple(dict.fromkeys(c.name for c in CHECKS if c.layer is not Layer.FIELD))


def validate(
    con: duckdb.DuckDBPyConnection, run_id: int, district_id: str, params: Parameters
) -> dict[str, int]:
    """Write every finding of staged run `run_id` to `issues` (replacing the run's earlier
    ones) and return {"error": n, "warning": n}. Runs inside the caller's transaction."""
    from mgi_roster.review.validation import schemas  # pandera: imported when it is used

    con.execute("DELETE FROM issues WHERE run_id = ?", [run_id])
    carries = carry.carries(con, params)  # an events run's untouched records: carried
    for entity in VALIDATED:
        covered = requirements.covered(params, entity)
        only = events.changed(entity) if carries else ""  # the rows an event changed
        schemas.field_issues(con, run_id, district_id, entity, covered, only)
    values: dict[str, object] = {
        "run": run_id,
        "district": district_id,
        "grade_order": list(GRADE_ORDER),
        **requirements.bindings(params),
        "all_records": params.all_records_processing,  # duplicates: who stays in the roster
    }
    # An events run judges again only what its events reach (scope.py), and carries the rest
    scoped = scope.build(con, run_id, district_id) if carries else frozenset()
    for entity in VALIDATED:
        findings.find_duplicates(con, run_id, entity, scoped)
    for statement in [
        *cross_table.statements(VALIDATED, scoped),
        *duplicates.statements(scoped),
        *requirements.statements(params, scoped),
    ]:
        con.execute(statement, findings.bind(statement, values))
    if carries:  # the scope tables stay in the run's file: the carried findings' view reads them
        carry.carry(con, run_id, JUDGED_CHECKS)
    for entity in VALIDATED:
        con.execute(f"DROP TABLE IF EXISTS {findings.duplicates(entity)}")
    # Last: a OneRoster package's own checks, and every finding then speaks of the package
    oneroster.check(con, run_id, district_id)
    return counts(con, run_id)


def counts(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, int]:
    """{"error": n, "warning": n}: the run's issue rows by severity (carried ones included)."""
    rows = con.execute(
        f"SELECT severity, count(*) FROM {findings.of_run(con)} WHERE run_id = ? GROUP BY severity",
        [run_id],
    ).fetchall()
    found = {"error": 0, "warning": 0}
    found.update({severity: int(n) for severity, n in rows})
    return found

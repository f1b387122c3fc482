"""An events run's findings on the records its events do not reach: the latest merge's, carried.

An events run stages, for every record no event touched, the very row the latest merged sync
staged (staging/events.py). When the District Parameters are the ones that run was validated
under, its findings on those records are this run's, and are carried instead of found again:

  field findings         judge one value of one record: carried for every record whose row
                         no event changed (only the changed ones are checked)
  the other findings     judge a record against others (cross-table, duplicates, requirements):
                         carried for the records outside the run's scope (scope.py: what the
                         events reach), which are the ones judged again

The latest merge's findings and parameters are copied into the run's file with the roster
snapshot (staging/runfile.py, `PREVIOUS_*`), and the run's carried findings are a view over them
(`findings.CARRIED_VIEW`): every reader of a run's findings in its file reads `findings.of_run`,
and publishing copies both into the store. Field findings are carried for every entity; the
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
from mgi_roster.review.validation.findings import CARRIED_VIEW
from mgi_roster.roster.sql import staging_table
from mgi_roster.staging import events
from mgi_roster.store import has_table

CARRIED = scope.SCOPED  # whose findings against others are carried outside the scope
FIELDS_CARRIED = checks.VALIDATED  # whose field findings are carried (all: one record each)
PREVIOUS_ISSUES = "previous_issues"  # the latest merge's findings (run's file)
PREVIOUS_PARAMETERS = "previous_parameters"  # the parameters that run was validated under
GONE = "carry_gone"  # the records of previous findings the run no longer stages (`_gone`)
FIELD_CHECKS = tuple(sorted({c.name for c in checks.CHECKS if c.layer is checks.Layer.FIELD}))


def carries(con: duckdb.DuckDBPyConnection, params: Parameters) -> bool:
    """Whether findings are carried: only when `con` is an events run's file whose latest merge
    was validated under the same parameters."""
    if not (events.is_events_run(con) and has_table(con, PREVIOUS_PARAMETERS)):
        return False
    row = con.execute(f"SELECT parameters FROM {PREVIOUS_PARAMETERS}").fetchone()
    previous = row[0] if row else None
    return previous is not None and json.loads(previous) == json.loads(params.to_json())


def _changed(entity: Entity) -> str:
    """SQL: a previous field finding's record whose row an event changed (judged again)."""
    return events.changed(entity, "p.record_id")


def _rejudged(entity: Entity) -> str:
    """SQL: a previous finding's record in the run's scope (judged again against others)."""
    return f"p.record_id IN (SELECT id FROM {scope.table(entity)})"


def _gone(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """GONE: the records the latest merge found something on that the run no longer stages
    (deleted by an event, or withheld by that merge's approval, so never in the roster). The
    ids of the findings are looked up among the staged ones, once per entity."""
    con.execute(f"CREATE OR REPLACE TABLE {GONE} (entity VARCHAR, record_id VARCHAR)")
    for entity in FIELDS_CARRIED:
        con.execute(
            # An anti join: twice as fast as NOT IN, which also minds NULLs (there are none)
            f"""INSERT INTO {GONE} SELECT '{entity.name}', p.record_id
                FROM (SELECT DISTINCT record_id FROM {PREVIOUS_ISSUES}
                      WHERE entity = '{entity.name}') p
                ANTI JOIN (SELECT id FROM {staging_table(entity)} WHERE run_id = $run) s
                  ON s.id = p.record_id""",
            {"run": run_id},
        )


def _kept(entity: Entity, judged: tuple[str, ...]) -> list[str]:
    """SQL: the ways a previous finding `p` on `entity` is the run's (see the module)."""
    kept = [f'p."check" IN {sql_list(FIELD_CHECKS)} AND NOT {_changed(entity)}']
    if entity in CARRIED:
        kept.append(f'p."check" IN {sql_list(judged)} AND NOT {_rejudged(entity)}')
    return kept


def carry(con: duckdb.DuckDBPyConnection, run_id: int, judged: tuple[str, ...]) -> None:
    """Carry the latest merge's findings into the run as the view `findings.CARRIED_VIEW`: its
    field findings on the staged records no event changed, and its findings under the checks
    `judged` (those judging a record against others) on the staged records outside the run's
    scope.

    A view, not a copy: at a million students the latest merge's findings are a hundred
    thousand rows, and copying them into the run's file, committing and checkpointing them
    took most of a second, before publishing copied them again. The view reads the file's own
    tables (the findings, the scope, the events), so it is read the same whether the file is
    open or attached to the store (runfile.publish)."""
    _gone(con, run_id)
    parts = [
        f"""SELECT * REPLACE ({int(run_id)} AS run_id) FROM {PREVIOUS_ISSUES} p
            WHERE p.entity = '{entity.name}' AND {kept} AND p.record_id NOT IN
                (SELECT record_id FROM {GONE} WHERE entity = '{entity.name}')"""
        for entity in FIELDS_CARRIED
        for kept in _kept(entity, judged)
    ]
    con.execute(f"CREATE OR REPLACE VIEW {CARRIED_VIEW} AS {' UNION ALL '.join(parts)}")

"""Which records an events run judges again: those its events reach, whatever the check.

An events run stages, for every record no event touched, the row the latest merged sync staged
(staging/events.py). A cross-table, duplicate or requirement finding on such a record can still
change, when something it is judged against changed: a namesake was created, the section's
teacher deleted, the school's grade span narrowed, or the latest merge changed the roster the
check compares with. So each carried entity gets a *scope*, a table of the ids it judges again;
every check judges the records in scope against all the others, and the latest merge's findings
on the records outside it are carried (carry.py). A finding depends on (and the scope follows):

  the record itself                      touched by an event
  its enrollments                        a membership of it came or went, or a section it was
                                         or is a member of changed (a section event carries
                                         every member: most of them were there before)
  its school, course, term               touched
  its section's teacher or members       touched (sections: a member or a teacher is a touched
                                         user; the teacher enrollments come with the section)
  the others sharing a duplicate key     some record with the key, before or after, is a
  (SIS id, state id, number in school,   touched person, a roster record that stays without
  name and date of birth)                being staged (kept while absent, added by hand), or
                                         one the latest merge archived
  the roster's enrollments or teacher    (whether a sync takes them away) the record had a
                                         finding that reads them (ROSTER_READING)

`tests/test_events_generated.py` holds this to a full run, finding for finding, over nights
of random changes of every kind above.
"""

from __future__ import annotations

import duckdb

from mgi_roster.entities import ENROLLMENTS, SECTIONS, STUDENTS, TEACHERS, Entity
from mgi_roster.kinds import sql_list
from mgi_roster.roster import rekey, sql
from mgi_roster.roster.sql import staging_table as stg
from mgi_roster.staging import events
from mgi_roster.store import execute

# The checks whose finding on a record reads the roster (whether the sync takes away the
# student's enrollments or the section's only teacher): their records are judged again.
ROSTER_READING = (
    "screening_class_coverage",
    "loses_all_enrollments",
    "student_without_section",
    "district_requirement",
    "loses_only_teacher",
    "section_without_teacher",
)


def table(entity: Entity) -> str:
    return f"scope_{entity.name}"


def within(entity: Entity, column: str, scoped: frozenset[str]) -> str:
    """SQL: " AND `column` IN (the scope of `entity`)" when it is scoped, else "": a filter a
    check applies early, to the rows it joins with the records it judges."""
    if entity.name not in scoped:
        return ""
    return f" AND {column} IN (SELECT id FROM {table(entity)})"


def judged(entity: Entity, records: str, scoped: frozenset[str]) -> str:
    """`records` (SQL rows of `entity`, with `id`) limited to the scope when it is scoped."""
    if entity.name not in scoped:
        return records
    return f"(SELECT * FROM {records} j WHERE j.id IN (SELECT id FROM {table(entity)}))"


def _people(entity: Entity) -> str:
    """The table of the people whose keys move others' duplicate findings (`_people_sql`)."""
    return f"scope_people_{entity.name}"


def _people_sql(entity: Entity) -> str:
    """The rows of people whose keys move others' duplicate findings, set aside once for the
    four keys: the touched ones, staged and as the roster holds them, and the roster's records
    that stay without being staged or that the latest merge archived."""
    from mgi_roster.review.validation.duplicates import DUPLICATE_CHECKS

    users = events.touched_ids("users")
    keys = [c for _, basis, _, among in DUPLICATE_CHECKS if entity in among for c in basis.columns]
    columns = ", ".join(f"r.{sql.q(c)}" for c in dict.fromkeys(["id", "sis_id", *keys]))
    latest = f"(SELECT max(valid_from) FROM {sql.current(entity)})"
    touched = sql.narrowed(stg(entity), "r", f"r.run_id = $run AND r.id IN {users}")
    kept = f"""r.id IN {users} OR {sql.unsent(entity, "r")}
        OR (r.archived AND r.valid_from = {latest})"""
    return f"""CREATE OR REPLACE TEMP TABLE {_people(entity)} AS
        SELECT {columns} FROM {touched} r
        UNION ALL SELECT {columns} FROM {sql.current(entity, where=kept)} r"""


def _sharing_a_key(entity: Entity) -> list[str]:
    """SELECTs of the staged ids sharing a duplicate key with a person whose key moved."""
    from mgi_roster.review.validation.duplicates import DUPLICATE_CHECKS

    people = _people(entity)
    parts = [
        f"""SELECT r.id FROM {stg(entity)} r WHERE r.run_id = $run
            AND r.sis_id IN (SELECT x.sis_id FROM {people} x)"""
    ]
    for _check, basis, _field, entities in DUPLICATE_CHECKS:
        if entity in entities:
            parts.append(
                f"""SELECT r.id FROM {stg(entity)} r WHERE r.run_id = $run
                    AND {rekey.key(basis, "r")} IN (SELECT {rekey.key(basis, "x")} FROM {people} x)"""
            )
    return parts


def _previous(entity: Entity) -> str:
    from mgi_roster.review.validation.carry import PREVIOUS_ISSUES

    return (
        f"SELECT record_id FROM {PREVIOUS_ISSUES} "
        f"WHERE entity = '{entity.name}' AND \"check\" IN {sql_list(ROSTER_READING)}"
    )


def _sources(entity: Entity) -> list[str]:
    users = events.touched_ids("users")
    schools, courses, terms = (
        events.touched_ids("schools"),
        events.touched_ids("courses"),
        events.touched_ids("terms"),
    )
    mine = f"SELECT id FROM {stg(entity)} WHERE run_id = $run"
    found = [_previous(entity), f"{mine} AND school IN {schools}"]
    if entity in (STUDENTS, TEACHERS):
        found += [f"SELECT record_id FROM {events.TOUCHED} WHERE record_type = 'users'"]
        found += _sharing_a_key(entity)
    if entity is STUDENTS:
        enrolled = f"SELECT user_id FROM {stg(ENROLLMENTS)} WHERE run_id = $run AND section_id"
        found += [
            f"SELECT user_id FROM {events.MOVED_MEMBERS}",
            f"{enrolled} IN (SELECT id FROM {events.MOVED_SECTIONS})",
            f"""SELECT user_id FROM {sql.seen(ENROLLMENTS)}
                WHERE section_id IN (SELECT id FROM {events.MOVED_SECTIONS})""",
            f"""{enrolled} IN (SELECT id FROM {stg(SECTIONS)} WHERE run_id = $run
                AND (course IN {courses} OR term_id IN {terms}))""",
        ]
    if entity is SECTIONS:
        found += [
            f"SELECT id FROM {events.MOVED_SECTIONS}",
            f"SELECT section_id FROM {events.MOVED_MEMBERS}",
            f"{mine} AND (course IN {courses} OR term_id IN {terms} OR teacher IN {users})",
            f"""SELECT section_id FROM {stg(ENROLLMENTS)}
                WHERE run_id = $run AND user_id IN {users}""",
        ]
    return found


# The entities judged by scope, whose findings are carried outside it (carry.py); schools, terms
# and courses are few: judged whole.
SCOPED = (STUDENTS, TEACHERS, SECTIONS)


def build(con: duckdb.DuckDBPyConnection, run_id: int, district_id: str) -> frozenset[str]:
    """Make each scoped entity's scope table; return the names of the entities judged by it."""
    args = {"run": run_id, "district": district_id}
    for entity in SCOPED:
        # One statement per source: in one UNION, DuckDB held every source's lookup at once and
        # ran out of a run's memory bound at a million students.
        # Tables of the run's file, not temporary: the carried findings' view reads them
        con.execute(f"CREATE OR REPLACE TABLE {table(entity)} (id VARCHAR)")
        if entity in (STUDENTS, TEACHERS):
            execute(con, _people_sql(entity), args)
        for part in _sources(entity):
            execute(
                con,
                f"INSERT INTO {table(entity)} SELECT id FROM ({part}) t(id) WHERE id IS NOT NULL",
                args,
            )
        con.execute(
            f"CREATE OR REPLACE TABLE {table(entity)} AS SELECT DISTINCT id FROM {table(entity)}"
        )
        con.execute(f"DROP TABLE IF EXISTS {_people(entity)}")
    return frozenset(e.name for e in SCOPED)

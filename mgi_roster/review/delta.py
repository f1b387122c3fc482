"""What an events run must look at: the records its events touched, and those they reach.

An events run (staging/events.py) stages what a full pull would have found: the roster's rows
as the latest merge saw them, with the touched records replaced by the events' newest state.
Every row no event touched is, by construction, the roster's own row, unchanged. So the diff
need not compare those: it classifies the records in `scope` (and the roster's rows the latest
merge did not see: archived, or kept while absent) and counts the rest as unchanged. Validation
does the same with its own scope (review/validation/scope.py), carrying the latest merge's
findings on the rest (review/validation/carry.py) while the District Parameters are the ones
that run was checked under.

The scope of an entity, as SQL over a row `alias`:

  schools, terms, courses   the record was touched
  students, teachers        the person was touched, or is one of the run's re-key/link pairs
                            (whose old id the diff shows under the new one)
  sections                  touched, or its primary teacher is a person in scope
  enrollments               it came, went or changed in a touched section (a section event
                            carries every member: events.MOVED_MEMBERS holds those that moved),
                            or its person is one of the run's re-key/link pairs (a touched
                            person's other memberships are the ones the roster holds)

`tests/test_events.py` holds an events run to a full run's changes, findings and approved
roster on the same day.
"""

from __future__ import annotations

import duckdb

from mgi_roster.entities import (
    ENROLLMENTS,
    SECTIONS,
    STUDENTS,
    TEACHERS,
    Entity,
)
from mgi_roster.roster import rekey, sql
from mgi_roster.staging import events


def _paired() -> str:
    """The ids of the run's re-key/link pairs, old and new (whose rows the diff shows under the
    new id)."""
    pairs = rekey.applied_pairs()
    return f"(SELECT old_id FROM {pairs} UNION ALL SELECT new_id FROM {pairs})"


def _people() -> str:
    return (
        f"(SELECT record_id FROM {events.TOUCHED} WHERE record_type = 'users' "
        f"UNION ALL SELECT * FROM {_paired()})"
    )


def scope(entity: Entity, alias: str) -> str:
    """SQL: row `alias` of `entity` is one an events run's diff must classify (`$run`)."""
    a = f"{alias}."
    sections = events.touched_ids(events.RECORD_TYPES[SECTIONS.name])
    if entity in (STUDENTS, TEACHERS):
        return f"{a}id IN {_people()}"
    if entity is SECTIONS:
        return f"({a}id IN {sections} OR {a}teacher IN {_people()})"
    if entity is ENROLLMENTS:
        moved = f"(SELECT section_id, user_id FROM {events.MOVED_MEMBERS})"
        # A touched person's other memberships are the roster's (a section event carries the
        # ones that came or went): only a re-key or link rewrites them
        return f"(({a}section_id, {a}user_id) IN {moved} OR {a}user_id IN {_paired()})"
    return events.touched(entity, f"{a}id")


def unseen(alias: str) -> str:
    """SQL: a roster row the latest merge did not see (archived, or kept while absent): the diff
    classifies it whatever the events say."""
    return f"({alias}.archived OR {alias}.last_seen_run IS NOT NULL)"


def untouched_count(con: duckdb.DuckDBPyConnection, entity: Entity, run_id: int) -> int:
    """The run's staged rows of `entity` outside the scope: the roster's, unchanged."""
    row = con.execute(
        f"SELECT count(*) FROM {sql.staged(entity)} s WHERE NOT {scope(entity, 's')}",
        {"run": run_id},
    ).fetchone()
    return int(row[0]) if row else 0

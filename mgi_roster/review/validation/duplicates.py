"""Duplicate people: two records of one person under different ids.

A staged student (or teacher) shares with another record a state id (error: a state id is one
person's), or a student number in one school, or a name and date of birth (warnings: twins and
namesakes exist). The other record is another staged one, or a live roster record that this sync
leaves in the roster (added by hand, or kept while absent with All Records Processing off) under
another id. A new record against a record that leaves the roster is not a duplicate but a re-key
or a link candidate (roster/rekey.py), shown as such on the Changes page. The bases are the ones
rekey.py declares, so "the same person" means one thing everywhere.
"""

from __future__ import annotations

from mgi_roster.entities import STUDENTS, TEACHERS, Entity
from mgi_roster.review.validation import checks
from mgi_roster.review.validation.findings import finding, insert, literal, name_sql, records
from mgi_roster.review.validation.scope import judged, table
from mgi_roster.roster import sql
from mgi_roster.roster.rekey import NAME_DOB, NUMBER_IN_SCHOOL, STATE_ID, Basis, key, same
from mgi_roster.staging import events

# check name, the basis, the field an issue names, the entities it runs on
DUPLICATE_CHECKS: tuple[tuple[str, Basis, str, tuple[Entity, ...]], ...] = (
    ("duplicate_state_id", STATE_ID, "state_id", (STUDENTS, TEACHERS)),
    ("duplicate_student_number", NUMBER_IN_SCHOOL, "student_number", (STUDENTS,)),
    ("duplicate_name_dob", NAME_DOB, "dob", (STUDENTS,)),
)


def _others(entity: Entity, basis: Basis, near: str = "") -> str:
    """The records a staged one is compared with: the run's, and the roster's that stay.

    `near`: an events run's judged keys (SQL of keys). Its staging holds every roster record the
    latest merge saw and no event touched, so the roster's others are looked up among those
    staged ids only; and only the records with a judged key are read whole: their keys are
    found first, from the key's own columns (a million staged rows' names and keys, computed
    to be filtered out, were most of a check's time)."""
    columns = ", ".join(sql.q(c) for c in basis.columns)
    by_hand = "coalesce(o.manual, false) OR " if entity.manual else ""
    stays = [f"({by_hand}NOT $all_records)"]
    staged = f"SELECT id FROM {sql.staging_table(entity)} WHERE run_id = $run"
    mine = records(entity)
    live = sql.current(entity, live=True)
    if near:
        users = events.touched_ids(events.RECORD_TYPES[entity.name])
        stays += [
            f"(o.id IN {users} OR {sql.unsent(entity, 'o')})",
            f"{key(basis, 'o')} IN ({near})",
        ]
        sharing = f"""SELECT k.id FROM {sql.staging_table(entity)} k
            WHERE k.run_id = $run AND {key(basis, "k")} IN ({near})"""
        mine = f"(SELECT * FROM {mine} m WHERE m.id IN ({sharing}))"
        staged += f" AND id IN (SELECT o.id FROM {live} o WHERE {' AND '.join(stays)})"
    stay = " AND ".join(stays)
    return f"""(SELECT id, {name_sql(entity)} AS name, {columns}, false AS in_roster FROM {mine}
        UNION ALL
        SELECT id, {name_sql(entity, "o")} AS name, {", ".join(f"o.{sql.q(c)}" for c in basis.columns)}, true
        FROM {live} o WHERE o.id NOT IN ({staged}) AND {stay})"""


def duplicate_person(
    entity: Entity, check: str, basis: Basis, field: str, scoped: frozenset[str] = frozenset()
) -> str:
    """Each staged record sharing the basis with another record, with the first five others.

    Only the records whose key (rekey.key) appears twice are paired: one aggregation over
    keys, which spills, picks them, so a million students pair only the few that share one.
    Each record's others are numbered by a window (which spills too) and the first five are
    picked by rank: a list over every pair, ordered in memory, ran out of a run's 128 MB on a
    million demo students. Only the keys of the records judged are looked at (all of them,
    unless an events run's scope)."""
    severity = checks.severity(check, entity.name)
    held = f"SELECT id FROM {sql.current(entity)}"
    if entity.name in scoped:  # the roster's among the few judged: not a table of its million
        held = f"SELECT c.id FROM {sql.current(entity)} c WHERE c.id IN (SELECT id FROM {table(entity)})"
    new = f"r.id NOT IN ({held})"
    mine = judged(entity, records(entity), scoped)
    others = _others(entity, basis)
    start = ""
    if entity.name in scoped:  # the others sharing a key with a record judged, found once
        judged_keys = f"SELECT {key(basis, 'j')} FROM {mine} j"
        start = f"WITH near AS MATERIALIZED (SELECT * FROM {_others(entity, basis, judged_keys)}) "
        others = "near"
    shared = f"""(SELECT k FROM (SELECT {key(basis, "x")} AS k FROM {others} x)
        WHERE k IS NOT NULL GROUP BY k HAVING count(*) > 1)"""
    pairs = f"""({start}SELECT r.*, o.id AS o_id, o.name AS o_name,
            row_number() OVER (PARTITION BY r.id ORDER BY o.id) AS o_rank,
            count(*) OVER (PARTITION BY r.id) AS o_count
        FROM (SELECT * FROM {mine} r WHERE {key(basis, "r")} IN {shared}) r
        JOIN (SELECT * FROM {others} o WHERE {key(basis, "o")} IN {shared}) o
          ON {key(basis, "r")} = {key(basis, "o")} AND o.id <> r.id AND {same(basis, "r", "o")}
        WHERE NOT (o.in_roster AND {new}))"""
    # The others by rank into fixed slots, each an aggregate of fixed size: a list aggregated
    # over the pairs (even five per record) is held in memory and cannot spill.
    slots = ", ".join(
        f"{{'id': any_value(r.o_id) FILTER (WHERE r.o_rank = {n}), "
        f"'name': any_value(r.o_name) FILTER (WHERE r.o_rank = {n})}}"
        for n in range(1, SHOWN + 1)
    )
    return finding(
        literal(check),
        literal(severity),
        field=f"'{field}'",
        value=f"any_value(r.{sql.q(field)})",
        params=f"json_object('others', list_filter([{slots}], lambda x: x.id IS NOT NULL), 'more', "
        f"CASE WHEN any_value(r.o_count) > {SHOWN} THEN any_value(r.o_count) - {SHOWN} END)",
    ) + (f" FROM {pairs} r WHERE r.o_rank <= {SHOWN} GROUP BY r.id")


SHOWN = 5  # the other records an issue names; the rest are counted


def statements(scoped: frozenset[str] = frozenset()) -> list[str]:
    """One INSERT per duplicate check and entity (binds $run, $district, $all_records)."""
    return [
        insert(entity, duplicate_person(entity, check, basis, field, scoped))
        for check, basis, field, entities in DUPLICATE_CHECKS
        for entity in entities
    ]

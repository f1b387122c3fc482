"""Staging from Clever's events: the roster of the latest merge, with the events since applied.

An events run stages what a full pull would have found, without pulling it: the rows the
latest merged sync saw (`roster.sql.seen`: the base's copy of them when the run's file started
from the base its latest merge left, staging/base.py, else copied from the roster's snapshot),
minus every record an event touched, plus the newest state of each touched record. Everything
after staging (validation, diff, review, merge) then runs unchanged, so an events run and a
full run of the same day produce the same changes.

Set-based:

1. every page of events goes into `clever_events` as it arrives (one statement per page: the
   event's position in the feed, its type split into record type and action, the record id and
   the record itself, `data.object`), dropped once read whole;
2. per record, the newest event wins (`events_touched`: its position in the feed): applying
   events in order is keeping the last one, since each carries the whole record. A
   `*.deleted` record is absent from staging; a `users.*` record is a student and/or a teacher
   by the roles it holds, as `/users?role=` lists it; a section's `students` and `teachers`
   arrays are its enrollments. Replaying an event changes nothing;
3. a section event carries every member, and most are the ones the section had: staging keeps
   the roster's memberships and replaces only those that came, went or changed
   (MOVED_MEMBERS, which validation's scope and the diff read too).

The objects are flattened by staging/pages.py's SQL made from entities.py, the very statements
that flatten a list page: an event's `data.object` is the record a list endpoint sends.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from mgi_roster.entities import ENROLLMENTS, FETCHED, MEMBER_ROLES, SECTIONS, Entity
from mgi_roster.kinds import sql_list
from mgi_roster.roster import sql
from mgi_roster.staging import base
from mgi_roster.staging.pages import members_sql, stage_sql
from mgi_roster.store import execute, has_table

# The record type of Clever's event types ("users.updated" → "users") each entity is read from.
RECORD_TYPES: dict[str, str] = {e.name: (e.endpoint or "").strip("/") for e in FETCHED}
ACTIONS = ("created", "updated")  # an object to stage; "deleted": absent
# The record types the roster holds, as an SQL list (districts.*, resources.* are not its)
_ROSTER_TYPES = sql_list(sorted(set(RECORD_TYPES.values())))
PAGE_SPAN = 1_000_000  # positions per page: more than any page's events

_TABLE = """CREATE TEMP TABLE IF NOT EXISTS clever_events (
    run_id INTEGER NOT NULL, seq BIGINT NOT NULL, event_id VARCHAR, record_type VARCHAR,
    action VARCHAR, record_id VARCHAR, object JSON, newest BOOLEAN)"""

# A page parsed once into the events' fields (twice as fast as reading each by its path).
_PAGE = f"""INSERT INTO clever_events
    SELECT $run, $page * {PAGE_SPAN} + i, e.id, split_part(e.type, '.', 1),
           split_part(e.type, '.', 2), NULLIF(json_extract_string(e.data.object, '$.id'), ''),
           e.data.object, NULL
    FROM (SELECT unnest(d).data AS e, unnest(range(len(d))) AS i FROM (SELECT from_json($body,
        '{{"data": [{{"data": {{"id": "VARCHAR", "type": "VARCHAR", "data": {{"object": "JSON"}}}}}}]}}'
        ).data AS d))"""

# The newest event of each record the run's events touched, by its place in the feed: applying
# events in order is keeping the last one. Kept once applied: validation and the diff look at
# these records only (review/delta.py); every other staged row is the roster's, unchanged.
# Keys and positions only, a table of the run's file: DuckDB can spill it.
TOUCHED = "events_touched"
_LATEST = f"""CREATE OR REPLACE TABLE {TOUCHED} AS
    SELECT record_type, record_id, max(seq) AS seq FROM clever_events
    WHERE run_id = $run AND record_id IS NOT NULL
      AND record_type IN {_ROSTER_TYPES}
    GROUP BY ALL"""

# The newest event of each touched record, marked in the feed (an update of a flag): its
# created/updated objects are read from there, as they are. A copy of them set aside took half a
# second at a million students, and flattening straight out of a join with the feed kept the
# events' JSON in memory (150 MB) and ran out of a run's bound. The feed is a temporary table:
# DuckDB spills it as it is, where writing it into the run's file compressed the JSON.
_NEWEST = f"""UPDATE clever_events SET newest = true
    WHERE run_id = $run AND seq IN (SELECT seq FROM {TOUCHED})"""


def _docs(entity: Entity) -> str:
    return f"""SELECT object AS doc FROM clever_events WHERE run_id = $run AND newest
        AND record_type = '{RECORD_TYPES[entity.name]}'
        AND action IN {sql_list(ACTIONS)} AND object IS NOT NULL"""


# The members the touched sections' newest events name, before staging takes those that moved
SENT_MEMBERS = "events_members"


@dataclass(frozen=True)
class Applied:
    events: int  # events read of the record types the roster holds
    read: int  # every event read (districts.*, resources.* are not the roster's)
    last: str | None  # the newest event id read: the run's position in the feed


def touched_ids(record_type: str) -> str:
    """SQL: the ids of the records of `record_type` an events run's events touched."""
    return f"(SELECT record_id FROM {TOUCHED} WHERE record_type = '{record_type}')"


def touched(entity: Entity, column: str = "id") -> str:
    """SQL: `column` (a record's id) names a record of `entity` one of the run's events touched."""
    return f"{column} IN {touched_ids(RECORD_TYPES[entity.name])}"


def changed(entity: Entity, column: str = "id") -> str:
    """SQL: `column` names a record of `entity` whose row an event may have changed: a touched
    one (a touched section whose row is as it was, a member having come or gone, is not: its
    values are the ones the latest merge saw)."""
    if entity is SECTIONS:
        return f"{column} IN (SELECT id FROM {MOVED_SECTIONS})"
    return touched(entity, column)


def is_events_run(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con` is the file of a run staged from events (it knows what they touched)."""
    return has_table(con, TOUCHED)


def _replaced(entity: Entity) -> str:
    """SQL: a row of `entity` the run's events replace. No membership, at first: a section's
    event replaces only those of its members that moved (MOVED_MEMBERS)."""
    return "false" if entity is ENROLLMENTS else touched(entity)


def _kept_sql(entity: Entity) -> str:
    """The rows the latest merged sync saw that no event replaces, into staging."""
    names = ", ".join(sql.q(c) for c in entity.column_names)
    return (
        f"INSERT INTO {sql.staging_table(entity)} (run_id, district_id, {names}) "
        f"SELECT $run, $district, {names} FROM {sql.seen(entity)} WHERE NOT {_replaced(entity)}"
    )


KEPT_SQL = {e.name: _kept_sql(e) for e in (*FETCHED, ENROLLMENTS)}


def _keep(con: duckdb.DuckDBPyConnection, entity: Entity, args: dict[str, object]) -> bool:
    """Stage the rows no event replaces: the run's copy of the base's seen rows (staging/base.py)
    becomes its staging, less the touched records, when the run's file started from the base
    (True); else they are copied from the roster's snapshot."""
    seen, staged = base.seen_table(entity), sql.staging_table(entity)
    if not has_table(con, seen):
        execute(con, KEPT_SQL[entity.name], args)
        return False
    con.execute(f"DROP TABLE {staged}")
    con.execute(f"ALTER TABLE {seen} RENAME TO {staged}")
    # A column of one value, added in a moment (an UPDATE of every row would take seconds and
    # hold each row's new value in memory until DuckDB's next checkpoint)
    con.execute(f"ALTER TABLE {staged} ADD COLUMN run_id INTEGER DEFAULT {int(str(args['run']))}")
    execute(con, f"DELETE FROM {staged} WHERE {_replaced(entity)}", args)
    return True


STAGE_SQL = {e.name: stage_sql(e, _docs(e)) for e in FETCHED}
SENT_SQL = f"INSERT INTO {SENT_MEMBERS} {members_sql(_docs(SECTIONS))}"


# What the section events really changed. A section event carries the whole section, but most of
# its members are the ones it had (a section gains a student): staging replaces, and
# validation's scope and the diff look at, only these.
MOVED_SECTIONS = "events_moved_sections"  # touched sections whose row changed, came or went
MOVED_MEMBERS = "events_moved_members"  # (section_id, user_id) that came, went or changed


def _moved_sql() -> list[str]:
    sections = touched_ids(RECORD_TYPES[SECTIONS.name])
    names = ", ".join(sql.q(c) for c in ENROLLMENTS.column_names)
    pair = "(section_id, user_id)"
    staged = sql.staging_table(ENROLLMENTS)

    def count(sent: bool, role: str) -> str:
        return f"count(*) FILTER (WHERE {'' if sent else 'NOT '}sent AND role = '{role}')"

    # Each membership of the touched sections as the events carry them, grouped with its equals
    # among the rows staged so far (the roster's): a member whose count in a role differs, or
    # whom the roster holds in a role no event carries, moved. A grouping spills to disk within
    # the run's memory bound (a join of the two sides, 1.6M rows each at a million students,
    # ran out of it); the counts keep a member a section names twice exactly as a full pull
    # stages it, and are what staging inserts (no second pass over the events' members).
    newest = f"SELECT section_id, user_id, role, true AS sent FROM {SENT_MEMBERS}"
    kept = f"""SELECT section_id, user_id, role, false FROM {staged}
        WHERE run_id = $run AND section_id IN {sections}"""
    differs = " OR ".join(
        [f"{count(True, r)} <> {count(False, r)}" for r in MEMBER_ROLES]
        + [
            f"count(*) FILTER (WHERE NOT sent AND (role IS NULL OR role NOT IN {sql_list(MEMBER_ROLES)})) > 0"
        ]
    )
    sent = ", ".join(f"{count(True, r)} AS sent_{r}" for r in MEMBER_ROLES)
    again = " UNION ALL ".join(
        f"SELECT section_id, user_id, '{r}' AS role FROM {MOVED_MEMBERS}, range(sent_{r})"
        for r in MEMBER_ROLES
    )
    return [
        f"""CREATE OR REPLACE TABLE {MOVED_MEMBERS} AS
            SELECT section_id, user_id, {sent} FROM ({newest} UNION ALL {kept})
            GROUP BY section_id, user_id HAVING {differs}""",
        f"DELETE FROM {staged} WHERE run_id = $run AND {pair} IN (SELECT {pair} FROM {MOVED_MEMBERS})",
        f"""INSERT INTO {staged} (run_id, district_id, {names})
            SELECT $run, $district, {names} FROM ({again})""",
        f"""CREATE OR REPLACE TABLE {MOVED_SECTIONS} AS
            SELECT coalesce(s.id, r.id) AS id
            FROM (SELECT * FROM {sql.staging_table(SECTIONS)} WHERE run_id = $run
                  AND id IN {sections}) s
            FULL OUTER JOIN (SELECT * FROM {sql.seen(SECTIONS)} WHERE id IN {sections}) r
              ON s.id = r.id
            WHERE s.id IS NULL OR r.id IS NULL OR {sql.differs(SECTIONS, "s", "r")}""",
    ]


MOVED_SQL = _moved_sql()


def receive(con: duckdb.DuckDBPyConnection, run_id: int, number: int, body: str) -> None:
    """Keep one page of events (page `number`, 1-based, in feed order)."""
    con.execute(_TABLE)
    con.execute(_PAGE, {"run": run_id, "page": number, "body": body})


def apply(con: duckdb.DuckDBPyConnection, run_id: int, district_id: str) -> Applied:
    """Stage the rows of the latest merge with the received events applied (see the module)."""
    con.execute(_TABLE)
    args = {"run": run_id, "district": district_id}
    execute(con, _LATEST, args)
    swapped = False
    execute(con, _NEWEST, args)
    for entity in FETCHED:
        swapped |= _keep(con, entity, args)
        execute(con, STAGE_SQL[entity.name], args)
    # The three columns compared only (with a run's and a district's ids on each of a million
    # rows, the table filled a third of a run's memory bound and the comparison spilled more)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {SENT_MEMBERS} "
        "(section_id VARCHAR, user_id VARCHAR, role VARCHAR)"
    )
    execute(con, SENT_SQL, args)
    row = con.execute(
        f"""SELECT count(*) FILTER (WHERE record_type IN {_ROSTER_TYPES}), count(*),
                   arg_max(event_id, seq)
            FROM clever_events WHERE run_id = ?""",
        [run_id],
    ).fetchone()
    assert row is not None
    # Read whole: dropped, so that the rest of the run does not spill the feed (150 MB of JSON
    # at a million students, more than a run's memory bound) to make room
    con.execute("DROP TABLE clever_events")
    swapped |= _keep(con, ENROLLMENTS, args)
    for statement in MOVED_SQL:
        execute(con, statement, args)
    con.execute(f"DROP TABLE {SENT_MEMBERS}")
    if swapped:
        # Written out: what the swap left in memory (the added run_id columns, the deleted
        # rows' marks) would otherwise stay there, unspillable, until DuckDB's next checkpoint
        con.execute("CHECKPOINT")
    return Applied(events=int(row[0]), read=int(row[1]), last=row[2])


def discard(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """Forget the events received (the run falls back to a full pull)."""
    con.execute(_TABLE)
    con.execute("DELETE FROM clever_events WHERE run_id = ?", [run_id])

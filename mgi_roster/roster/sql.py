"""The versioned roster's SQL vocabulary: every query about roster rows is built here, once.

The roster is versioned per merge. A row of `roster_<entity>` is valid from the merge version
that wrote it (`valid_from`) until the version that replaced it (`valid_to`, NULL = current).
Three ideas follow from that, and each is one function below:

  current(entity)          the district's rows valid now (optionally without the archived ones)
  as_of(entity, version)   the district's rows as they were after merge `version`
  classify(entity, ...)    a sync's staged rows against the current ones: one row per key with
                           its change kind (kinds.ChangeKind) and the fields that changed;
                           the diff lists it, the merge writes from it

Everything returned is SQL text with named parameters: `$district` always, `$run` where staged
rows are read, `$version` for as_of with a version. Identifiers come from the entity specs,
never from user input; every value is a bound parameter.

Staged rows may live in another database (a run's own staging file, ATTACHed as `schema`):
`staged()` and `classify()` take the schema to read them from.
"""

from __future__ import annotations

from mgi_roster.entities import ENROLLMENTS, SCHOOLS, STUDENTS, Entity
from mgi_roster.kinds import ChangeKind, MergeKind


def q(name: str) -> str:
    """Quote an identifier from the entity specs (never from user input)."""
    return '"' + name.replace('"', '""') + '"'


def staging_table(entity: Entity, schema: str = "") -> str:
    return f"{schema}.stg_{entity.name}" if schema else f"stg_{entity.name}"


def roster_table(entity: Entity) -> str:
    return f"roster_{entity.name}"


def key_join(entity: Entity, left: str, right: str) -> str:
    """`left` and `right` hold the same record."""
    return " AND ".join(f"{left}.{q(k)} = {right}.{q(k)}" for k in entity.key)


def record_id(entity: Entity, alias: str) -> str:
    """One text id per record: the key, or its parts joined with ':'."""
    if len(entity.key) == 1:
        return f"{alias}.{q(entity.key[0])}"
    return "concat_ws(':', " + ", ".join(f"{alias}.{q(k)}" for k in entity.key) + ")"


def differs(entity: Entity, left: str, right: str) -> str:
    """Some compared field (everything but the key) differs between `left` and `right`."""
    return (
        " OR ".join(
            f"{left}.{q(c.name)} IS DISTINCT FROM {right}.{q(c.name)}" for c in entity.fields
        )
        or "false"
    )


def narrowed(table: str, alias: str, where: str) -> str:
    """SQL: the rows of `table` (alias `alias` in `where`) where `where` holds, for a few rows
    of many: their row ids are found first, from the columns `where` reads, then only those rows
    are read whole. Filtered by a join, DuckDB read every column of a million rows (0.2 s)."""
    return (
        f"(SELECT * FROM {table} WHERE rowid IN "
        f"(SELECT {alias}.rowid FROM {table} {alias} WHERE {where}))"
    )


def staged(entity: Entity, *, schema: str = "", deduplicate: bool = False, where: str = "") -> str:
    """A run's staged rows that have a key. With `deduplicate`, one row per key: a Clever id sent
    twice is a validation error, not two changes (and a run with errors never merges whole).
    `where`: only the few rows (alias `s`) it holds for, `narrowed`."""
    not_null = " AND ".join(f"{q(k)} IS NOT NULL" for k in entity.key)
    table = staging_table(entity, schema)
    if where:
        table = narrowed(table, "s", f"s.run_id = $run AND ({where})")
    rows = f"SELECT * FROM {table} WHERE run_id = $run AND {not_null}"
    if deduplicate:
        key = ", ".join(q(k) for k in entity.key)
        rows += f" QUALIFY row_number() OVER (PARTITION BY {key}) = 1"
    return f"({rows})"


def current(entity: Entity, *, live: bool = False, where: str = "") -> str:
    """The district's rows of `entity` valid now; `live` leaves the archived ones out. `where`:
    only the few rows (alias `r`) it holds for, `narrowed`."""
    valid = "district_id = $district AND valid_to IS NULL" + (" AND NOT archived" if live else "")
    if where:
        return narrowed(roster_table(entity), "r", f"{valid} AND ({where})")
    return f"(SELECT * FROM {roster_table(entity)} WHERE {valid})"


def school_names() -> str:
    """(id, name) of every school a run (`$run`) or the district's roster knows; the staged
    name first."""
    return f"""(SELECT id, arg_min(name, rank) AS name FROM (
            SELECT id, name, 0 AS rank FROM {staging_table(SCHOOLS)} WHERE run_id = $run
            UNION ALL
            SELECT id, name, 1 AS rank FROM {current(SCHOOLS)}
        ) GROUP BY id)"""


def seen(entity: Entity) -> str:
    """The district's current rows that the latest merged sync saw: what the source held then.
    Archived rows and the live rows it did not send (`unsent`) are not in it. An events sync
    (staging/events.py) starts from these rows, as a full pull would find them."""
    return f"(SELECT * FROM {current(entity, live=True)} r WHERE NOT {unsent(entity, 'r')})"


def unsent(entity: Entity, alias: str) -> str:
    """SQL: a live roster row (alias `alias`) that the latest merged sync did not send: kept
    while absent (`last_seen_run` set), or added by hand (no sync ever sent it). Beside the
    records its events touched, these are the live ones an events run must look up itself."""
    by_hand = f" OR coalesce({alias}.manual, false)" if entity.manual else ""
    return f"({alias}.last_seen_run IS NOT NULL{by_hand})"


def latest_merge_run(*, bounded: bool = False) -> str:
    """The run of the district's latest merge in force (up to `$version` when `bounded`)."""
    bound = " AND version <= $version" if bounded else ""
    return (
        f"(SELECT run_id FROM merges WHERE district_id = $district AND kind = '{MergeKind.MERGE}' "
        f"AND NOT undone{bound} ORDER BY version DESC LIMIT 1)"
    )


def as_of(entity: Entity, version: int | None = None) -> str:
    """The district's rows of `entity` after merge `$version` (None: now), with last_seen_run
    filled in (a merge leaves it NULL on the rows its sync saw unchanged: "seen in the latest
    merge")."""
    valid = (
        "valid_to IS NULL"
        if version is None
        else "valid_from <= $version AND (valid_to IS NULL OR valid_to > $version)"
    )
    seen = latest_merge_run(bounded=version is not None)
    return (
        f"(SELECT * REPLACE (coalesce(last_seen_run, {seen}) AS last_seen_run) "
        f"FROM {roster_table(entity)} WHERE district_id = $district AND {valid})"
    )


def plain_roster(entity: Entity) -> str:
    """The roster side of `classify` when no record changes its id: the current rows."""
    return (
        f"(SELECT *, NULL::VARCHAR AS _previous_id, NULL::VARCHAR AS _match FROM {current(entity)})"
    )


def _absent(entity: Entity, all_records: bool, schema: str) -> str:
    """The change of a record in the roster and absent from the sync. With All Records
    Processing off it is reported (absent), except a class membership of a student who is in
    the sync: a present student's memberships follow the sync (archived)."""
    if all_records:
        return f"'{ChangeKind.ARCHIVED}'"
    if entity is ENROLLMENTS:
        present = f"(SELECT id FROM {staged(STUDENTS, schema=schema)})"
        return (
            f"CASE WHEN r.role = 'student' AND r.user_id IN {present} "
            f"THEN '{ChangeKind.ARCHIVED}' ELSE '{ChangeKind.ABSENT}' END"
        )
    return f"'{ChangeKind.ABSENT}'"


def classify(
    entity: Entity,
    *,
    all_records: bool,
    schema: str = "",
    deduplicate: bool = False,
    roster: str | None = None,
    staged_where: str = "",
    roster_where: str = "",
) -> str:
    """A SELECT comparing a run's staged rows (`s`) with the current roster (`r`), one row per key:

      key columns        the record's key
      record_id          its text id
      change             a ChangeKind; NULL for a record archived before and still absent
      fields             for updated and restored records, the fields that differ:
                         a list of {field, before, after} (text)
      record_name, school   of the staged row, else of the roster's
      was_absent         the roster's row is a kept-but-absent version (last_seen_run set):
                         it needs a new version even when nothing else changed

      previous_id        the record's id before this sync, when it changes (rekeyed, linked)

    `all_records`: All Records Processing, under which absent records are archived.
    `roster`: the roster side, the current rows with `_previous_id` and `_match` (the change
    kind of a record re-identified by a re-key or a link: roster/rekey.py); default
    `plain_roster`. A record added by hand (`manual`) is never archived nor reported absent.
    `staged_where`, `roster_where`: conditions on `s` and `r` limiting what is compared (an
    events run compares only what its events reach: review/delta.py).
    """
    s_key, r_key = f"s.{q(entity.key[0])}", f"r.{q(entity.key[0])}"
    change_differs = differs(entity, "s", "r")
    structs = ", ".join(
        f"{{'field': '{c.name}', 'before': CAST(r.{q(c.name)} AS VARCHAR), "
        f"'after': CAST(s.{q(c.name)} AS VARCHAR)}}"
        for c in entity.fields
    )
    fields = (
        f"CASE WHEN {s_key} IS NOT NULL AND {r_key} IS NOT NULL AND ({change_differs}) THEN "
        f"list_filter([{structs}], lambda f: f.before IS DISTINCT FROM f.after) END"
        if entity.fields
        else "NULL"
    )
    kept = " OR coalesce(r.manual, false)" if entity.manual else ""
    change = (
        f"CASE WHEN {r_key} IS NULL THEN '{ChangeKind.ADDED}' "
        f"WHEN {s_key} IS NULL THEN CASE WHEN r.archived{kept} THEN NULL "
        f"ELSE {_absent(entity, all_records, schema)} END "
        "WHEN r._match IS NOT NULL THEN r._match "
        f"WHEN r.archived THEN '{ChangeKind.RESTORED}' "
        f"WHEN {change_differs} THEN '{ChangeKind.UPDATED}' ELSE '{ChangeKind.UNCHANGED}' END"
    )
    keys = ", ".join(f"coalesce(s.{q(k)}, r.{q(k)}) AS {q(k)}" for k in entity.key)
    staged_rows = staged(entity, schema=schema, deduplicate=deduplicate, where=staged_where)
    roster_rows = roster or plain_roster(entity)
    if roster_where:
        roster_rows = f"(SELECT * FROM {roster_rows} r WHERE {roster_where})"
    return f"""SELECT {keys},
            CASE WHEN {s_key} IS NOT NULL THEN {record_id(entity, "s")}
                 ELSE {record_id(entity, "r")} END AS record_id,
            {change} AS change, {fields} AS fields,
            coalesce({entity.display_sql("s")}, {entity.display_sql("r")}) AS record_name,
            coalesce({entity.school_sql("s")}, {entity.school_sql("r")}) AS school,
            r.last_seen_run IS NOT NULL AS was_absent, r._previous_id AS previous_id
        FROM {staged_rows} s
        FULL OUTER JOIN {roster_rows} r ON {key_join(entity, "s", "r")}"""

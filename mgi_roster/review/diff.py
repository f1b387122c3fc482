"""Record diffs: a staged run against the roster the MGI holds now, in DuckDB SQL.

Per entity and key:
  added     in the sync, never in the roster
  updated   in both, some field differs: one changes row per field, before → after
  restored  in the sync, archived in the roster (plus a row per field that differs)
  archived  in the roster, absent from the sync, with All Records Processing on
  absent    the same with it off: reported, never applied
  unchanged counted, not listed

A record that is in the sync is never absent, however invalid its values are: validation keeps
every staged record (bad values become issues, not deletions), so a bad value can never turn
into an archive. Guards hold a run for confirmation when a share of any entity would be archived
or updated above the district's thresholds; the first sync into an empty roster trips none.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import duckdb

from mgi_roster.entities import ENTITIES, Entity
from mgi_roster.parameters import Parameters
from mgi_roster.store import execute, q, roster, stg

CHANGE_KINDS = ("added", "updated", "archived", "absent", "restored")
COUNT_KINDS = ("added", "updated", "archived", "restored", "unchanged")


@dataclass(frozen=True)
class Guard:
    entity: str
    kind: str  # "archive" or "update"
    pct: float
    threshold: float
    count: int
    total: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sentence(self) -> str:
        verb = "archive" if self.kind == "archive" else "update"
        return (
            f"this sync would {verb} {self.count} of {self.total} {self.entity} "
            f"({self.pct:.1f} %, above the {self.threshold:g} % threshold)"
        )


@dataclass(frozen=True)
class Diff:
    counts: dict[str, dict[str, int]]
    guards: list[Guard]
    roster_version: int


def current_version(con: duckdb.DuckDBPyConnection, district_id: str) -> int:
    """The merge version the district's roster is at (0 before the first merge)."""
    row = con.execute(
        "SELECT coalesce(max(version), 0) FROM merges WHERE district_id = ? AND kind = 'merge' AND NOT undone",
        [district_id],
    ).fetchone()
    return int(row[0]) if row else 0


def staged_rows(entity: Entity, *, deduplicate: bool = True) -> str:
    """The run's staged rows with a key. With `deduplicate`, one row per key: a duplicated Clever
    id is a validation error, not a diff (and a run with errors is never merged)."""
    not_null = " AND ".join(f"{q(k)} IS NOT NULL" for k in entity.key)
    rows = f"SELECT * FROM {stg(entity)} WHERE run_id = $run AND {not_null}"
    if deduplicate:
        key = ", ".join(q(k) for k in entity.key)
        rows += f" QUALIFY row_number() OVER (PARTITION BY {key}) = 1"
    return f"({rows})"


def current_rows(entity: Entity) -> str:
    return f"(SELECT * FROM {roster(entity)} WHERE district_id = $district AND valid_to IS NULL)"


def _qualified(expression: str, alias: str, entity: Entity) -> str:
    """An entity spec's SQL over bare column names (display, school), read from `alias`."""
    names = "|".join(sorted(entity.column_names, key=len, reverse=True))
    return re.sub(rf"(?<![\w.'])({names})\b", rf"{alias}.\1", expression)


def _record_id(entity: Entity, alias: str) -> str:
    if len(entity.key) == 1:
        return f"{alias}.{q(entity.key[0])}"
    return "concat_ws(':', " + ", ".join(f"{alias}.{q(k)}" for k in entity.key) + ")"


def _join(entity: Entity) -> str:
    return " AND ".join(f"s.{q(k)} = r.{q(k)}" for k in entity.key)


def _plan_sql(entity: Entity, all_records: bool, deduplicate: bool) -> str:
    """One FULL OUTER JOIN of the sync and the roster: a row per key with its kind of change,
    the fields that changed (before → after) and, for changed records, the name and school."""
    first_key = q(entity.key[0])
    differs = (
        " OR ".join(f"s.{q(c.name)} IS DISTINCT FROM r.{q(c.name)}" for c in entity.fields)
        or "false"
    )
    structs = ", ".join(
        f"{{'field': '{c.name}', 'before': CAST(r.{q(c.name)} AS VARCHAR), 'after': CAST(s.{q(c.name)} AS VARCHAR)}}"
        for c in entity.fields
    )
    fields = (
        f"CASE WHEN s.{first_key} IS NOT NULL AND r.{first_key} IS NOT NULL AND ({differs}) THEN "
        f"list_filter([{structs}], lambda f: f.before IS DISTINCT FROM f.after) END"
        if entity.fields
        else "NULL"
    )
    absent = "'archived'" if all_records else "'absent'"
    change = (
        f"CASE WHEN r.{first_key} IS NULL THEN 'added' "
        f"WHEN s.{first_key} IS NULL THEN CASE WHEN r.archived THEN NULL ELSE {absent} END "
        "WHEN r.archived THEN 'restored' "
        f"WHEN {differs} THEN 'updated' ELSE 'unchanged' END"
    )
    described = (
        f"COALESCE({_qualified(entity.display, 's', entity)}, {_qualified(entity.display, 'r', entity)})",
        f"COALESCE({_qualified(entity.school, 's', entity)}, {_qualified(entity.school, 'r', entity)})",
    )
    return f"""CREATE OR REPLACE TEMP TABLE diff_plan AS
        SELECT record_id, change, fields,
               CASE WHEN change <> 'unchanged' THEN record_name END AS record_name,
               CASE WHEN change <> 'unchanged' THEN school END AS school
        FROM (SELECT CASE WHEN s.{first_key} IS NOT NULL THEN {_record_id(entity, "s")} ELSE {_record_id(entity, "r")} END AS record_id,
                     {change} AS change, {fields} AS fields,
                     {described[0]} AS record_name, {described[1]} AS school
              FROM {staged_rows(entity, deduplicate=deduplicate)} s FULL OUTER JOIN {current_rows(entity)} r ON {_join(entity)})
        WHERE change IS NOT NULL"""


_RECORD_CHANGES = """INSERT INTO changes (run_id, district_id, entity, record_id, change, field, before, after, school, record_name)
    SELECT $run, $district, $entity, record_id, change, NULL, NULL, NULL, school, record_name
    FROM diff_plan WHERE change NOT IN ('updated', 'unchanged')"""
_FIELD_CHANGES = """INSERT INTO changes (run_id, district_id, entity, record_id, change, field, before, after, school, record_name)
    SELECT $run, $district, $entity, record_id, change, f.field, f.before, f.after, school, record_name
    FROM (SELECT record_id, change, school, record_name, unnest(fields) AS f FROM diff_plan WHERE fields IS NOT NULL)"""


def _duplicated(con: duckdb.DuckDBPyConnection, run_id: int, entity: Entity) -> bool:
    """Whether validation found a Clever id twice in this entity (then the diff deduplicates;
    otherwise it skips that costly step)."""
    found = con.execute(
        """SELECT 1 FROM issues WHERE run_id = ? AND entity = ? AND "check" = 'unique_id' LIMIT 1""",
        [run_id, entity.name],
    ).fetchone()
    return found is not None


def diff_run(
    con: duckdb.DuckDBPyConnection, run_id: int, district_id: str, params: Parameters
) -> Diff:
    """Fill the changes table for a staged, validated run; return counts and tripped guards."""
    con.execute("DELETE FROM changes WHERE run_id = $run", {"run": run_id})
    counts: dict[str, dict[str, int]] = {}
    for entity in ENTITIES:
        args = {"run": run_id, "district": district_id, "entity": entity.name}
        plan = _plan_sql(entity, params.all_records_processing, _duplicated(con, run_id, entity))
        execute(con, plan, args)
        execute(con, _RECORD_CHANGES, args)
        if entity.fields:
            execute(con, _FIELD_CHANGES, args)
        counts[entity.name] = dict.fromkeys(COUNT_KINDS, 0)
        for change, n in con.execute(
            "SELECT change, count(*) FROM diff_plan GROUP BY ALL"
        ).fetchall():
            counts[entity.name][change] = int(n)
    con.execute("DROP TABLE IF EXISTS diff_plan")
    return Diff(counts, guards(con, district_id, counts, params), current_version(con, district_id))


def guards(
    con: duckdb.DuckDBPyConnection,
    district_id: str,
    counts: dict[str, dict[str, int]],
    params: Parameters,
) -> list[Guard]:
    tripped = []
    for entity in ENTITIES:
        row = con.execute(
            f"SELECT count(*) FROM {roster(entity)} WHERE district_id = ? AND valid_to IS NULL AND NOT archived",
            [district_id],
        ).fetchone()
        total = int(row[0]) if row else 0
        if total == 0:
            continue  # nothing to lose: the first sync, or an entity the district never sent
        for kind, change, threshold in (
            ("archive", "archived", params.archive_threshold_pct),
            ("update", "updated", params.update_threshold_pct),
        ):
            count = counts[entity.name][change]
            pct = 100.0 * count / total
            if pct > threshold:
                tripped.append(Guard(entity.name, kind, round(pct, 2), threshold, count, total))
    return tripped

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


def staged_rows(entity: Entity) -> str:
    """One staged row per key (duplicate Clever ids are a validation error, not a diff)."""
    key = ", ".join(q(k) for k in entity.key)
    not_null = " AND ".join(f"{q(k)} IS NOT NULL" for k in entity.key)
    return (
        f"(SELECT *, {entity.display} AS _name, {entity.school} AS _school FROM {stg(entity)} "
        f"WHERE run_id = $run AND {not_null} QUALIFY row_number() OVER (PARTITION BY {key}) = 1)"
    )


def current_rows(entity: Entity) -> str:
    return (
        f"(SELECT *, {entity.display} AS _name, {entity.school} AS _school FROM {roster(entity)} "
        "WHERE district_id = $district AND valid_to IS NULL)"
    )


def _record_id(entity: Entity, alias: str) -> str:
    if len(entity.key) == 1:
        return f"{alias}.{q(entity.key[0])}"
    return "concat_ws(':', " + ", ".join(f"{alias}.{q(k)}" for k in entity.key) + ")"


def _join(entity: Entity) -> str:
    return " AND ".join(f"s.{q(k)} = r.{q(k)}" for k in entity.key)


def _insert(entity: Entity, select: str) -> str:
    return (
        "INSERT INTO changes (run_id, district_id, entity, record_id, change, field, before, after, school, record_name) "
        f"SELECT $run, $district, '{entity.name}', * FROM ({select})"
    )


def _field_changes(entity: Entity, change: str, archived: bool) -> str:
    """One row per changed field of records in both the sync and the roster."""
    fields = entity.fields
    if not fields:
        return ""
    structs = ", ".join(
        f"{{'field': '{c.name}', 'before': CAST(r.{q(c.name)} AS VARCHAR), 'after': CAST(s.{q(c.name)} AS VARCHAR)}}"
        for c in fields
    )
    differs = " OR ".join(f"s.{q(c.name)} IS DISTINCT FROM r.{q(c.name)}" for c in fields)
    return (
        f"SELECT record_id, '{change}', f.field, f.before, f.after, school, record_name FROM ("
        f"SELECT {_record_id(entity, 's')} AS record_id, s._school AS school, s._name AS record_name, "
        f"unnest([{structs}]) AS f FROM {staged_rows(entity)} s JOIN {current_rows(entity)} r ON {_join(entity)} "
        f"WHERE r.archived = {str(archived).lower()} AND ({differs})) WHERE f.before IS DISTINCT FROM f.after"
    )


def _entity_statements(entity: Entity, all_records: bool) -> list[str]:
    s_id, r_id = _record_id(entity, "s"), _record_id(entity, "r")
    absent = "archived" if all_records else "absent"
    statements = [
        _insert(
            entity,
            f"SELECT {s_id}, 'added', NULL, NULL, NULL, s._school, s._name FROM {staged_rows(entity)} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {current_rows(entity)} r WHERE {_join(entity)})",
        ),
        _insert(
            entity,
            f"SELECT {s_id}, 'restored', NULL, NULL, NULL, s._school, s._name FROM {staged_rows(entity)} s "
            f"JOIN {current_rows(entity)} r ON {_join(entity)} WHERE r.archived",
        ),
        _insert(
            entity,
            f"SELECT {r_id}, '{absent}', NULL, NULL, NULL, r._school, r._name FROM {current_rows(entity)} r "
            f"WHERE NOT r.archived AND NOT EXISTS (SELECT 1 FROM {staged_rows(entity)} s WHERE {_join(entity)})",
        ),
    ]
    if entity.fields:
        statements.append(_insert(entity, _field_changes(entity, "updated", archived=False)))
        statements.append(_insert(entity, _field_changes(entity, "restored", archived=True)))
    return statements


def diff_run(
    con: duckdb.DuckDBPyConnection, run_id: int, district_id: str, params: Parameters
) -> Diff:
    """Fill the changes table for a staged run; return counts and tripped guards."""
    args = {"run": run_id, "district": district_id}
    con.execute("DELETE FROM changes WHERE run_id = $run", {"run": run_id})
    for entity in ENTITIES:
        for statement in _entity_statements(entity, params.all_records_processing):
            execute(con, statement, args)
    counts = change_counts(con, run_id, district_id)
    return Diff(counts, guards(con, district_id, counts, params), current_version(con, district_id))


def change_counts(
    con: duckdb.DuckDBPyConnection, run_id: int, district_id: str
) -> dict[str, dict[str, int]]:
    """Records per entity and kind of change, with `unchanged` (and `absent` when reported)."""
    counts: dict[str, dict[str, int]] = {e.name: dict.fromkeys(COUNT_KINDS, 0) for e in ENTITIES}
    rows = con.execute(
        "SELECT entity, change, count(DISTINCT record_id) FROM changes WHERE run_id = ? GROUP BY ALL",
        [run_id],
    ).fetchall()
    for name, change, n in rows:
        counts[name][change] = int(n)
    args = {"run": run_id, "district": district_id}
    for entity in ENTITIES:
        both = execute(
            con,
            f"SELECT count(*) FROM {staged_rows(entity)} s JOIN {current_rows(entity)} r ON {_join(entity)} WHERE NOT r.archived",
            args,
        ).fetchone()
        counts[entity.name]["unchanged"] = (
            int(both[0] if both else 0) - counts[entity.name]["updated"]
        )
    return counts


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

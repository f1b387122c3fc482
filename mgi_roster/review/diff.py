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

Once listed, each change gets its impact (a student's school, grade or screening class), its
likely cause and whether it is unusual (review/impact.py, `_annotate`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import duckdb

from mgi_roster.entities import BY_NAME, ENTITIES, Entity
from mgi_roster.kinds import COUNTED_CHANGES, LISTED_CHANGES, ChangeKind
from mgi_roster.parameters import Parameters
from mgi_roster.review import delta
from mgi_roster.review.validation import findings
from mgi_roster.roster import rekey, sql
from mgi_roster.roster.versions import current_version
from mgi_roster.staging import events
from mgi_roster.store import execute

CHANGE_KINDS = tuple(str(k) for k in LISTED_CHANGES)
COUNT_KINDS = tuple(str(k) for k in COUNTED_CHANGES)


class GuardKind(StrEnum):
    ARCHIVE = "archive"  # a share of an entity archived above the threshold
    UPDATE = "update"  # a share of an entity updated above the threshold
    SCHOOL_UNSHARED = "school_unshared"  # a school of the roster missing from the sync


@dataclass(frozen=True)
class Guard:
    """A safeguard that holds a run for a person's confirmation (this tool's, not the MGI's)."""

    entity: str
    kind: GuardKind
    pct: float
    threshold: float
    count: int  # records affected (for a school no longer shared: its students in the roster)
    total: int
    record_id: str | None = None  # the school, for SCHOOL_UNSHARED
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (str(v) if isinstance(v, StrEnum) else v)
            for k, v in asdict(self).items()
            if v is not None
        }

    def sentence(self) -> str:
        if self.kind == GuardKind.SCHOOL_UNSHARED:
            return (
                f"school no longer shared: {self.name or self.record_id} is in the roster but not "
                f"in this sync ({self.count} of its students would no longer be current); ask the "
                "district whether it stopped sharing the school in Clever"
            )
        return (
            f"this sync would {self.kind} {self.count} of {self.total} {self.entity} "
            f"({self.pct:.1f} %, above the {self.threshold:g} % threshold)"
        )


@dataclass(frozen=True)
class Diff:
    counts: dict[str, dict[str, int]]
    guards: list[Guard]
    roster_version: int


def _plan_sql(entity: Entity, all_records: bool, deduplicate: bool, scoped: bool) -> str:
    """The run's changes of one entity, from the roster's one classification of a sync;
    `scoped`: of the records an events run's events reach (review/delta.py)."""
    # An events run's roster rows in scope, chosen before the re-keyed ids are shown under their
    # new ones (a person's old id is in scope as well as the new) and again after
    roster_where = f"({delta.scope(entity, 'r')} OR {delta.unseen('r')})" if scoped else ""
    classified = sql.classify(
        entity,
        all_records=all_records,
        deduplicate=deduplicate,
        roster=rekey.roster_side(entity, where=roster_where),
        staged_where=delta.scope(entity, "s") if scoped else "",
        roster_where=roster_where,
    )
    return f"""CREATE OR REPLACE TEMP TABLE diff_plan AS
        SELECT record_id, change, fields,
               CASE WHEN change <> '{ChangeKind.UNCHANGED}' THEN record_name END AS record_name,
               CASE WHEN change <> '{ChangeKind.UNCHANGED}' THEN school END AS school
        FROM ({classified}) WHERE change IS NOT NULL"""


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
        f"""SELECT 1 FROM {findings.of_run(con)}
            WHERE run_id = ? AND entity = ? AND "check" = 'unique_id' LIMIT 1""",
        [run_id, entity.name],
    ).fetchone()
    return found is not None


def diff_run(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    district_id: str,
    params: Parameters,
    roster_version: int | None = None,
) -> Diff:
    """Fill the changes table for a staged, validated run; return counts and tripped guards.

    `con` holds the run's staging and the roster it is compared with: the main store, or a run's
    own file with a snapshot of the roster at `roster_version` (read from the store if None)."""
    con.execute("DELETE FROM changes WHERE run_id = $run", {"run": run_id})
    scoped = events.is_events_run(con)  # then only what the events reach is compared
    # Re-keys and links: the same person, a new id (an events run: among the touched people)
    rekey.propose(con, run_id, district_id, events.touched_ids("users") if scoped else "")
    counts: dict[str, dict[str, int]] = {}
    for entity in ENTITIES:
        args = {"run": run_id, "district": district_id, "entity": entity.name}
        plan = _plan_sql(
            entity, params.all_records_processing, _duplicated(con, run_id, entity), scoped
        )
        execute(con, plan, args)
        execute(con, _RECORD_CHANGES, args)
        if entity.fields:
            execute(con, _FIELD_CHANGES, args)
        counts[entity.name] = dict.fromkeys(COUNT_KINDS, 0)
        for change, n in con.execute(
            "SELECT change, count(*) FROM diff_plan GROUP BY ALL"
        ).fetchall():
            counts[entity.name][change] = int(n)
        if scoped:
            counts[entity.name][ChangeKind.UNCHANGED] += delta.untouched_count(con, entity, run_id)
    con.execute("DROP TABLE IF EXISTS diff_plan")
    rekey.annotate(con, run_id)
    _annotate(con, run_id, district_id, params)
    version = current_version(con, district_id) if roster_version is None else roster_version
    return Diff(counts, guards(con, district_id, counts, params, run_id), version)


def _annotate(
    con: duckdb.DuckDBPyConnection, run_id: int, district_id: str, params: Parameters
) -> None:
    """Impact, cause and unusual onto the run's changes (review/impact.py)."""
    from mgi_roster.review import impact

    impact.mark(con, run_id, district_id, params)


def guards(
    con: duckdb.DuckDBPyConnection,
    district_id: str,
    counts: dict[str, dict[str, int]],
    params: Parameters,
    run_id: int,
) -> list[Guard]:
    tripped = []
    for entity in ENTITIES:
        row = con.execute(
            f"SELECT count(*) FROM {sql.current(entity, live=True)}", {"district": district_id}
        ).fetchone()
        total = int(row[0]) if row else 0
        if total == 0:
            continue  # nothing to lose: the first sync, or an entity the district never sent
        for kind, change, threshold in (
            (GuardKind.ARCHIVE, ChangeKind.ARCHIVED, params.archive_threshold_pct),
            (GuardKind.UPDATE, ChangeKind.UPDATED, params.update_threshold_pct),
        ):
            count = counts[entity.name][change]
            pct = 100.0 * count / total
            if pct > threshold:
                tripped.append(Guard(entity.name, kind, round(pct, 2), threshold, count, total))
    return tripped + unshared_schools(con, district_id, run_id)


def unshared_schools(con: duckdb.DuckDBPyConnection, district_id: str, run_id: int) -> list[Guard]:
    """Schools live in the roster and missing from the sync (this run's changes): a sharing
    change in Clever, which would take all their students out, whatever the thresholds."""
    students = BY_NAME["students"]
    rows = execute(
        con,
        f"""SELECT c.record_id, c.record_name,
                   (SELECT count(*) FROM {sql.current(students, live=True)} s WHERE s.school = c.record_id)
            FROM changes c
            WHERE c.run_id = $run AND c.entity = 'schools' AND c.change IN ('{ChangeKind.ARCHIVED}', '{ChangeKind.ABSENT}')
            ORDER BY c.record_name""",
        {"district": district_id, "run": run_id},
    ).fetchall()
    return [
        Guard("schools", GuardKind.SCHOOL_UNSHARED, 100.0, 0.0, int(n), int(n), str(i), name)
        for i, name, n in rows
    ]

"""Partial approval: approve a run except some of its records, or despite some of its issues.

A run with 10 errors among 1,200 students need not wait for the district's SIS: the reviewer
approves the clean records and *withholds* the others, which stay exactly as they are in the
roster until a later sync brings them right. What a `Selection` can ask:

  exclude_errors   withhold every record with an error issue (`approve --exclude-errors`)
  exclude          withhold chosen records, by record id (`--exclude ID,...`)
  no_archive       archive nothing (`--no-archive`, like Canvas's skip_deletes)
  waivers          approve despite a named issue (`--waive CHECK[:RECORD] --reason TEXT`): the
                   reason is required and goes into the audit with who approved

Dependants stay consistent: the enrollments of a withheld student, teacher or section are
withheld with it (a withheld section keeps its old enrollments; a withheld student is not
enrolled in a new class), and the students, teachers and sections of a withheld *new* school
are withheld too (they would name a school the roster does not have). A section whose new term,
course or teacher is withheld is not followed: validation reports those references.

The plan is computed from the run's published findings (issues and changes) in the main store,
so the Approve page shows exactly what `approve` will do. Approve writes the plan into
`run_withheld` (the run's list of withheld records, with reasons) inside its transaction, and
the merge skips those records (`kept_sql`). The safeguards judge what is actually merged
(`guards`): a withheld archive is not counted, a withheld school is not "no longer shared".
Nothing here writes the roster: merge.py does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from mgi_roster.entities import BY_NAME, Entity
from mgi_roster.errors import InputError
from mgi_roster.kinds import ChangeKind, Severity, Withheld, sql_list
from mgi_roster.store import execute

if TYPE_CHECKING:
    from mgi_roster.review.diff import Guard
    from mgi_roster.roster.merge import Run

# A Clever id sent twice cannot be merged twice: such a record is always withheld, never waived.
NOT_WAIVABLE = ("unique_id",)
AUDIT_LIMIT = 1000  # withheld records named in the audit entry itself (run_withheld has all)


@dataclass(frozen=True)
class Waiver:
    """Approve despite the issues of `check` (on `record_id`, or on every record): `reason` says
    why, for the audit."""

    check: str
    record_id: str | None
    reason: str

    @classmethod
    def parse(cls, text: str, reason: str) -> Waiver:
        """`CHECK` or `CHECK:RECORD` (a record id may itself hold ':', an enrollment's does)."""
        check, _, record = text.strip().partition(":")
        if not check:
            raise InputError(
                f"--waive {text!r} names no check: give CHECK or CHECK:RECORD, e.g. dob_date."
            )
        return cls(check, record or None, reason.strip())

    def label(self) -> str:
        return f"{self.check}:{self.record_id}" if self.record_id else self.check

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "record_id": self.record_id, "reason": self.reason}


@dataclass(frozen=True)
class Selection:
    """What a reviewer asked of a partial approval (empty: approve the whole run)."""

    exclude_errors: bool = False
    exclude: tuple[str, ...] = ()
    no_archive: bool = False
    waivers: tuple[Waiver, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.exclude_errors or self.exclude or self.no_archive or self.waivers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exclude_errors": self.exclude_errors,
            "exclude": list(self.exclude),
            "no_archive": self.no_archive,
            "waivers": [w.to_dict() for w in self.waivers],
        }


WHOLE = Selection()


@dataclass(frozen=True)
class WithheldRecord:
    entity: str
    record_id: str
    change: str | None
    record_name: str | None
    reason: Withheld
    detail: str | None  # the checks (error), or the record it depends on (dependant)

    def sentence(self) -> str:
        return reason_sentence(self.reason, self.detail)


def reason_sentence(reason: str, detail: str | None) -> str:
    """Why a record was withheld, in words (from the stored reason and detail)."""
    if reason == Withheld.ERROR:
        return f"withheld for errors ({detail}); fix them in the SIS and sync again"
    if reason == Withheld.EXCLUDED:
        return "withheld by the reviewer"
    if reason == Withheld.NO_ARCHIVE:
        return "not archived: the approval archived nothing"
    entity, _, record = (detail or "").partition(" ")
    word = BY_NAME[entity].word.lower() if entity in BY_NAME else "record"
    return f"withheld with {word} {record}, which was withheld"


@dataclass(frozen=True)
class Plan:
    """What an approval with this selection merges and withholds."""

    selection: Selection
    withheld: tuple[WithheldRecord, ...]
    merged: dict[str, dict[str, int]]  # the run's change counts less what is withheld
    unresolved_errors: int  # error issues neither withheld nor waived: they block Approve
    waived_issues: int
    guards: list[Guard] = field(default_factory=list)

    def withheld_counts(self) -> dict[str, int]:
        """Withheld records per reason."""
        counts: dict[str, int] = {}
        for w in self.withheld:
            counts[w.reason] = counts.get(w.reason, 0) + 1
        return counts

    def withheld_by_entity(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for w in self.withheld:
            counts[w.entity] = counts.get(w.entity, 0) + 1
        return counts

    def summary(self) -> str:
        """One sentence: what will and will not merge."""
        merged = sum(
            n for kinds in self.merged.values() for k, n in kinds.items() if k != "unchanged"
        )
        parts = [f"{merged:,} change{'s' if merged != 1 else ''} will merge"]
        by_reason = self.withheld_counts()
        for reason, words in (
            (Withheld.ERROR, "for errors"),
            (Withheld.EXCLUDED, "by the reviewer"),
            (Withheld.NO_ARCHIVE, "archives skipped"),
            (Withheld.DEPENDANT, "with a withheld record they depend on"),
        ):
            n = by_reason.get(reason, 0)
            if n and reason == Withheld.NO_ARCHIVE:
                parts.append(f"{n:,} {words}")
            elif n:
                parts.append(f"{n:,} record{'s' if n != 1 else ''} withheld {words}")
        if self.waived_issues:
            parts.append(
                f"{self.waived_issues:,} issue{'s' if self.waived_issues != 1 else ''} waived"
            )
        return "; ".join(parts) + "."


# --- the plan -------------------------------------------------------------------------------

_PLAN_TABLE = "withheld_plan"
_WAIVER_TABLE = "waiver_plan"
_WAIVED = f"""EXISTS (SELECT 1 FROM {_WAIVER_TABLE} w WHERE w."check" = i."check"
              AND (w.record_id IS NULL OR w.record_id = i.record_id))"""


def _insert(con: duckdb.DuckDBPyConnection, select: str, args: dict[str, Any]) -> None:
    """Add (entity, record_id, reason, detail) rows to the plan; a record already withheld keeps
    its first reason."""
    execute(
        con,
        f"""INSERT INTO {_PLAN_TABLE}
            SELECT n.* FROM ({select}) n
            WHERE NOT EXISTS (SELECT 1 FROM {_PLAN_TABLE} p
                              WHERE p.entity = n.entity AND p.record_id = n.record_id)""",
        args,
    )


def _check_waivers(con: duckdb.DuckDBPyConnection, run_id: int, waivers: Sequence[Waiver]) -> None:
    for w in waivers:
        if not w.reason.strip():
            raise InputError(
                f"The waiver of {w.label()} needs a reason (--reason TEXT): the audit records who "
                "waived an issue and why."
            )
        if w.check in NOT_WAIVABLE:
            raise InputError(
                f"{w.check} cannot be waived: a Clever id sent twice cannot be merged. Withhold "
                "the record (--exclude-errors) and ask the district to fix it in the SIS."
            )
        found = con.execute(
            """SELECT count(*) FROM issues WHERE run_id = ? AND "check" = ?
               AND (? IS NULL OR record_id = ?)""",
            [run_id, w.check, w.record_id, w.record_id],
        ).fetchone()
        if not found or not found[0]:
            on = f" on record {w.record_id}" if w.record_id else ""
            raise InputError(
                f"Run {run_id} has no {w.check} issue{on} to waive. See Validation for the "
                "checks and records of this run's issues."
            )


def _check_exclusions(con: duckdb.DuckDBPyConnection, run_id: int, ids: Sequence[str]) -> None:
    if not ids:
        return
    known = {
        str(r[0])
        for r in con.execute(
            """SELECT record_id FROM changes WHERE run_id = $run AND list_contains($ids, record_id)
               UNION SELECT record_id FROM issues WHERE run_id = $run AND list_contains($ids, record_id)""",
            {"run": run_id, "ids": list(ids)},
        ).fetchall()
    }
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise InputError(
            f"Run {run_id} has no change or issue of record {', '.join(unknown[:5])}: only a "
            "record the run would change (or has an issue) can be withheld."
        )


def _withhold(con: duckdb.DuckDBPyConnection, run_id: int, selection: Selection) -> None:
    """Fill the temporary plan table with the records this selection withholds."""
    args: dict[str, Any] = {"run": run_id}
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_PLAN_TABLE} "
        "(entity VARCHAR, record_id VARCHAR, reason VARCHAR, detail VARCHAR)"
    )
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE {_WAIVER_TABLE} ("check" VARCHAR, record_id VARCHAR)'
    )
    for w in selection.waivers:
        con.execute(f"INSERT INTO {_WAIVER_TABLE} VALUES (?, ?)", [w.check, w.record_id])
    errors_only = "" if selection.exclude_errors else f' AND i."check" IN {sql_list(NOT_WAIVABLE)}'
    # Records with errors: withheld when asked, and always when the error cannot be waived.
    _insert(
        con,
        f"""SELECT i.entity, i.record_id, '{Withheld.ERROR}' AS reason,
                   string_agg(DISTINCT i."check", ', ' ORDER BY i."check") AS detail
            FROM issues i WHERE i.run_id = $run AND i.severity = '{Severity.ERROR}'
              AND i.record_id IS NOT NULL AND NOT {_WAIVED}{errors_only}
            GROUP BY ALL""",
        args,
    )
    if selection.exclude:
        _insert(
            con,
            f"""SELECT DISTINCT entity, record_id, '{Withheld.EXCLUDED}', NULL FROM (
                    SELECT entity, record_id FROM changes WHERE run_id = $run
                    UNION ALL SELECT entity, record_id FROM issues WHERE run_id = $run)
                WHERE list_contains($ids, record_id)""",
            {**args, "ids": list(selection.exclude)},
        )
    if selection.no_archive:
        _insert(
            con,
            f"""SELECT DISTINCT entity, record_id, '{Withheld.NO_ARCHIVE}', NULL FROM changes
                WHERE run_id = $run AND change = '{ChangeKind.ARCHIVED}'""",
            args,
        )
    _dependants(con, args)


def _dependants(con: duckdb.DuckDBPyConnection, args: dict[str, Any]) -> None:
    """Withhold what depends on a withheld record, parents first (entities are in dependency
    order): a new school's people and sections, then the enrollments of withheld sections,
    students and teachers."""
    parent = "p.entity || ' ' || p.record_id"
    _insert(
        con,
        f"""SELECT DISTINCT c.entity, c.record_id, '{Withheld.DEPENDANT}', {parent}
            FROM changes c JOIN {_PLAN_TABLE} p ON p.entity = 'schools' AND c.school = p.record_id
            WHERE c.run_id = $run AND c.entity IN ('students', 'teachers', 'sections')
              AND EXISTS (SELECT 1 FROM changes a WHERE a.run_id = $run AND a.entity = 'schools'
                          AND a.record_id = p.record_id AND a.change = '{ChangeKind.ADDED}')""",
        args,
    )
    # An enrollment's record id is section:user:role (roster.sql.record_id).
    for part, entities in ((1, "'sections'"), (2, "'students', 'teachers'")):
        _insert(
            con,
            f"""SELECT DISTINCT c.entity, c.record_id, '{Withheld.DEPENDANT}', arg_min({parent}, p.entity)
                FROM changes c JOIN {_PLAN_TABLE} p
                  ON p.entity IN ({entities}) AND split_part(c.record_id, ':', {part}) = p.record_id
                WHERE c.run_id = $run AND c.entity = 'enrollments'
                GROUP BY c.entity, c.record_id""",
            args,
        )


def plan(con: duckdb.DuckDBPyConnection, run: Run, selection: Selection = WHOLE) -> Plan:
    """What approving `run` with `selection` merges, withholds and leaves blocking."""
    from mgi_roster.review import diff  # diff imports the roster's SQL; no cycle at load time

    _check_waivers(con, run.run_id, selection.waivers)
    _check_exclusions(con, run.run_id, selection.exclude)
    _withhold(con, run.run_id, selection)
    args = {"run": run.run_id}
    rows = execute(
        con,
        f"""SELECT p.entity, p.record_id, any_value(c.change ORDER BY c.field NULLS FIRST),
                   any_value(c.record_name), p.reason, p.detail
            FROM {_PLAN_TABLE} p LEFT JOIN changes c
              ON c.run_id = $run AND c.entity = p.entity AND c.record_id = p.record_id
            GROUP BY ALL ORDER BY p.entity, p.reason, p.record_id""",
        args,
    ).fetchall()
    withheld = tuple(
        WithheldRecord(str(e), str(r), ch, name, Withheld(reason), detail)
        for e, r, ch, name, reason, detail in rows
    )
    merged = {entity: dict(kinds) for entity, kinds in run.changes.items()}
    for entity, change, n in execute(
        con,
        f"""SELECT c.entity, c.change, count(DISTINCT c.record_id) FROM changes c
            JOIN {_PLAN_TABLE} p ON p.entity = c.entity AND p.record_id = c.record_id
            WHERE c.run_id = $run GROUP BY ALL""",
        args,
    ).fetchall():
        kinds = merged.setdefault(entity, {})
        kinds[change] = max(0, int(kinds.get(change, 0)) - int(n))
    unresolved, waived = execute(
        con,
        f"""SELECT count(*) FILTER (WHERE NOT {_WAIVED} AND NOT EXISTS (
                       SELECT 1 FROM {_PLAN_TABLE} p WHERE p.entity = i.entity AND p.record_id = i.record_id)),
                   count(*) FILTER (WHERE {_WAIVED})
            FROM issues i WHERE i.run_id = $run AND i.severity = '{Severity.ERROR}'""",
        args,
    ).fetchone() or (0, 0)
    withheld_schools = {w.record_id for w in withheld if w.entity == "schools"}
    tripped = [
        g
        for g in diff.guards(con, run.district_id, _counted(merged), run.parameters, run.run_id)
        if g.record_id is None or g.record_id not in withheld_schools
    ]
    return Plan(selection, withheld, merged, int(unresolved), int(waived), tripped)


def _counted(merged: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Counts with every kind the guards read (a run's counts may leave out a kind)."""
    from mgi_roster.review.diff import COUNT_KINDS

    return {
        e.name: {k: int(merged.get(e.name, {}).get(k, 0)) for k in COUNT_KINDS}
        for e in BY_NAME.values()
    }


# --- what approve writes ----------------------------------------------------------------------


def record(con: duckdb.DuckDBPyConnection, run: Run, found: Plan) -> None:
    """Write the plan's withheld records onto the run (inside the approval's transaction)."""
    con.execute("DELETE FROM run_withheld WHERE run_id = ?", [run.run_id])
    if not found.withheld:
        return
    execute(
        con,
        f"""INSERT INTO run_withheld (run_id, district_id, entity, record_id, change, record_name, school, reason, detail)
            SELECT $run, $district, p.entity, p.record_id,
                   any_value(c.change ORDER BY c.field NULLS FIRST), any_value(c.record_name),
                   any_value(c.school), p.reason, p.detail
            FROM {_PLAN_TABLE} p LEFT JOIN changes c
              ON c.run_id = $run AND c.entity = p.entity AND c.record_id = p.record_id
            GROUP BY p.entity, p.record_id, p.reason, p.detail""",
        {"run": run.run_id, "district": run.district_id},
    )


def kept_sql(entity: Entity, record_id: str) -> str:
    """SQL true for a classified row (its text id in the qualified column `record_id`) that the
    approval of `$run` did not withhold: the merge's filter."""
    return (
        f"NOT EXISTS (SELECT 1 FROM run_withheld w WHERE w.run_id = $run "
        f"AND w.entity = '{entity.name}' AND w.record_id = {record_id})"
    )


def audit_detail(found: Plan, by: str | None) -> dict[str, Any]:
    """What the audit keeps of a partial approval: the selection, who waived what and why, and
    the withheld records with their reasons (ids only: no personal data in the audit)."""
    return {
        "partial": found.selection.to_dict(),
        "waivers": [{**w.to_dict(), "by": by} for w in found.selection.waivers],
        "withheld_counts": found.withheld_counts(),
        "withheld": [
            {"entity": w.entity, "record_id": w.record_id, "reason": w.reason, "detail": w.detail}
            for w in found.withheld[:AUDIT_LIMIT]
        ],
    }


def withheld_of(con: duckdb.DuckDBPyConnection, run_id: int) -> list[dict[str, Any]]:
    """The records an approval of the run withheld, with the reason in words."""
    rows = con.execute(
        """SELECT entity, record_id, change, record_name, school, reason, detail FROM run_withheld
           WHERE run_id = ? ORDER BY entity, reason, record_id""",
        [run_id],
    ).fetchall()
    return [
        {
            "entity": e,
            "record_id": r,
            "change": ch,
            "record": name,
            "school": school,
            "reason": reason,
            "why": reason_sentence(reason, detail),
        }
        for e, r, ch, name, school, reason, detail in rows
    ]

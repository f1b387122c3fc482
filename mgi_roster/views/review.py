"""A run's issues and changes, paged, filtered and searched (Validation, Changes, Approve)."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from mgi_roster.entities import ENTITIES
from mgi_roster.review.diff import COUNT_KINDS
from mgi_roster.review.validation import messages
from mgi_roster.store import execute
from mgi_roster.views.paging import (
    DEFAULT_PAGE_SIZE,
    SEVERITY_ORDER,
    ChangeFilter,
    IssueFilter,
    Options,
    Paged,
    _frame,
    _paged,
    _run_district,
    _school_names,
    _Where,
)

# --- issues ---------------------------------------------------------------------------------


def issue_totals(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, int]:
    rows = con.execute(
        "SELECT severity, count(*) FROM issues WHERE run_id = ? GROUP BY severity", [run_id]
    ).fetchall()
    found = {"error": 0, "warning": 0}
    found.update({str(s): int(n) for s, n in rows})
    return found


def _options(con: duckdb.DuckDBPyConnection, run_id: int, table: str, with_checks: bool) -> Options:
    """The entities, checks and schools a run's issues or changes table holds, for filters."""
    params = {"run": run_id, "district": _run_district(con, run_id)}

    def distinct(column: str) -> tuple[str, ...]:
        sql = f"SELECT DISTINCT {column} FROM {table} WHERE run_id = $run ORDER BY 1"
        return tuple(r[0] for r in execute(con, sql, params).fetchall())

    schools = execute(
        con,
        f"""SELECT DISTINCT t.school, coalesce(s.name, t.school) FROM {table} t
            LEFT JOIN {_school_names()} s ON s.id = t.school
            WHERE t.run_id = $run AND t.school IS NOT NULL ORDER BY 2""",
        params,
    ).fetchall()
    checks = distinct('"check"') if with_checks else ()
    return Options(distinct("entity"), checks, tuple((str(a), str(b)) for a, b in schools))


def issue_options(con: duckdb.DuckDBPyConnection, run_id: int) -> Options:
    return _options(con, run_id, "issues", with_checks=True)


def issues_page(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    filters: IssueFilter = IssueFilter(),
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Paged:
    """One page of a run's issues: errors first, then by entity, check, record and field.

    Each row's `message` is rendered from its fields; `params` (JSON) stays in the frame so
    presentation mode can render it again from masked fields (masking.Masker.frame). Pages hide
    it."""
    where = _Where(run=run_id, district=_run_district(con, run_id))
    where.add("i.run_id = $run")
    where.any_of("i.entity", filters.entities)
    where.any_of("i.severity", filters.severities)
    where.any_of('i."check"', filters.checks)
    where.any_of("i.school", filters.schools)
    where.search(("i.record_name", "i.sis_id", "i.record_id"), filters.search)
    found = _paged(
        con,
        "issues i",
        where,
        '_rank, entity, "check", record_id, field, _row',
        page,
        page_size,
        extra=f", rowid AS _row, {SEVERITY_ORDER} AS _rank",
        show=f"""SELECT p.severity, p."check", p.entity, p.record_name AS record, p.message, p.field,
            p.value, s.name AS school, p.sis_id AS "SIS id", p.record_id, p.params
            FROM page p LEFT JOIN {_school_names()} s ON s.id = p.school""",
    )
    frame = found.frame.astype({"message": object})
    frame["message"] = [messages.render(f) for f in messages.frame_findings(frame)]
    return Paged(frame, found.total)


def issues_by_check(con: duckdb.DuckDBPyConnection, run_id: int) -> pd.DataFrame:
    """Issues per check, entity and severity: the Validation page's chart."""
    return _frame(
        con.execute(
            """SELECT "check", entity, severity, count(*) AS issues FROM issues WHERE run_id = ?
               GROUP BY ALL ORDER BY issues DESC, "check" """,
            [run_id],
        )
    )


# --- changes --------------------------------------------------------------------------------


def change_counts_table(changes: dict[str, dict[str, int]]) -> pd.DataFrame:
    """A run's change counts (runs.changes) as one row per entity."""
    kinds = [*COUNT_KINDS[:-1], "absent", "unchanged"]
    rows = []
    for e in ENTITIES:
        counts = changes.get(e.name)
        if counts is None:
            continue
        row: dict[str, Any] = {"entity": e.label}
        row.update({k: int(counts.get(k, 0)) for k in kinds if k != "absent" or counts.get(k)})
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.fillna(0) if not frame.empty else frame


def changes_by_entity(changes: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Long form (entity, change, records) of the counts, without unchanged: the chart's data."""
    return pd.DataFrame(
        [
            {"entity": e.label, "change": kind, "records": int(n)}
            for e in ENTITIES
            for kind, n in (changes.get(e.name) or {}).items()
            if kind != "unchanged" and n
        ],
        columns=["entity", "change", "records"],
    )


def changes_by_school(con: duckdb.DuckDBPyConnection, run_id: int) -> pd.DataFrame:
    """Records per school, entity and kind of change, for the Changes page.

    Counted without a DISTINCT over every row: an added, archived, absent or restored record
    has exactly one row without a field; only updated records (one row per changed field)
    need a distinct count. On a million-student run this is the difference between seconds and
    a fraction of one.
    """
    return _frame(
        execute(
            con,
            f"""WITH counts AS (
                    SELECT school, entity, change, count(*) AS records FROM changes
                    WHERE run_id = $run AND change <> 'updated' AND field IS NULL GROUP BY ALL
                    UNION ALL
                    SELECT school, entity, change, count(DISTINCT record_id) FROM changes
                    WHERE run_id = $run AND change = 'updated' GROUP BY ALL)
                SELECT c.school AS school_id, coalesce(s.name, '(no school)') AS school, c.entity, c.change, c.records
                FROM counts c LEFT JOIN {_school_names()} s ON s.id = c.school
                ORDER BY s.name NULLS LAST, c.entity, c.change""",
            {"run": run_id, "district": _run_district(con, run_id)},
        )
    )


def change_options(con: duckdb.DuckDBPyConnection, run_id: int) -> Options:
    return _options(con, run_id, "changes", with_checks=False)


def changes_page(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    filters: ChangeFilter = ChangeFilter(),
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Paged:
    """One page of a run's changes: a row per added/archived/restored record, and a row per
    changed field (before → after) of updated and restored records."""
    where = _Where(run=run_id, district=_run_district(con, run_id))
    where.add("c.run_id = $run")
    where.any_of("c.entity", filters.entities)
    where.any_of("c.change", filters.changes)
    where.any_of("c.school", filters.schools)
    where.search(("c.record_name", "c.record_id"), filters.search)
    if filters.high_impact:
        where.add("c.impact IS NOT NULL")
    return _paged(
        con,
        "changes c",
        where,
        "entity, change, record_id, field NULLS FIRST, _row",
        page,
        page_size,
        extra=", rowid AS _row",
        show=f"""SELECT p.entity, p.change, p.record_name AS record, p.field, p.before, p.after,
            s.name AS school, replace(p.impact, '_', ' ') AS "high impact",
            replace(p.cause, '_', ' ') AS "likely cause",
            CASE WHEN p.unusual IS NOT NULL THEN 'mid-year grade change' END AS unusual,
            p.record_id
            FROM page p LEFT JOIN {_school_names()} s ON s.id = p.school""",
    )

"""Reads for the dashboard's pages: paged, filtered, typed. All the SQL the pages need lives here.

Every table a page shows is read one page at a time: a filter, a stable ORDER BY (ending in a
unique column, so two page requests never disagree about which row comes where) and
LIMIT/OFFSET, plus the filtered total for the pager. No function here returns a whole roster,
issue or change table, so a million-student district costs a page of rows per interaction.
Aggregates for the charts are computed in DuckDB and come back small (one row per school and
grade, per field, per section size...).

User input only ever reaches SQL as a bound parameter; identifiers come from the entity specs.
Searches are case-insensitive substring matches (ILIKE) with the user's `%` and `_` escaped.

Over 500 lines because it is the one place for every page's SQL: the pages share its paging,
filtering and searching helpers, and a module per page would scatter them again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import duckdb
import pandas as pd

from mgi_roster import parameters as parameters_
from mgi_roster.entities import BY_NAME, ENROLLMENTS, ENTITIES, GRADES, Entity, entity
from mgi_roster.grades import FORMS
from mgi_roster.kinds import RunStatus
from mgi_roster.parameters import Parameters
from mgi_roster.review import readiness
from mgi_roster.review.diff import COUNT_KINDS
from mgi_roster.review.validation import messages
from mgi_roster.roster import history, quality, sql
from mgi_roster.roster import versions as versions_
from mgi_roster.roster.sql import q
from mgi_roster.store import execute

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
SEVERITY_ORDER = "CASE severity WHEN 'error' THEN 0 ELSE 1 END"
CHANGE_SUMMARY = ("added", "updated", "archived", "restored")  # the kinds a run summary counts
# Columns a roster search looks in, when the entity has them (besides its display name).
SEARCH_COLUMNS = ("id", "sis_id", "email", "district_username", "section_id", "user_id", "number")


class Paged(NamedTuple):
    """One page of a filtered table, and how many rows the whole filtered table has."""

    frame: pd.DataFrame
    total: int

    def pages(self, page_size: int) -> int:
        return max(1, -(-self.total // max(1, page_size)))


@dataclass(frozen=True)
class IssueFilter:
    entities: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    schools: tuple[str, ...] = ()  # school ids
    search: str = ""  # record name, SIS id or record id


@dataclass(frozen=True)
class ChangeFilter:
    entities: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()  # added, updated, archived, absent, restored
    schools: tuple[str, ...] = ()
    search: str = ""  # record name or record id


@dataclass(frozen=True)
class Options:
    """The values a run's filters can offer (schools as (id, name) pairs)."""

    entities: tuple[str, ...]
    checks: tuple[str, ...]
    schools: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Sharing:
    """What the district shares, as the latest successful run saw it."""

    run_id: int | None
    counts: dict[str, int]
    unshared_users: int  # users named in sections that the token cannot see


# --- helpers --------------------------------------------------------------------------------


def _limits(page: int, page_size: int) -> tuple[int, int]:
    size = min(max(1, int(page_size)), MAX_PAGE_SIZE)
    return size, (max(1, int(page)) - 1) * size


def like_pattern(text: str) -> str:
    """A substring ILIKE pattern for what the user typed, wildcards escaped."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Where:
    """A WHERE clause built from optional filters, with named parameters."""

    def __init__(self, **params: Any) -> None:
        self.parts: list[str] = []
        self.params: dict[str, Any] = dict(params)

    def add(self, sql: str) -> None:
        self.parts.append(sql)

    def any_of(self, column: str, values: Sequence[str]) -> None:
        if not values:
            return
        names = []
        for value in values:
            name = f"p{len(self.params)}"
            self.params[name] = value
            names.append(f"${name}")
        self.parts.append(f"{column} IN ({', '.join(names)})")

    @property
    def searching(self) -> bool:
        return "pattern" in self.params

    def search(self, columns: Sequence[str], text: str) -> None:
        if not text.strip():
            return
        self.params["pattern"] = like_pattern(text)
        self.parts.append(
            "(" + " OR ".join(f"{c} ILIKE $pattern ESCAPE '\\'" for c in columns) + ")"
        )

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) or "true"


def _frame(cursor: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return cursor.df()


def _school_names() -> str:
    """(id, name) of every school a run or the district's roster knows; staged names first."""
    schools = BY_NAME["schools"]
    return f"""(SELECT id, arg_min(name, rank) AS name FROM (
            SELECT id, name, 0 AS rank FROM {sql.staging_table(schools)} WHERE run_id = $run
            UNION ALL
            SELECT id, name, 1 AS rank FROM {sql.current(schools)}
        ) GROUP BY id)"""


def _run_district(con: duckdb.DuckDBPyConnection, run_id: int) -> str:
    row = con.execute("SELECT district_id FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return str(row[0]) if row else ""


def _paged(
    con: duckdb.DuckDBPyConnection,
    source: str,
    where: _Where,
    order: str,
    page: int,
    page_size: int,
    *,
    extra: str = "",
    show: str = "SELECT * FROM page",
) -> Paged:
    """Count the filtered rows of `source`, then read one page of them in `order`, which must
    be total so pages never overlap: it ends in a unique key, or in `_row` (the row id of a
    base table, added with `extra=", rowid AS _row"`). The page is cut first and only its rows
    are decorated by `show` (joins for names), so a page of a million-row table costs a top-N
    sort, not a join of every row."""
    size, offset = _limits(page, page_size)
    if where.searching:
        # A search scans every row: scan once into a temporary table, then count the hits and
        # cut the page from them (two scans of a million-row roster took twice as long).
        execute(
            con,
            f"CREATE OR REPLACE TEMP TABLE search_hits AS SELECT *{extra} FROM {source} WHERE {where.sql}",
            where.params,
        )
        try:
            total_row = con.execute("SELECT count(*) FROM search_hits").fetchone()
            sql = (
                f"WITH page AS (SELECT * FROM search_hits ORDER BY {order} LIMIT {size} OFFSET {offset}) "
                f"{show} ORDER BY {order}"
            )
            frame = _frame(execute(con, sql, where.params))
        finally:
            con.execute("DROP TABLE IF EXISTS search_hits")
        return Paged(frame, int(total_row[0]) if total_row else 0)
    total_row = execute(
        con, f"SELECT count(*) FROM {source} WHERE {where.sql}", where.params
    ).fetchone()
    total = int(total_row[0]) if total_row else 0
    sql = (
        f"WITH page AS (SELECT *{extra} FROM {source} WHERE {where.sql} "
        f"ORDER BY {order} LIMIT {size} OFFSET {offset}) {show} ORDER BY {order}"
    )
    return Paged(_frame(execute(con, sql, where.params)), total)


# --- runs -----------------------------------------------------------------------------------


def run_choices(con: duckdb.DuckDBPyConnection, district_id: str) -> list[tuple[int, str]]:
    """(run id, label) for a run picker, newest first. Labels hold only what never changes
    (not the status): a keyed selectbox keeps showing the label its choice had."""
    rows = con.execute(
        """SELECT run_id, strftime(started_at, '%Y-%m-%d %H:%M'), trigger, demo_day FROM runs
           WHERE district_id = ? ORDER BY run_id DESC LIMIT 200""",
        [district_id],
    ).fetchall()
    return [
        (int(r[0]), f"Run {r[0]} · {r[1]} · {r[2]}" + (f" · demo day {r[3]}" if r[3] else ""))
        for r in rows
    ]


def runs_table(con: duckdb.DuckDBPyConnection, district_id: str) -> pd.DataFrame:
    """The district's runs, newest first, with their counts flattened for a table."""
    rows = []
    for run in history.runs(con, district_id):
        counts = run.get("counts") or {}
        changes = run.get("changes") or {}
        rows.append(
            {
                "run": run["run_id"],
                "status": run["status"],
                "trigger": run["trigger"],
                "started": run["started_at"],
                "finished": run["finished_at"],
                "records": sum(counts.values()) if counts else None,
                "errors": run["errors"],
                "warnings": run["warnings"],
                **{k: sum(c.get(k, 0) for c in changes.values()) for k in CHANGE_SUMMARY},
                "decided by": run["decided_by"],
                "demo day": run["demo_day"],
                "message": run["message"],
            }
        )
    return pd.DataFrame(rows)


def merges_table(con: duckdb.DuckDBPyConnection, district_id: str) -> pd.DataFrame:
    rows = []
    for m in history.merges(con, district_id):
        counts = m.get("counts") or {}
        rows.append(
            {
                "version": m["version"],
                "kind": m["kind"],
                "run": m["run_id"],
                "by": m["actor"],
                "when": m["merged_at"],
                **{k: sum(c.get(k, 0) for c in counts.values()) for k in CHANGE_SUMMARY},
                "undone": m["undone"],
                "undoes": m["undoes"],
            }
        )
    return pd.DataFrame(rows)


def audit_table(con: duckdb.DuckDBPyConnection, district_id: str) -> pd.DataFrame:
    rows = history.audit_log(con, district_id)
    return pd.DataFrame(
        [
            {
                "when": r["logged_at"],
                "action": r["action"],
                "run": r["run_id"],
                "version": r["version"],
                "by": r["actor"],
                "detail": json.dumps(r["detail"], default=str) if r["detail"] else "",
            }
            for r in rows
        ]
    )


def counts_table(counts: dict[str, int]) -> pd.DataFrame:
    """A run's staged records per entity, in the entity order."""
    return pd.DataFrame(
        [
            {"entity": e.label, "records": int(counts.get(e.name, 0))}
            for e in ENTITIES
            if e.name in counts
        ]
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
    return _paged(
        con,
        "changes c",
        where,
        "entity, change, record_id, field NULLS FIRST, _row",
        page,
        page_size,
        extra=", rowid AS _row",
        show=f"""SELECT p.entity, p.change, p.record_name AS record, p.field, p.before, p.after,
            s.name AS school, p.record_id
            FROM page p LEFT JOIN {_school_names()} s ON s.id = p.school""",
    )


# --- the roster -----------------------------------------------------------------------------


def versions(con: duckdb.DuckDBPyConnection, district_id: str) -> list[tuple[int, str]]:
    """Merge versions the roster can be shown as of (undone merges left out), newest first."""
    rows = con.execute(
        """SELECT version, run_id, actor, strftime(merged_at, '%Y-%m-%d %H:%M') FROM merges
           WHERE district_id = ? AND kind = 'merge' AND NOT undone ORDER BY version DESC""",
        [district_id],
    ).fetchall()
    return [
        (int(v), f"Version {v} · run {r} · {t}" + (f" · {a}" if a else "")) for v, r, a, t in rows
    ]


def roster_stamp(con: duckdb.DuckDBPyConnection, district_id: str) -> int:
    return versions_.stamp(con, district_id)


def roster_counts(con: duckdb.DuckDBPyConnection, district_id: str) -> dict[str, int]:
    """Current, not archived records per entity."""
    union = " UNION ALL ".join(
        f"SELECT '{e.name}', count(*) FROM {sql.current(e, live=True)}" for e in ENTITIES
    )
    return {str(n): int(c) for n, c in con.execute(union, {"district": district_id}).fetchall()}


NAME_COLUMNS = ("first_name", "last_name", "name")


def _search_columns(spec: Entity, text: str) -> list[str]:
    """Where a roster search looks. Name parts are searched one by one (a concatenation per
    row cost a third of a search on a million students); the whole display name only when
    the text has a space in it ("Linh Nguyen")."""
    names = [q(c) for c in NAME_COLUMNS if c in spec.column_names]
    whole = [spec.display_sql()] if " " in text.strip() and spec.display else []
    return whole + names + [q(c) for c in SEARCH_COLUMNS if c in spec.column_names]


def roster_page(
    con: duckdb.DuckDBPyConnection,
    district_id: str,
    entity_name: str,
    *,
    version: int | None = None,
    search: str = "",
    include_archived: bool = True,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Paged:
    """One page of the district's roster of one entity, now or as of a merge version."""
    spec = entity(entity_name)
    where = _Where(district=district_id)
    if version is not None:
        where.params["version"] = version
    if not include_archived:
        where.add("NOT archived")
    where.search(_search_columns(spec, search), search)
    columns = ", ".join(q(c) for c in spec.column_names)
    return _paged(
        con,
        sql.as_of(spec, version),
        where,
        ", ".join(q(k) for k in spec.key),  # one row per key as of any version
        page,
        page_size,
        show=f"SELECT {columns}, archived, valid_from AS version FROM page",
    )


# --- roster quality -------------------------------------------------------------------------


def _current(spec: Entity) -> str:
    return sql.current(spec, live=True)


def students_by_school_grade(con: duckdb.DuckDBPyConnection, district_id: str) -> pd.DataFrame:
    """Current students per school and grade; grade_rank orders grades as Clever lists them."""
    return _frame(
        con.execute(
            f"""SELECT school, grade, students, grade_rank FROM (
                    SELECT coalesce(sc.name, st.school, '(no school)') AS school,
                           coalesce(st.grade, '(no grade)') AS grade, count(*) AS students,
                           coalesce(list_position($grades, st.grade), 999) AS grade_rank
                    FROM {_current(BY_NAME["students"])} st
                    LEFT JOIN {_current(BY_NAME["schools"])} sc ON sc.id = st.school
                    GROUP BY ALL)
                ORDER BY school, grade_rank, grade""",
            {"district": district_id, "grades": list(GRADES)},
        )
    )


def field_completeness(
    con: duckdb.DuckDBPyConnection, district_id: str, entity_name: str
) -> pd.DataFrame:
    """Per field of the entity's current roster: records, missing, and the share missing."""
    spec = entity(entity_name)
    counts = ", ".join(f"count({q(c)})" for c in spec.column_names)
    row = con.execute(
        f"SELECT count(*), {counts} FROM {_current(spec)}", {"district": district_id}
    ).fetchone()
    total = int(row[0]) if row else 0
    filled = [int(v) for v in row[1:]] if row else [0] * len(spec.column_names)
    return pd.DataFrame(
        [
            {
                "field": c.name,
                "records": total,
                "missing": total - n,
                "missing_pct": round(100.0 * (total - n) / total, 2) if total else 0.0,
            }
            for c, n in zip(spec.columns, filled, strict=True)
        ]
    )


def section_sizes(con: duckdb.DuckDBPyConnection, district_id: str) -> pd.DataFrame:
    """How many sections have how many enrolled students (empty sections included)."""
    return _frame(
        con.execute(
            f"""SELECT students, count(*) AS sections FROM (
                    SELECT s.id, count(e.user_id) AS students FROM {_current(BY_NAME["sections"])} s
                    LEFT JOIN {_current(ENROLLMENTS)} e ON e.section_id = s.id AND e.role = 'student'
                    GROUP BY s.id)
                GROUP BY students ORDER BY students""",
            {"district": district_id},
        )
    )


def students_per_teacher(con: duckdb.DuckDBPyConnection, district_id: str) -> pd.DataFrame:
    """How many teachers teach how many distinct students, through their sections (computed at
    each merge and undo, see quality.py)."""
    rows = quality.students_per_teacher(con, district_id, roster_stamp(con, district_id))
    return pd.DataFrame(rows, columns=["students", "teachers"])


def issues_across_runs(con: duckdb.DuckDBPyConnection, district_id: str) -> pd.DataFrame:
    """Errors and warnings per run (long form), oldest first."""
    return _frame(
        con.execute(
            """SELECT run_id AS run, severity, issues FROM (
                   SELECT run_id, coalesce(errors, 0) AS error, coalesce(warnings, 0) AS warning
                   FROM runs WHERE district_id = ? AND status <> 'failed' AND status <> 'fetching')
               UNPIVOT (issues FOR severity IN (error, warning)) ORDER BY run, severity""",
            [district_id],
        )
    )


# --- setup ----------------------------------------------------------------------------------


def requirements_table(params: Parameters) -> pd.DataFrame:
    """The data requirements District Parameters imply: to show, and to send as CSV."""
    return pd.DataFrame(
        [asdict(r) for r in params.requirements()],
        columns=["measure", "entity", "field", "rule", "description"],
    )


def sharing(con: duckdb.DuckDBPyConnection, district_id: str) -> Sharing:
    """What the latest successful run saw: records per entity, and section members the token
    could not see (the district's sharing leaves them out; counted when the run was staged)."""
    row = con.execute(
        """SELECT run_id, counts, coalesce(unshared, 0) FROM runs
           WHERE district_id = ? AND counts IS NOT NULL AND status IN ?
           ORDER BY run_id DESC LIMIT 1""",
        [district_id, [RunStatus.STAGED, RunStatus.HELD, RunStatus.MERGED, RunStatus.REJECTED]],
    ).fetchone()
    if row is None:
        return Sharing(None, {}, 0)
    counts = json.loads(row[1]) if row[1] else {}
    return Sharing(int(row[0]), {str(k): int(v) for k, v in counts.items()}, int(row[2]))


def districts_table(rows: Sequence[Any]) -> pd.DataFrame:
    """The districts (districts.District rows) for the District page."""
    return pd.DataFrame(
        [
            {
                "district": d.name,
                "District ID": d.district_id,
                "demo": d.is_demo,
                "Clever name": d.clever_name,
                "SIS": d.sis_type,
                "verified": d.verified_at,
            }
            for d in rows
        ],
        columns=["district", "District ID", "demo", "Clever name", "SIS", "verified"],
    )


# --- test plans and the screening class rule -----------------------------------------------


def parameters_notes(con: duckdb.DuckDBPyConnection, district_id: str) -> list[str]:
    """How the district's stored parameters were converted from an earlier version, in
    sentences (parameters.upgrade); empty when they are current or not saved."""
    row = con.execute("SELECT body FROM parameters WHERE district_id = ?", [district_id]).fetchone()
    if row is None:
        return []
    try:
        return parameters_.upgrade(json.loads(row[0]))[1]
    except json.JSONDecodeError:
        return []


def _school(schools: dict[str, str], school_id: str | None) -> str:
    return schools.get(school_id, school_id) if school_id else "(no school)"


def preview_table(preview: readiness.Preview, schools: dict[str, str]) -> pd.DataFrame:
    """A sample of the sections a screening class rule matches."""
    return pd.DataFrame(
        [
            (x.name, _school(schools, x.school_id), x.grade, x.students, x.section_id)
            for x in preview.sample
        ],
        columns=["section", "school", "grade", "students", "section_id"],
    )


def plans_table(found: readiness.Readiness, schools: dict[str, str]) -> pd.DataFrame:
    """Students and test plans per school x grade form (x screening class)."""
    return pd.DataFrame(
        [
            (_school(schools, g.school_id), g.grade, g.class_id, g.students, g.plans, g.school_id)
            for g in found.groups
        ],
        columns=["school", "grade", "class_id", "students", "plans", "school_id"],
    )


def unplaceable_table(
    found: readiness.Readiness,
    people: dict[str, tuple[str | None, str | None, str | None, str | None]] | None = None,
    schools: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The students who cannot be placed in a test plan, with the reason; with `people`
    (readiness.students), who they are, their school and grade as the source has them."""
    if people is None:
        return pd.DataFrame(
            [(u.record_id, u.reason) for u in found.unplaceable], columns=["record_id", "reason"]
        )
    rows = []
    for u in found.unplaceable:
        first, last, school, grade = people.get(u.record_id, (None, None, None, None))
        shown = _school(schools or {}, school) if school else None
        rows.append((u.record_id, u.reason, first, last, shown, grade))
    return pd.DataFrame(
        rows, columns=["record_id", "reason", "first_name", "last_name", "school", "grade"]
    )


def plans_by_school_grade(plans: pd.DataFrame) -> pd.DataFrame:
    """plans_table summed per school and grade form (the chart's data), forms in order."""
    out = plans.groupby(["school", "grade"], as_index=False)[["students", "plans"]].sum()
    out["grade_rank"] = out["grade"].map({f: i for i, f in enumerate(FORMS)})
    return out.sort_values(["school", "grade_rank"]).reset_index(drop=True)

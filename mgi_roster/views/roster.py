"""The roster as of any merge, searched a page at a time, and its quality figures."""

from __future__ import annotations

import duckdb
import pandas as pd

from mgi_roster.entities import BY_NAME, ENROLLMENTS, ENTITIES, GRADES, Entity, entity
from mgi_roster.roster import quality, sql
from mgi_roster.roster import versions as versions_
from mgi_roster.roster.sql import q
from mgi_roster.views.paging import (
    DEFAULT_PAGE_SIZE,
    SEARCH_COLUMNS,
    Paged,
    _current,
    _frame,
    _paged,
    _Where,
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

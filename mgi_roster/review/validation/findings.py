"""How a finding becomes an issue row: the SQL pieces every layer of validation shares.

An issue row keeps the facts of a finding: the check, the record (its Clever id, and its name,
school and SIS id for the Validation page's filters), the field, the offending value and the
check's parameters as JSON (`params`: what its sentence needs beyond those, such as the other
records sharing a SIS id). Its sentence is rendered when shown (messages.py); `message` stays
NULL (only rows written before issues were data hold one).

A check is a SELECT of findings over the run's staging rows (record_id, field, check_name,
severity, value, params); `insert` names the flagged records only and writes the rows in one
INSERT. Everything is read by table name (stg_<entity>, roster_<entity>, issues) on whatever
DuckDB connection validation is given.
"""

from __future__ import annotations

import re

import duckdb

from mgi_roster.entities import Entity
from mgi_roster.roster import sql
from mgi_roster.roster.sql import q
from mgi_roster.roster.sql import staging_table as stg
from mgi_roster.store import has_view

VALUE_CHARS = 200  # the issue's `value`, `record_name` and `sis_id` columns
ISSUE_COLUMNS = (
    "run_id",
    "district_id",
    "entity",
    "record_id",
    "field",
    "check",
    "severity",
    "value",
    "school",
    "record_name",
    "sis_id",
    "params",
)
INSERT = "INSERT INTO issues (" + ", ".join(q(c) for c in ISSUE_COLUMNS) + ") "
# An events run's file: the latest merge's findings the run carries (carry.py), beside `issues`
CARRIED_VIEW = "carried_issues"


def of_run(con: duckdb.DuckDBPyConnection, schema: str = "") -> str:
    """SQL: the table of a run's findings in `con` (or in the run's file it attached as
    `schema`). The store's `issues` holds every run's; a run's own file holds its new findings
    in `issues` and, an events run's, those it carries in CARRIED_VIEW."""
    prefix = f"{schema}." if schema else ""
    if not has_view(con, CARRIED_VIEW, schema):
        return f"{prefix}issues"
    return f"(SELECT * FROM {prefix}issues UNION ALL SELECT * FROM {prefix}{CARRIED_VIEW})"


NO_PARAMS = "'{}'"


def literal(text: str) -> str:
    """A constant as a SQL string literal (a check's name or wording, never user data)."""
    return "'" + text.replace("'", "''") + "'"


def clip(expr: str, n: int = VALUE_CHARS) -> str:
    return f"(CASE WHEN length({expr}) > {n} THEN left({expr}, {n}) || '…' ELSE {expr} END)"


def name_sql(entity: Entity, alias: str = "") -> str:
    """A record's name as a label shows it (NULL when blank), clipped for storage."""
    return clip(f"NULLIF(trim({entity.display_sql(alias)}), '')")


def bind(statement: str, values: dict[str, object]) -> dict[str, object]:
    """Only the parameters a statement names: DuckDB refuses extra ones."""
    used = set(re.findall(r"\$(\w+)", statement))
    return {k: v for k, v in values.items() if k in used}


def with_meta(entity: Entity, where: str = "", *, one_per_id: bool = False) -> str:
    """Some of the run's staged rows of an entity with the columns an issue carries: `_name`,
    `_school`, `_sis` and `_rowid`. Asked for the findings' rows only, so a district of
    1,000,000 clean students costs nothing here."""
    sis = "sis_id" if "sis_id" in entity.column_names else "NULL::VARCHAR"
    dedupe = " QUALIFY row_number() OVER (PARTITION BY id) = 1" if one_per_id else ""
    return (
        f"(SELECT *, rowid AS _rowid, {clip(entity.display_sql())} AS _name, "
        f"{clip(entity.school_sql())} AS _school, {clip(sis)} AS _sis "
        f"FROM {stg(entity)} WHERE run_id = $run {where}{dedupe})"
    )


def duplicates(entity: Entity) -> str:
    return f"duplicated_{entity.name}"


def find_duplicates(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    entity: Entity,
    scoped: frozenset[str] = frozenset(),
) -> None:
    """The entity's Clever ids staged twice, and the one row of each that checks read. An
    events run's staging holds each id once outside its scope (the roster's rows)."""
    from mgi_roster.review.validation.scope import table

    within = f" AND id IN (SELECT id FROM {table(entity)})" if entity.name in scoped else ""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {duplicates(entity)} AS
            SELECT id, min(rowid) AS keep FROM {stg(entity)} WHERE run_id = $run AND id IS NOT NULL{within}
            GROUP BY id HAVING count(*) > 1""",
        {"run": run_id},
    )


def records(entity: Entity) -> str:
    """The run's rows of an entity, one per Clever id (a second copy is unique_id's finding).

    The duplicated ids are found once per validation (`find_duplicates`); deduplicating with
    a window in each of the checks that read an entity cost a sort of its rows every time.
    """
    # A join with the (small, usually empty) table of duplicated ids: NOT EXISTS made DuckDB
    # set every staged row aside first (a "delim join"), half a second per use at 1M.
    return (
        f"(SELECT s.* FROM {stg(entity)} s LEFT JOIN {duplicates(entity)} d ON d.id = s.id "
        "WHERE s.run_id = $run AND s.id IS NOT NULL AND (d.keep IS NULL OR d.keep = s.rowid))"
    )


def current(entity: Entity) -> str:
    """The district's roster as the MGI holds it now."""
    return sql.current(entity, live=True)


def finding(
    check_sql: str,
    severity_sql: str,
    *,
    field: str,
    value: str,
    params: str = NO_PARAMS,
    alias: str = "r",
) -> str:
    """The select list of one finding. Every argument is SQL: a statement reporting under one
    check gives its name and severity as literals, one reporting under several a CASE.
    `params` is JSON (json_object(...)) with what the check's sentence needs."""
    return (
        f"SELECT {alias}.id AS record_id, {field} AS field, {check_sql} AS check_name, "
        f"{severity_sql} AS severity, {value} AS value, {params} AS params"
    )


def insert(entity: Entity, findings: str) -> str:
    """Write the findings of one check, each with its record's name, school and SIS id."""
    meta = with_meta(entity, "AND id IN (SELECT record_id FROM found)", one_per_id=True)
    return (
        f"{INSERT} WITH found AS MATERIALIZED ({findings}) "
        f"SELECT $run, $district, '{entity.name}', f.record_id, f.field, f.check_name, f.severity, "
        f"{clip('f.value')}, m._school, m._name, m._sis, f.params "
        f"FROM found f LEFT JOIN {meta} m ON m.id = f.record_id"
    )

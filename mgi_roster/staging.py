"""Staging: Clever pages flattened into the stg_<entity> tables, by SQL made from the entity specs.

Each page's raw JSON body goes to DuckDB as one parameter and is unnested and flattened there:
no per-record Python, so a page of 10,000 users costs one statement, and memory holds one page.
"""

from __future__ import annotations

import duckdb

from mgi_roster.entities import ENROLLMENTS, ENTITIES, FETCHED, SECTIONS, Entity
from mgi_roster.store import q, stg


def _page_docs(entity: Entity) -> str:
    """SQL yielding one `doc` per record of a page body passed as parameter $body."""
    role = f" WHERE json_exists(doc, '$.roles.{entity.role}')" if entity.role else ""
    return (
        "SELECT doc FROM (SELECT COALESCE(json_extract(item, '$.data'), item) AS doc "
        f"FROM (SELECT unnest(json_extract($body::JSON, '$.data[*]')) AS item)){role}"
    )


def _stage_sql(entity: Entity) -> str:
    names = ", ".join(q(c.name) for c in entity.columns)
    values = ", ".join(c.select("doc") for c in entity.columns)
    return f"INSERT INTO {stg(entity)} (run_id, district_id, {names}) SELECT $run, $district, {values} FROM ({_page_docs(entity)})"


def _enrollments_sql() -> str:
    # sections.students and sections.teachers become (section, user, role) rows. Ids the token
    # cannot see stay in: validation reports them as sharing findings, not failures.
    parts = []
    for role, path in (("student", "$.students"), ("teacher", "$.teachers")):
        parts.append(
            f"SELECT id AS section_id, unnest(json_extract_string(doc, '{path}[*]')) AS user_id, '{role}' AS role "
            f"FROM (SELECT {SECTIONS.column('id').select('doc')} AS id, doc FROM ({_page_docs(SECTIONS)}))"
        )
    union = " UNION ALL ".join(parts)
    return (
        f"INSERT INTO {stg(ENROLLMENTS)} (run_id, district_id, section_id, user_id, role) "
        f"SELECT $run, $district, section_id, user_id, role FROM ({union}) WHERE user_id IS NOT NULL AND user_id <> ''"
    )


STAGE_SQL = {e.name: _stage_sql(e) for e in FETCHED}
ENROLLMENTS_SQL = _enrollments_sql()


def stage_page(
    con: duckdb.DuckDBPyConnection, entity: Entity, run_id: int, district_id: str, body: str
) -> None:
    """Flatten one raw page body into the entity's staging table (and sections' enrollments)."""
    params = {"run": run_id, "district": district_id, "body": body}
    con.execute(STAGE_SQL[entity.name], params)
    if entity is SECTIONS:
        con.execute(ENROLLMENTS_SQL, params)


def staged_counts(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, int]:
    union = " UNION ALL ".join(
        f"SELECT '{e.name}', count(*) FROM {stg(e)} WHERE run_id = $run" for e in ENTITIES
    )
    rows = con.execute(union, {"run": run_id}).fetchall()
    return {name: int(n) for name, n in rows}


def discard_staging(
    con: duckdb.DuckDBPyConnection, run_id: int, *, keep_findings: bool = False
) -> None:
    """Drop a run's staged rows. A merged or rejected run keeps its issues and changes for
    history; a failed run keeps nothing but its message."""
    for entity in ENTITIES:
        con.execute(f"DELETE FROM {stg(entity)} WHERE run_id = ?", [run_id])
    if not keep_findings:
        con.execute("DELETE FROM issues WHERE run_id = ?", [run_id])
        con.execute("DELETE FROM changes WHERE run_id = ?", [run_id])

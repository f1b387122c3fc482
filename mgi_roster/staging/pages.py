"""Staging: Clever pages flattened into the stg_<entity> tables, by SQL made from the entity specs.

Each page's raw JSON body goes to DuckDB as one parameter and is unnested and flattened there:
no per-record Python, so a page of 10,000 users costs one statement, and memory holds one page.
"""

from __future__ import annotations

import json
import re
import threading

import duckdb

from mgi_roster.entities import ENROLLMENTS, ENTITIES, FETCHED, MEMBER_ROLES, SECTIONS, Entity
from mgi_roster.roster.sql import q
from mgi_roster.roster.sql import staging_table as stg
from mgi_roster.sources.clever import Envelope

# SQL yielding one `doc` per record of a page body bound as $body: the `data` of each item of
# the list envelope, as the client counts them (an item without one is skipped). Another source
# of records in the same shape (the objects of Clever's events: staging/events.py) passes its
# own query yielding `doc`, and is flattened by the very same SQL.
PAGE_DOCS = "SELECT doc FROM (SELECT unnest(json_extract($body::JSON, '$.data[*].data')) AS doc) WHERE doc IS NOT NULL"


def _paths_sql(paths: list[str]) -> str:
    return "[" + ", ".join(f"'{p}'" for p in paths) + "]"


def _flatten_sql(entity: Entity, docs: str = PAGE_DOCS) -> tuple[str, str]:
    """(column expressions, FROM clause) reading every column of a page's records.

    Each record is parsed once: all text paths come out of one json_extract_string call (`t`),
    list values and the role marker out of one json_extract call (`j`); asking DuckDB for one
    path at a time re-parses the record per column, four times slower. Clever's missing-value
    rule applies everywhere: "", null and an absent key all become NULL.
    """
    text_paths: list[str] = []
    json_paths: list[str] = []
    expressions = []
    for column in entity.columns:
        if column.kind == "list":
            json_paths.append(column.paths[0])
            j = f"j[{len(json_paths)}]"
            # Only a real, non-empty array becomes a list, so "no schools" compares equal
            # however Clever says it; anything else (a string, an object) is missing.
            expressions.append(
                f"CASE WHEN json_array_length({j}) > 0 THEN "
                f"list_filter(json_extract_string({j}, '$[*]'), lambda x: x IS NOT NULL AND x <> '') END"
            )
            continue
        reads = []
        for path in column.paths:
            text_paths.append(path)
            reads.append(f"NULLIF(t[{len(text_paths)}], '')")
        value = reads[0] if len(reads) == 1 else f"COALESCE({', '.join(reads)})"
        if column.kind == "date":
            # Term dates come as YYYY-MM-DD on /terms and as full timestamps on
            # /schools/{id}/terms (clever-api.md §4.3): compare them as dates. Anything else is
            # kept as sent, for validation to report.
            value = f"CASE WHEN regexp_matches({value}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}([T ].*)?$') THEN left({value}, 10) ELSE {value} END"
        expressions.append(value)
    where = ""
    if entity.role:
        json_paths.append(f"$.roles.{entity.role}")
        where = f" WHERE j[{len(json_paths)}] IS NOT NULL"
    reads = [f"json_extract_string(doc, {_paths_sql(text_paths)}) AS t"]
    if json_paths:
        reads.append(f"json_extract(doc, {_paths_sql(json_paths)}) AS j")
    source = f"(SELECT {', '.join(reads)} FROM ({docs})){where}"
    return ", ".join(expressions), source


def stage_sql(entity: Entity, docs: str = PAGE_DOCS) -> str:
    """INSERT of the records `docs` yields (one JSON `doc` each) into the entity's staging."""
    names = ", ".join(q(c.name) for c in entity.columns)
    values, source = _flatten_sql(entity, docs)
    return f"INSERT INTO {stg(entity)} (run_id, district_id, {names}) SELECT $run, $district, {values} FROM {source}"


def members_sql(docs: str = PAGE_DOCS) -> str:
    """SELECT of the memberships (section_id, user_id, role) the sections `docs` yields name."""
    # sections.students and sections.teachers become (section, user, role) rows. Ids the token
    # cannot see stay in: validation reports them as sharing findings, not failures.
    parts = [
        f"SELECT id AS section_id, unnest(json_extract_string(j[{i}], '$[*]')) AS user_id, '{role}' AS role FROM sections"
        for i, role in enumerate(MEMBER_ROLES, 2)
    ]
    return (
        "WITH sections AS (SELECT NULLIF(json_extract_string(j[1], '$'), '') AS id, j FROM "
        f"(SELECT json_extract(doc, ['$.id', '$.students', '$.teachers']) AS j FROM ({docs}))) "
        f"SELECT section_id, user_id, role FROM ({' UNION ALL '.join(parts)}) "
        "WHERE user_id IS NOT NULL AND user_id <> ''"
    )


def enrollments_sql(docs: str = PAGE_DOCS) -> str:
    """INSERT into staging of the enrollments named by the sections `docs` yields."""
    return (
        f"INSERT INTO {stg(ENROLLMENTS)} (run_id, district_id, section_id, user_id, role) "
        f"SELECT $run, $district, section_id, user_id, role FROM ({members_sql(docs)})"
    )


class EnvelopeReader:
    """Reads a page's record count and links with DuckDB, for the client's paging.

    Python's json.loads of a 10,000-user page takes ~0.1 s holding the GIL, which stalls the
    DuckDB statement staging the previous page in the other thread; DuckDB parses (and
    validates) the same text several times faster. One in-memory DuckDB per thread. The count
    is the length of `data`, read without copying the records out (twice as fast, and an events
    page is megabytes): staging skips an item without its `data`.
    """

    # One parse of the text (each json_* function parses it again: two of them took three times
    # as long): DuckDB refuses text that is not JSON, and JSON text is an object exactly when it
    # starts with "{" (OBJECT below), so it is not parsed to ask. The items of `data` are read
    # as nothing (a boolean, NULL for an object), only counted.
    SQL = """SELECT len(e.data), e.links::VARCHAR
        FROM (SELECT from_json($body, '{"data": ["BOOLEAN"], "links": "JSON"}') AS e)"""
    OBJECT = re.compile(r"\s*\{")

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, text: str) -> Envelope:
        con = getattr(self._local, "con", None)
        if con is None:
            # Small and single-threaded: it parses one page at a time beside the sync's own
            # DuckDB, whose memory is bounded too (staging/runfile.py).
            con = self._local.con = duckdb.connect(config={"memory_limit": "128MB", "threads": 1})
            con.execute("SET enable_progress_bar = false")  # it writes to stdout
        try:
            row = con.execute(self.SQL, {"body": text}).fetchone()
        except duckdb.Error as exc:  # text DuckDB cannot even take as JSON
            raise ValueError(str(exc)) from None
        if not row or not self.OBJECT.match(text):
            raise ValueError("not a JSON object")
        links = json.loads(row[1]) if row[1] else []
        return Envelope(count=int(row[0] or 0), links=links if isinstance(links, list) else [])


STAGE_SQL = {e.name: stage_sql(e) for e in FETCHED}
ENROLLMENTS_SQL = enrollments_sql()


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

"""Downloads and exports: the issues, changes and withheld records of a run as CSV or JSON, and
a district's current roster as CSV.

An issue's `message` is rendered from its fields (review/validation/messages.py); the export
also carries those fields (the record's name and SIS id, the check's `params` as JSON), so a
masked download renders its messages from masked fields too (masking.Masker.frame).

CSV cells that a spreadsheet would run as a formula (starting with =, +, -, @, or a tab or
carriage return) are prefixed with a single quote, so a roster value such as
`=HYPERLINK(...)` stays text when a district opens the file (OWASP "CSV injection").

The roster export (`roster_csv`) is ONE file: a row per record, `id` first, then `entity`, then
every entity's columns (a column another entity lacks stays empty), then `archived` and the
runs that first and last saw the record. One file because a specialist opens it in Excel with a
double click and filters the `entity` column; a ZIP of files per entity is the OneRoster export's
shape, not a spreadsheet's. An enrollment's id is section:user:role, as everywhere else.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from mgi_roster.entities import ENTITIES
from mgi_roster.errors import InputError
from mgi_roster.roster import sql

ISSUE_COLUMNS = (
    "run_id",
    "entity",
    "record_id",
    "field",
    "check",
    "severity",
    "value",
    "message",
    "record_name",
    "sis_id",
    "params",
)
CHANGE_COLUMNS = ("run_id", "entity", "record_id", "change", "field", "before", "after")
WITHHELD_COLUMNS = ("run_id", "entity", "record_id", "change", "reason", "detail")
WHAT = {"issues": ISSUE_COLUMNS, "changes": CHANGE_COLUMNS, "withheld": WITHHELD_COLUMNS}
TABLES = {"issues": "issues", "changes": "changes", "withheld": "run_withheld"}
ROSTER_TRAILER = ("archived", "first_seen_run", "last_seen_run")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def rows(
    con: duckdb.DuckDBPyConnection, run_id: int, what: str
) -> tuple[Sequence[str], list[tuple[Any, ...]]]:
    """The export rows of a run, in a stable order."""
    if what not in WHAT:
        raise InputError(f"Unknown export {what!r}: choose issues, changes or withheld.")
    exists = con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone()
    if not exists:
        raise InputError(f"There is no run {run_id} in this database.")
    columns = WHAT[what]
    order = {
        "issues": 'entity, severity, "check", record_id, field',
        "changes": "entity, change, record_id, field",
        "withheld": "entity, reason, record_id",
    }[what]
    select = ", ".join(f'"{c}"' for c in columns)
    found = con.execute(
        f"SELECT {select} FROM {TABLES[what]} WHERE run_id = ? ORDER BY {order}", [run_id]
    ).fetchall()
    if what == "issues":
        at = columns.index("message")
        # Rendering needs pandas: imported here, so a first page that only links downloads
        # (and the command line) starts without it.
        from mgi_roster.review.validation import messages

        sentences = messages.rendered(columns, found)
        found = [
            (*row[:at], text, *row[at + 1 :]) for row, text in zip(found, sentences, strict=True)
        ]
    return columns, found


def to_csv(columns: Sequence[str], data: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in data:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def to_json(columns: Sequence[str], data: Iterable[Sequence[Any]]) -> str:
    """A list of objects; an issue's params are an object too (not JSON text)."""
    return json.dumps(
        [
            {
                c: json.loads(v) if c == "params" and isinstance(v, str) else v
                for c, v in zip(columns, row, strict=True)
            }
            for row in data
        ],
        ensure_ascii=False,
        indent=1,
        default=str,
    )


def export(con: duckdb.DuckDBPyConnection, run_id: int, what: str, fmt: str = "csv") -> str:
    columns, data = rows(con, run_id, what)
    if fmt == "csv":
        return to_csv(columns, data)
    if fmt == "json":
        return to_json(columns, data)
    raise InputError(f"Unknown format {fmt!r}: choose csv or json.")


def roster_columns() -> tuple[str, ...]:
    """id, entity, every entity's columns once (in declaration order), then the trailer."""
    names = dict.fromkeys(c for e in ENTITIES for c in e.column_names if c != "id")
    return ("id", "entity", *names, *ROSTER_TRAILER)


def roster_rows(con: duckdb.DuckDBPyConnection, district_id: str) -> list[tuple[Any, ...]]:
    """The district's current roster (archived records too, marked), a row per record."""
    known = con.execute("SELECT 1 FROM districts WHERE district_id = ?", [district_id]).fetchone()
    if not known:
        raise InputError(f"There is no district {district_id} in this database.")
    columns = roster_columns()
    found: list[tuple[Any, ...]] = []
    for entity in ENTITIES:
        own = set(entity.column_names)
        lists = {c.name for c in entity.columns if c.kind == "list"}

        def cell(name: str, lists: set[str] = lists, own: set[str] = own) -> str:
            if name not in own and name not in ROSTER_TRAILER:
                return "NULL"
            ref = f"r.{sql.q(name)}"
            return f"array_to_string({ref}, ';')" if name in lists else ref

        select = ", ".join(
            [sql.record_id(entity, "r"), f"'{entity.name}'", *(cell(c) for c in columns[2:])]
        )
        order = ", ".join(f"r.{sql.q(k)}" for k in entity.key)
        found += con.execute(
            f"SELECT {select} FROM {sql.as_of(entity)} r ORDER BY {order}",
            {"district": district_id},
        ).fetchall()
    return found


def roster_csv(con: duckdb.DuckDBPyConnection, district_id: str) -> str:
    return to_csv(roster_columns(), roster_rows(con, district_id))

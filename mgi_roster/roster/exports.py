"""Downloads and exports: the issues and changes of a run as CSV or JSON.

An issue's `message` is rendered from its fields (review/validation/messages.py); the export
also carries those fields (the record's name and SIS id, the check's `params` as JSON), so a
masked download renders its messages from masked fields too (masking.Masker.frame).

CSV cells that a spreadsheet would run as a formula (starting with =, +, -, @, or a tab or
carriage return) are prefixed with a single quote, so a roster value such as
`=HYPERLINK(...)` stays text when a district opens the file (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from mgi_roster.errors import InputError

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
WHAT = {"issues": ISSUE_COLUMNS, "changes": CHANGE_COLUMNS}
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
        raise InputError(f"Unknown export {what!r}: choose issues or changes.")
    exists = con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone()
    if not exists:
        raise InputError(f"There is no run {run_id} in this database.")
    columns = WHAT[what]
    order = (
        'entity, severity, "check", record_id, field'
        if what == "issues"
        else "entity, change, record_id, field"
    )
    select = ", ".join(f'"{c}"' for c in columns)
    found = con.execute(
        f"SELECT {select} FROM {what} WHERE run_id = ? ORDER BY {order}", [run_id]
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

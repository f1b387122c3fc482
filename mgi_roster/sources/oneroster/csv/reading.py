"""A file's rows into its raw table through DuckDB's read_csv; malformed rows and line breaks inside fields found by line."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from mgi_roster.errors import PackageError
from mgi_roster.sources.oneroster import files
from mgi_roster.sources.oneroster.csv.problems import REJECTS_KEPT, REJECTS_PER_FILE, _Problems
from mgi_roster.sources.oneroster.files import Version
from mgi_roster.sources.oneroster.zipsafe import Extracted

# DuckDB's reject error types -> this reader's codes and what to tell the specialist.
_REJECTS = {
    "INVALID ENCODING": ("csv.encoding", "The row is not UTF-8. Save the file as UTF-8."),
    "MISSING COLUMNS": ("csv.columns", "The row has fewer fields than the header."),
    "TOO MANY COLUMNS": ("csv.columns", "The row has more fields than the header."),
    "UNQUOTED VALUE": (
        "csv.quoting",
        "A quote is not closed, or a quoted field is followed by text; a field holding a "
        'comma or a quote is wrapped in double quotes, and an inner quote is doubled ("").',
    ),
    "LINE SIZE OVER MAXIMUM": ("csv.line_too_long", "The line is longer than 2 MB."),
}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _insert(
    con: duckdb.DuckDBPyConnection,
    file: files.File,
    spec: str,
    columns: str,
    path: Path,
    rejects: str,
    scans: str,
) -> tuple[int] | None:
    return con.execute(
        f"INSERT INTO {file.table} ({spec}) SELECT {spec} FROM read_csv("
        f"{_literal(str(path))}, columns = {columns}, header = true, "
        "auto_detect = false, delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
        f"store_rejects = true, rejects_table = {_literal(rejects)}, "
        f"rejects_scan = {_literal(scans)}, rejects_limit = {REJECTS_KEPT})"
    ).fetchone()


def _read_rows(
    con: duckdb.DuckDBPyConnection,
    file: files.File,
    header: list[str],
    version: Version,
    extracted: Extracted,
    problems: _Problems,
) -> int:
    """Append the file's rows to its raw table; the number of rows read."""
    expected = file.header(version) or ()
    if extracted.crlf not in (0, extracted.newlines) or extracted.bare_cr:
        # Not read by DuckDB (its parser stops at mixed line endings and would abort the
        # transaction): a line break inside a field is one cause, named by its line.
        if _scan_line_breaks(extracted.path, expected, file.filename, problems):
            return 0
        problems.error(
            "csv.line_endings",
            f"Lines end in different ways ({extracted.crlf:,} with CRLF, "
            f"{extracted.newlines - extracted.crlf:,} with LF alone, {extracted.bare_cr:,} with "
            "CR alone, or a CR inside a field); a CSV file ends every line the same way (CRLF, "
            "or LF) and no field holds a line break. Save it again from one program.",
            file=file.filename,
        )
        return 0
    columns = "{" + ", ".join(f"{_literal(c)}: 'VARCHAR'" for c in header) + "}"
    rejects, scans = f"or_rejects_{file.name}", f"or_rejects_scan_{file.name}"
    spec = ", ".join(_ident(c) for c in expected)
    try:
        row = _insert(con, file, spec, columns, extracted.path, rejects, scans)
    except duckdb.Error as error:
        # DuckDB's parser gave up on the file as a whole. The transaction is aborted with it,
        # so the package stops here, with what was found so far.
        reason = str(error).strip().splitlines()[0]
        problems.error(
            "csv.unreadable",
            f"The file cannot be read as CSV ({reason}). Check that it is comma-separated "
            "UTF-8 text and that its quotes are balanced.",
            file=file.filename,
        )
        raise PackageError(problems.final()) from None

    count = int(row[0]) if row else 0
    # One problem per rejected line (DuckDB may give a line two errors: the cause first).
    rejected = con.execute(
        f"SELECT line, arg_min(column_name, p), arg_min(error_type, p), "
        f"arg_min(error_message, p) FROM (SELECT *, CASE error_type "
        "WHEN 'INVALID ENCODING' THEN 0 WHEN 'UNQUOTED VALUE' THEN 1 ELSE 2 END AS p "
        f"FROM {rejects}) GROUP BY line ORDER BY line"
    ).fetchall()
    kept = con.execute(f"SELECT count(*) FROM {rejects}").fetchone()
    truncated = bool(kept and kept[0] >= REJECTS_KEPT)
    con.execute(f"DROP TABLE IF EXISTS {rejects}")
    con.execute(f"DROP TABLE IF EXISTS {scans}")
    for line, column, kind, detail in rejected[:REJECTS_PER_FILE]:
        code, message = _REJECTS.get(kind, ("csv.row", str(detail)))
        problems.error(code, message, file=file.filename, line=int(line), column=column)
    if len(rejected) > REJECTS_PER_FILE:
        problems.error(
            "csv.more_rows",
            f"{'At least ' if truncated else ''}{len(rejected) - REJECTS_PER_FILE:,} more "
            "malformed rows of this file were not listed.",
            file=file.filename,
        )
    physical = extracted.newlines + (0 if extracted.ends_with_newline or not extracted.size else 1)
    records = count + len(rejected)
    if physical - 1 > records and not truncated:
        _find_line_breaks(con, file, expected, extracted.path, problems)
    return count


def _find_line_breaks(
    con: duckdb.DuckDBPyConnection,
    file: files.File,
    expected: tuple[str, ...],
    path: Path,
    problems: _Problems,
) -> None:
    """The file has more lines than rows: a quoted field holds a line break, which the binding
    forbids (blank lines also make the counts differ, harmlessly). SQL finds whether any field
    holds one; only then is the file read again in Python for the lines."""
    holds = " OR ".join(
        f"contains({_ident(c)}, chr(10)) OR contains({_ident(c)}, chr(13))" for c in expected
    )
    found = con.execute(f"SELECT count(*) FROM {file.table} WHERE {holds}").fetchone()
    if not found or not found[0]:
        return
    _scan_line_breaks(path, expected, file.filename, problems)


def _scan_line_breaks(
    path: Path, expected: tuple[str, ...], filename: str, problems: _Problems
) -> int:
    """Read the file in Python for fields holding a line break; how many were found."""
    found = 0
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f)
        try:
            next(reader, None)
            start = reader.line_num + 1
            for row in reader:
                for column, cell in zip(expected, row, strict=False):
                    if "\n" in cell or "\r" in cell:
                        found += 1
                        problems.error(
                            "csv.line_break",
                            "A field holds a line break, which the OneRoster CSV binding "
                            "forbids; remove it (a field may hold commas and quotes, not new "
                            "lines).",
                            file=filename,
                            line=start,
                            column=column,
                        )
                start = reader.line_num + 1
                if found >= REJECTS_PER_FILE:
                    break
        except csv.Error:
            pass  # an unbalanced quote; DuckDB's rejects or the line-endings problem say so
    return found

"""Reading a OneRoster CSV package (1.1 or 1.2) into the run's raw tables, all or nothing.

`load_package` checks what makes a package unreadable, in the order a reader meets it: the ZIP
(zipsafe.py), manifest.csv, then each rostering file's header, encoding and quoting. Every
problem found is collected (up to MAX_PROBLEMS) and raised together as one PackageError; the raw
tables are created and filled in one transaction, so a failed package leaves none of them.
Values (enums, references, dates) are judged afterwards by `rows.check_rows`, because a bad cell
in one of a million rows is a finding to review, not a reason to refuse the other rows.

Speed: Python reads only manifest.csv and each file's first line. The rows go straight from the
inflated file into DuckDB's `read_csv` (explicit VARCHAR columns, RFC 4180 quoting, strict
mode), whose rejects table gives the line of every malformed row (bad UTF-8, wrong number of
fields, an unterminated quote). Line breaks inside a quoted field, which DuckDB accepts and the
binding forbids, are found by comparing the file's physical lines (counted while inflating) with
the rows read; only when they differ are the rows searched for the culprit.

Leniency, where real packages commonly deviate (each a warning, never silent): files inside one
top-level folder; an unknown manifest property (e.g. the typo `fiel.demographics`); a data file
the manifest does not declare and the ZIP does not hold (read as absent); `manifest.version` `1`
(Excel's rewrite of `1.0`); a repeated manifest property with the same value; extension columns
not prefixed `metadata.`; a delta file with a header and no rows. Everything else the binding
states is an error.
"""

from __future__ import annotations

import csv
import difflib
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from mgi_roster.errors import PackageError, Problem
from mgi_roster.kinds import Severity
from mgi_roster.sources.oneroster import files
from mgi_roster.sources.oneroster.files import VERSIONS, Mode, Version
from mgi_roster.sources.oneroster.zipsafe import Extracted, Limits, extract, open_package
from mgi_roster.store import transaction

__all__ = ["DEFAULT_LIMITS", "Limits", "Package", "load_package", "MAX_PROBLEMS"]

MANIFEST = "manifest.csv"
MANIFEST_HEADER = ("propertyName", "value")
MANIFEST_VERSION = "1.0"
MODES: tuple[Mode, ...] = ("bulk", "delta", "absent")
SOURCE_PROPERTIES = ("source.systemName", "source.systemCode")
REJECTS_KEPT = 100_000  # DuckDB's reject rows kept per file (a row may give one per column)
REJECTS_PER_FILE = 20  # malformed rows listed per file: enough to see the pattern
MAX_PROBLEMS = 200  # past this a package is plainly broken; the list would only repeat itself
DEFAULT_LIMITS = Limits()
LOAD_MEMORY_MB = 256  # DuckDB's memory bound while a package loads
_HEADER_BYTES = 1024 * 1024  # a header line longer than this is not a OneRoster header


@dataclass(frozen=True)
class Package:
    """What a loaded package is: its version, each rostering file's mode and row count, the
    system that wrote it, and the warnings met while reading it."""

    version: Version
    modes: Mapping[str, Mode]  # every rostering file of the version: bulk, delta or absent
    counts: Mapping[str, int]  # rows loaded per file read (absent files: 0)
    source: str | None = None  # manifest source.systemName
    warnings: tuple[Problem, ...] = field(default=())


class _Problems:
    """The problems of one package, capped."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.dropped = 0

    def add(self, problem: Problem) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(problem)
        else:
            self.dropped += 1

    def extend(self, problems: tuple[Problem, ...] | list[Problem]) -> None:
        for p in problems:
            self.add(p)

    def error(
        self,
        code: str,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.add(Problem(file, line, column, message, code=code))

    def warn(
        self,
        code: str,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.add(Problem(file, line, column, message, code=code, severity=Severity.WARNING))

    @property
    def failed(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.items)

    def raise_if_failed(self) -> None:
        if self.failed:
            raise PackageError(self.final())

    def final(self) -> list[Problem]:
        if not self.dropped:
            return list(self.items)
        return [
            *self.items,
            Problem(
                None,
                None,
                None,
                f"{self.dropped:,} more problems were not listed; fix these first.",
                code="package.more_problems",
            ),
        ]

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.items if p.severity is not Severity.ERROR)


# --------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class _Manifest:
    version: Version | None
    declared: dict[str, Mode]  # file name -> mode, as declared (only valid modes)
    source: str | None


def _decode(data: bytes, name: str, problems: _Problems) -> str | None:
    try:
        return data.decode("utf-8-sig")  # a BOM is allowed and ignored (oneroster.md §2)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.error(
            "csv.encoding",
            "The file is not UTF-8 (byte "
            f"0x{data[error.start]:02x} cannot start a character). Save it as UTF-8.",
            file=name,
            line=line,
        )
        return None


def _read_manifest(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, problems: _Problems
) -> _Manifest:
    empty = _Manifest(None, {}, None)
    text = _decode(archive.read(info), MANIFEST, problems)
    if text is None:
        return empty
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(rows[0]) != MANIFEST_HEADER:
        found = ",".join(rows[0]) if rows else "nothing"
        problems.error(
            "manifest.header",
            f"manifest.csv must start with the header 'propertyName,value'; it starts with "
            f"{found!r}.",
            file=MANIFEST,
            line=1,
        )
        return empty
    properties: dict[str, tuple[str, int]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            problems.error(
                "manifest.row",
                f"Each manifest row is a property and its value; this row has {len(row)} fields.",
                file=MANIFEST,
                line=line,
            )
            continue
        name, value = row
        if name in properties:
            if properties[name][0] == value:
                problems.warn(
                    "manifest.duplicate",
                    f"{name} is declared twice (with the same value).",
                    file=MANIFEST,
                    line=line,
                )
            else:
                problems.error(
                    "manifest.duplicate",
                    f"{name} is declared twice, as {properties[name][0]!r} (line "
                    f"{properties[name][1]}) and {value!r}; keep one.",
                    file=MANIFEST,
                    line=line,
                )
            continue
        properties[name] = (value, line)

    manifest_version = properties.get("manifest.version")
    if manifest_version is None:
        problems.error(
            "manifest.missing_property",
            "manifest.csv has no manifest.version row; add 'manifest.version,1.0'.",
            file=MANIFEST,
        )
    elif manifest_version[0] == "1":
        problems.warn(
            "manifest.version",
            "manifest.version is '1' where the binding writes '1.0' (a spreadsheet program "
            "rewrites 1.0 as 1); read as 1.0.",
            file=MANIFEST,
            line=manifest_version[1],
        )
    elif manifest_version[0] != MANIFEST_VERSION:
        problems.error(
            "manifest.version",
            f"manifest.version is {manifest_version[0]!r}; the OneRoster CSV binding's manifest "
            "version is '1.0'.",
            file=MANIFEST,
            line=manifest_version[1],
        )

    version: Version | None = None
    declared_version = properties.get("oneroster.version")
    if declared_version is None:
        problems.error(
            "manifest.missing_property",
            "manifest.csv has no oneroster.version row; add 'oneroster.version,1.1' or "
            "'oneroster.version,1.2'.",
            file=MANIFEST,
        )
    elif declared_version[0] in VERSIONS:
        version = declared_version[0]
    else:
        problems.error(
            "manifest.oneroster_version",
            f"oneroster.version is {declared_version[0]!r}; this reader reads OneRoster 1.1 and "
            "1.2 packages (1.2.1 packages also declare '1.2').",
            file=MANIFEST,
            line=declared_version[1],
        )

    declared: dict[str, Mode] = {}
    data_files = files.data_files(version) if version else ()
    for name, (mode, line) in properties.items():
        if name in ("manifest.version", "oneroster.version", *SOURCE_PROPERTIES):
            continue
        file_name = name.removeprefix("file.")
        if version is None:
            continue
        if name.startswith("file.") and file_name in data_files:
            if mode in MODES:
                declared[file_name] = mode
            else:
                declared[file_name] = "absent"  # reported here; not again as undeclared
                problems.error(
                    "manifest.mode",
                    f"{name} is {mode!r}; a file's mode is bulk, delta or absent.",
                    file=MANIFEST,
                    line=line,
                )
        else:
            problems.warn(
                "manifest.unknown_property",
                f"{name!r} is not a property of a OneRoster {version} manifest; it was ignored.",
                file=MANIFEST,
                line=line,
            )
    source = properties.get("source.systemName")
    return _Manifest(version, declared, source[0] if source and source[0] else None)


def _check_files(
    manifest: _Manifest, present: Mapping[str, zipfile.ZipInfo], problems: _Problems
) -> dict[str, Mode]:
    """Each data file's mode, the manifest and the archive agreeing; what the MGI needs."""
    assert manifest.version is not None
    version = manifest.version
    modes: dict[str, Mode] = {}
    for name in files.data_files(version):
        filename = f"{name}.csv"
        mode = manifest.declared.get(name)
        in_zip = filename in present
        rostering = name in files.BY_NAME
        if mode is None:
            if in_zip:
                problems.error(
                    "manifest.undeclared_file",
                    f"{filename} is in the package but the manifest does not declare it; add "
                    f"'file.{name},bulk' (or delta).",
                    file=MANIFEST,
                )
            else:
                problems.warn(
                    "manifest.missing_property",
                    f"The manifest does not declare file.{name}; read as absent (add "
                    f"'file.{name},absent').",
                    file=MANIFEST,
                )
            mode = "absent"
        elif mode == "absent" and in_zip:
            message = (
                f"{filename} is in the package but the manifest declares it absent; declare it "
                "bulk or delta, or leave it out."
            )
            if rostering:
                problems.error("manifest.file_unexpected", message, file=MANIFEST)
            else:
                problems.warn("manifest.file_unexpected", message, file=MANIFEST)
        elif mode != "absent" and not in_zip:
            near = [n for n in present if n.lower() == filename.lower()]
            hint = f" (the package has {near[0]!r}: names are case-sensitive)" if near else ""
            problems.error(
                "manifest.file_missing",
                f"The manifest declares {filename} {mode} but the package has no such file{hint}.",
                file=MANIFEST,
            )
        if rostering:
            modes[name] = mode
    for name in files.REQUIRED[version]:
        if modes.get(name, "absent") == "absent":
            problems.error(
                "package.required_file",
                f"The MGI needs {name}.csv (orgs, users, classes, enrollments, academicSessions "
                f"and courses{', roles' if version == '1.2' else ''}); this package "
                "declares it absent or lacks it.",
                file=f"{name}.csv",
            )
    known = {MANIFEST, *(f"{n}.csv" for n in files.data_files(version))}
    for name in present:
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" Did you mean {near[0]}?" if near else ""
            problems.warn(
                "zip.unknown_entry",
                f"{name} is not a file of a OneRoster {version} package and was ignored.{hint}",
                file=name,
            )
    return modes


# --------------------------------------------------------------------------- headers


def _header_line(path: Path, name: str, problems: _Problems) -> list[str] | None:
    with open(path, "rb") as f:
        first = f.readline(_HEADER_BYTES)
    text = _decode(first, name, problems)
    if text is None:
        return None
    line = text.replace("\r\n", "\n").replace("\r", "\n").split("\n", 1)[0]
    try:
        rows = list(csv.reader([line]))
    except csv.Error:
        rows = [[line]]  # an unbalanced quote: the header check names what is wrong
    return rows[0] if rows else []


def _check_header(
    header: list[str], expected: tuple[str, ...], name: str, problems: _Problems
) -> bool:
    """The header is the spec's columns, in order and case, then extension columns. Returns
    whether the file can be read."""
    before = len(problems.items)
    if not header or header == [""]:
        problems.error(
            "header.missing",
            f"{name} has no header row; its first line must be the column names "
            f"{','.join(expected)}.",
            file=name,
            line=1,
        )
        return False
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        if not column.strip():
            problems.error(
                "header.empty",
                f"Column {position} of the header has no name; remove the extra delimiter or "
                "name the column.",
                file=name,
                line=1,
            )
        elif column in seen:
            problems.error(
                "header.duplicate",
                f"The header names the column {column} twice.",
                file=name,
                line=1,
                column=column,
            )
        seen.add(column)
    spec = header[: len(expected)]
    if tuple(spec) != expected:
        missing = [c for c in expected if c not in header]
        unknown = [c for c in spec if c not in expected and c.strip()]
        order = (
            f" A OneRoster {name} header has exactly these columns, in this order: "
            f"{','.join(expected)}."
        )
        for column in missing:
            named = ""
            if near := difflib.get_close_matches(column, unknown, n=1, cutoff=0.7):
                why = "names are case-sensitive" if near[0].lower() == column.lower() else "a typo?"
                named = f" ({near[0]!r} is there: {why})"
            problems.error(
                "header.missing_column",
                f"The header lacks the column {column}{named}.{order}",
                file=name,
                line=1,
                column=column,
            )
            order = ""  # said once per file
        for column in unknown:
            if not difflib.get_close_matches(column, missing, n=1, cutoff=0.7):
                problems.error(
                    "header.unknown_column",
                    f"{column!r} is not a column of {name}; extension columns go after the "
                    f"spec's {len(expected)} columns.",
                    file=name,
                    line=1,
                    column=column,
                )
        if not missing and not unknown:
            first = next(i for i, (a, b) in enumerate(zip(spec, expected, strict=False)) if a != b)
            problems.error(
                "header.order",
                f"The columns are out of order from column {first + 1} ({spec[first]} where "
                f"{expected[first]} belongs). The order is: {','.join(expected)}.",
                file=name,
                line=1,
                column=spec[first],
            )
    for column in header[len(expected) :]:
        if column.strip() and column not in expected and not column.startswith("metadata."):
            problems.warn(
                "header.extension_name",
                f"The extension column {column!r} is not named 'metadata.…' as the binding "
                "asks; it was not read.",
                file=name,
                line=1,
                column=column,
            )
    return not any(p.severity is Severity.ERROR for p in problems.items[before:])


# --------------------------------------------------------------------------- rows

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


# --------------------------------------------------------------------------- the package


_UNITS = {"bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}


def _setting_bytes(text: str) -> float:
    """DuckDB's memory_limit as it reports it ('976.5 MiB') in bytes."""
    number, _, unit = text.partition(" ")
    try:
        return float(number) * _UNITS.get(unit, 1)
    except ValueError:
        return float("inf")


@contextmanager
def _loading_settings(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Settings for the load, put back after it.

    Row order means nothing in a raw table: letting DuckDB drop it lets read_csv run on every
    thread without buffering rows to keep them in order. Rows stream from the file to the
    table, so a larger cache does not make loading faster; LOAD_MEMORY_MB (or the caller's
    lower bound) keeps a million-student package under 400 MB (benchmarks/RESULTS.md)."""
    row = con.execute(
        "SELECT current_setting('preserve_insertion_order'), current_setting('memory_limit')"
    ).fetchone()
    order, memory = (bool(row[0]), str(row[1])) if row else (True, "")
    con.execute("SET preserve_insertion_order = false")
    if _setting_bytes(memory) > LOAD_MEMORY_MB * 1024**2:
        con.execute(f"SET memory_limit = '{LOAD_MEMORY_MB}MiB'")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if order else 'false'}")
        if memory and _setting_bytes(memory) > LOAD_MEMORY_MB * 1024**2:
            # DuckDB reports the bound rounded down to a tenth of its unit ('1.8 GiB'); half a
            # tenth more restores the same reported bound instead of creeping down each load.
            number, _, unit = memory.partition(" ")
            restored = _setting_bytes(f"{float(number) + 0.05} {unit}")
            con.execute(f"SET memory_limit = '{int(restored)}B'")


def load_package(
    con: duckdb.DuckDBPyConnection, path: Path, *, limits: Limits = DEFAULT_LIMITS
) -> Package:
    """Read the package at `path` into `con`'s raw tables (`or_<file>`, one per rostering file
    of files.ROSTERING, created empty for an absent file) and describe it. Raises PackageError
    listing every problem found; then no raw table is created or changed."""
    problems = _Problems()
    opened = open_package(Path(path), limits)
    problems.extend(opened.problems)
    if opened.archive is None:
        problems.raise_if_failed()
        raise AssertionError("unreachable: an unopened archive always has an error")
    with opened.archive as archive:
        manifest_info = opened.files.get(MANIFEST)
        if manifest_info is None:
            problems.error(
                "package.no_manifest",
                "The package has no manifest.csv at its root. Every OneRoster CSV package "
                "starts with manifest.csv, which names the version and each file's mode.",
                file=MANIFEST,
            )
            problems.raise_if_failed()
        assert manifest_info is not None
        manifest = _read_manifest(archive, manifest_info, problems)
        if manifest.version is None:
            problems.raise_if_failed()
        assert manifest.version is not None
        version = manifest.version
        modes = _check_files(manifest, opened.files, problems)
        counts = {f.name: 0 for f in files.ROSTERING}
        with (
            tempfile.TemporaryDirectory(prefix="oneroster-") as scratch,
            ThreadPoolExecutor(1, thread_name_prefix="oneroster-inflate") as inflater,
            _loading_settings(con),
            transaction(con),
        ):
            for file in files.ROSTERING:
                con.execute(f"DROP TABLE IF EXISTS {file.table}")
                con.execute(file.create_sql())
            # Smallest first, each inflated in a thread while DuckDB reads the one before: the
            # biggest file (enrollments) inflates while the others are read. At most two
            # inflated files exist at a time.
            todo = sorted(
                (
                    (file, info, expected)
                    for file in files.ROSTERING
                    if (expected := file.header(version))
                    and (info := opened.files.get(file.filename)) is not None
                    and modes.get(file.name, "absent") != "absent"
                ),
                key=lambda item: item[1].file_size,
            )

            def inflate(index: int) -> Future[Extracted]:
                _, info, _ = todo[index]
                target = Path(scratch) / f"{todo[index][0].name}.csv"
                return inflater.submit(extract, archive, info, target, limits)

            pending = inflate(0) if todo else None
            for index, (file, _, expected) in enumerate(todo):
                current = pending
                pending = inflate(index + 1) if index + 1 < len(todo) else None
                try:
                    assert current is not None
                    extracted = current.result()
                except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, OSError) as error:
                    problems.error(
                        "zip.corrupt",
                        f"{file.filename} could not be inflated ({error}); the ZIP is damaged. "
                        "Build it again.",
                        file=file.filename,
                    )
                    continue
                before = len(problems.items)
                header = _header_line(extracted.path, file.filename, problems)
                if header is None or not _check_header(header, expected, file.filename, problems):
                    extracted.path.unlink()
                    continue
                counts[file.name] = _read_rows(con, file, header, version, extracted, problems)
                extracted.path.unlink()
                fine = not any(p.severity is Severity.ERROR for p in problems.items[before:])
                if counts[file.name] == 0 and fine:
                    mode = modes[file.name]
                    message = (
                        f"{file.filename} has a header and no rows. The binding asks that a "
                        "file with nothing to send be declared absent and left out"
                    )
                    if mode == "bulk":
                        problems.error(
                            "csv.no_rows",
                            message + "; an empty bulk file would say every record was removed.",
                            file=file.filename,
                        )
                    else:
                        problems.warn(
                            "csv.no_rows",
                            message + "; an empty delta changes nothing.",
                            file=file.filename,
                        )
            problems.raise_if_failed()
    return Package(version, modes, counts, manifest.source, problems.warnings)

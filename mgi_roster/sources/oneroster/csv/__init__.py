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

import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from mgi_roster.errors import Problem
from mgi_roster.kinds import Severity
from mgi_roster.sources.oneroster import files
from mgi_roster.sources.oneroster.csv.header import _check_header, _header_line
from mgi_roster.sources.oneroster.csv.manifest import _check_files, _read_manifest
from mgi_roster.sources.oneroster.csv.problems import (
    DEFAULT_LIMITS,
    LOAD_MEMORY_MB,
    MANIFEST,
    MAX_PROBLEMS,
    _Problems,
)
from mgi_roster.sources.oneroster.csv.reading import _read_rows
from mgi_roster.sources.oneroster.files import Mode, Version
from mgi_roster.sources.oneroster.zipsafe import Extracted, Limits, extract, open_package
from mgi_roster.store import setting_bytes, temporarily, transaction

__all__ = ["DEFAULT_LIMITS", "Limits", "Package", "load_package", "MAX_PROBLEMS"]


@dataclass(frozen=True)
class Package:
    """What a loaded package is: its version, each rostering file's mode and row count, the
    system that wrote it, and the warnings met while reading it."""

    version: Version
    modes: Mapping[str, Mode]  # every rostering file of the version: bulk, delta or absent
    counts: Mapping[str, int]  # rows loaded per file read (absent files: 0)
    source: str | None = None  # manifest source.systemName
    warnings: tuple[Problem, ...] = field(default=())


@contextmanager
def _loading_settings(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Settings for the load, put back after it.

    Row order means nothing in a raw table: letting DuckDB drop it lets read_csv run on every
    thread without buffering rows to keep them in order. Rows stream from the file to the
    table, so a larger cache does not make loading faster; LOAD_MEMORY_MB (or the caller's
    lower bound) keeps a million-student package under 400 MB (benchmarks/RESULTS.md)."""
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    settings: dict[str, object] = {"preserve_insertion_order": False}
    if row and setting_bytes(str(row[0])) > LOAD_MEMORY_MB * 1024**2:
        settings["memory_limit"] = f"{LOAD_MEMORY_MB}MiB"
    with temporarily(con, **settings):
        yield


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

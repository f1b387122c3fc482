"""The current roster as a OneRoster 1.1 CSV ZIP: the format the MGI ingests.

Every cell is derived from the same declaration the import reads (sources/oneroster/mapping.py,
`COUNTERPARTS`): a column's codec writes the entity's value back as OneRoster sends it (grades as
CEDS codes, M/D/YYYY as YYYY-MM-DD, M/F/X as male/female/other, Y/N as true/false, ids as
`{type:value}` userIds items). What the entities do not hold is declared here, once per file
column (`EXTRA`): an org's type, a user's role, a bulk file's blank status, ...

The files carry the exact 1.1 headers (sources/oneroster/files.py); sourcedIds are the roster's
ids and the district org's sourcedId is the district id, so the package syncs back (as OneRoster
CSV) under the same district. manifest.csv declares every 1.1 data file: bulk for those written,
absent for the rest. Files are written by DuckDB (COPY ... TO, RFC 4180 quoting, UTF-8).
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from mgi_roster.entities import (
    COURSES,
    ENROLLMENTS,
    SCHOOLS,
    SECTIONS,
    STUDENTS,
    TEACHERS,
    TERMS,
    Entity,
)
from mgi_roster.kinds import sql_list
from mgi_roster.roster.sql import current, q
from mgi_roster.sources.oneroster import files
from mgi_roster.sources.oneroster.codecs import RACE_FLAGS, TWO_OR_MORE, race_write
from mgi_roster.sources.oneroster.mapping import STAGED_ROLES, counterparts
from mgi_roster.store import execute

VERSION: files.Version = "1.1"

# What each file is written from: the entities whose rows it holds (users: both kinds of people).
WRITTEN: dict[str, tuple[Entity, ...]] = {
    "orgs": (SCHOOLS,),
    "academicSessions": (TERMS,),
    "courses": (COURSES,),
    "users": (TEACHERS, STUDENTS),
    "classes": (SECTIONS,),
    "enrollments": (ENROLLMENTS,),
    "demographics": (STUDENTS,),
}

Cell = Callable[[Entity], str]


def _orgs_of_user(entity: Entity) -> str:
    """orgSourcedIds: the primary school first (the import reads the first school as it), then
    the user's other schools."""
    return (
        "NULLIF(array_to_string(list_filter(list_prepend(r.school, "
        "list_filter(coalesce(r.schools, []), lambda x: x IS DISTINCT FROM r.school)), "
        "lambda x: x IS NOT NULL), ','), '')"
    )


def _race_flag(flag: str) -> Cell:
    return lambda e: race_write(flag, "r.race")


# Cells the entities do not hold, per (file, column): SQL over the roster row `r` (and for
# enrollments its section `s`). Columns neither declared nor here are left blank.
EXTRA: dict[tuple[str, str], Cell] = {
    ("orgs", "type"): lambda e: "'school'",
    ("orgs", "parentSourcedId"): lambda e: "$district",
    ("academicSessions", "type"): lambda e: "'term'",
    ("academicSessions", "schoolYear"): lambda e: "left(r.end_date, 4)",
    ("courses", "orgSourcedId"): lambda e: "$district",
    ("users", "enabledUser"): lambda e: "'true'",
    ("users", "role"): lambda e: f"'{STAGED_ROLES[e.name]}'",
    ("users", "orgSourcedIds"): _orgs_of_user,
    ("classes", "classType"): lambda e: "coalesce(r.class_type, 'scheduled')",
    ("enrollments", "sourcedId"): lambda e: "concat_ws('-', r.section_id, r.user_id, r.role)",
    ("enrollments", "schoolSourcedId"): lambda e: "s.school",
    ("enrollments", "primary"): lambda e: (
        "CASE WHEN r.role = 'teacher' THEN CASE WHEN s.teacher = r.user_id THEN 'true' "
        "ELSE 'false' END END"
    ),
    ("demographics", "sourcedId"): lambda e: "r.id",
    **{("demographics", f): _race_flag(f) for f in RACE_FLAGS},
    ("demographics", TWO_OR_MORE): lambda e: race_write(TWO_OR_MORE, "r.race"),
}


def _cell(name: str, column: str, entity: Entity) -> str:
    """One cell of a file's row, from the entity's counterparts (several are joined as a list:
    userIds), else EXTRA, else blank."""
    writes = [
        cp.codec.write(f"r.{q(cp.column)}")
        for cp in counterparts(entity)
        if cp.file == name and cp.source == column and cp.codec is not None
    ]
    extra = EXTRA.get((name, column))
    if len(writes) == 1:
        cell = f"coalesce({writes[0]}, {extra(entity)})" if extra else writes[0]
    elif writes:
        cell = f"NULLIF(concat_ws(',', {', '.join(writes)}), '')"
    else:
        cell = extra(entity) if extra else "NULL"
    allowed = VALUES_11.get((name, column))
    if allowed:  # a value 1.2 has and 1.1 does not is left blank, not written invalid
        cell = f"(CASE WHEN ({cell}) IN {sql_list(allowed)} THEN ({cell}) END)"
    return cell


# Vocabularies narrower in 1.1 than what the roster may hold (oneroster.md §5.9: 1.1's sex is
# male or female; a Clever "X" is 1.2's "other").
VALUES_11: dict[tuple[str, str], tuple[str, ...]] = {("demographics", "sex"): ("male", "female")}


def file_sql(name: str) -> str:
    """SELECT of a file's rows from the district's current (not archived) roster."""
    header = files.file(name).header(VERSION)
    assert header is not None
    parts = []
    if name == "orgs":  # the district org first: its sourcedId is the district id
        district = {"sourcedId": "$district", "name": "$name", "type": "'district'"}
        parts.append(
            "SELECT " + ", ".join(f"{district.get(c, 'NULL')}::VARCHAR AS {q(c)}" for c in header)
        )
    for entity in WRITTEN[name]:
        cells = ", ".join(f"({_cell(name, c, entity)})::VARCHAR AS {q(c)}" for c in header)
        source = f"{current(entity, live=True)} r"
        if entity is ENROLLMENTS:
            # Only memberships of people and sections the file holds: a member the district
            # does not share (a Clever section may name one) would be a broken reference.
            people = " UNION ALL ".join(
                f"SELECT id FROM {current(e, live=True)}" for e in (STUDENTS, TEACHERS)
            )
            source += (
                f" JOIN {current(SECTIONS, live=True)} s ON s.id = r.section_id"
                f" WHERE r.user_id IN ({people})"
            )
        parts.append(f"SELECT {cells} FROM {source}")
    return " UNION ALL ".join(parts)


@dataclass(frozen=True)
class Exported:
    path: Path
    counts: dict[str, int] = field(default_factory=dict)  # rows per data file written


def export(
    con: duckdb.DuckDBPyConnection, district_id: str, out: Path | str, *, name: str = ""
) -> Exported:
    """Write the district's current roster to `out` as a OneRoster 1.1 CSV ZIP."""
    out = Path(out)
    params = {"district": district_id, "name": name or district_id}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="oneroster-") as tmp:
        for file_name in WRITTEN:
            target = Path(tmp) / files.file(file_name).filename
            literal = "'" + str(target).replace("'", "''") + "'"
            execute(
                con,
                f"COPY ({file_sql(file_name)}) TO {literal} (FORMAT csv, HEADER true)",
                params,
            )
            counts[file_name] = _rows(target)
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("manifest.csv", manifest(counts))
            for file_name in (n for n, rows in counts.items() if rows):
                z.write(Path(tmp) / files.file(file_name).filename, files.file(file_name).filename)
    return Exported(out, counts)


def _rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)


def manifest(written: dict[str, int]) -> str:
    """manifest.csv: the versions, and every 1.1 data file as bulk (written) or absent. A file
    with no rows is declared absent and left out, as the binding asks (an empty bulk file would
    say every record of its kind was removed)."""
    text = io.StringIO()
    w = csv.writer(text)
    w.writerow(["propertyName", "value"])
    w.writerow(["manifest.version", "1.0"])
    w.writerow(["oneroster.version", VERSION])
    for data_file in files.data_files(VERSION):
        w.writerow([f"file.{data_file}", "bulk" if written.get(data_file) else "absent"])
    w.writerow(["source.systemName", "MGI Roster Review"])
    return text.getvalue()


def to_bytes(con: duckdb.DuckDBPyConnection, district_id: str, *, name: str = "") -> bytes:
    """The ZIP's bytes (for a download)."""
    with tempfile.TemporaryDirectory(prefix="oneroster-zip-") as tmp:
        path = export(con, district_id, Path(tmp) / "roster.zip", name=name).path
        return path.read_bytes()

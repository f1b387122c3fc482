"""OneRoster's own value checks, as SQL over a loaded package's raw tables (`or_<file>`).

These judge cells, not the file's shape: an enum value, a required cell left blank, a date, a
sourcedId's format, a reference to a record the package does not hold, a CEDS grade code,
`status` against the file's mode. None of them fails the package: `csv.load_package` has
already refused what makes a package unreadable. A bad cell in one of a million rows is a
finding, so each check here is a `RowCheck` whose query yields (record, value) rows, and the
mapping turns them into issue rows (errors block Approve) while `check_rows` samples them for a
quick report. The checks are declared once, here; both uses read `row_checks(package)`.

Severity follows the spec and the calibration in oneroster.md §11 ("keep plausibility rules as
warnings, reserve errors for what the spec states"):

- error: a value outside the version's vocabulary (case-sensitive: `TRUE`, `Scheduled`);
  `ext:` tokens in 1.1 or malformed in 1.2; a required cell blank; a date that is not
  YYYY-MM-DD or not a calendar date; a school year not YYYY; a duplicate sourcedId in a file;
  `status=tobedeleted` in a bulk file; a delta row without status; a reference to a record
  missing from a package where both files are bulk (the spec's semantic completeness); a
  class or enrollment whose school is an org that is not of type school; two primary roles for
  one user and org (1.2).
- warning: a reference that a delta package does not resolve (the record may exist from an
  earlier exchange, §4); `status=active` in a bulk file (should be blank; many receivers
  ignore it); legacy 1.1 values (`inactive`, the 1.0 enrollment roles); a sourcedId outside
  `[0-9A-Za-z./@_-]{1,255}` (two validators enforce it; the spec text is unconfirmed); a grade
  that is not a CEDS code (real district data varies; the MGI's own grade mapping decides what
  a grade means); an empty or space-padded item in a list cell; a dateLastModified that is
  neither a date nor a date-time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb

from mgi_roster.errors import Problem
from mgi_roster.kinds import Severity
from mgi_roster.sources.oneroster import files
from mgi_roster.sources.oneroster.csv import Package
from mgi_roster.sources.oneroster.files import Version

# Vocabularies (oneroster.md §6). 1.2 fields marked extensible also take `ext:` tokens.
STATUS = ("active", "tobedeleted")
LEGACY_STATUS_11 = ("inactive",)  # listed by 1.1-era vendor docs; absent from 1.2
ORG_TYPES = ("department", "school", "district", "local", "state", "national")
SESSION_TYPES = ("gradingPeriod", "semester", "schoolYear", "term")
CLASS_TYPES = ("homeroom", "scheduled")
USER_ROLES_11 = (
    "administrator",
    "aide",
    "guardian",
    "parent",
    "proctor",
    "relative",
    "student",
    "teacher",
)
ROLES_12 = (
    "aide",
    "counselor",
    "districtAdministrator",
    "guardian",
    "parent",
    "principal",
    "proctor",
    "relative",
    "siteAdministrator",
    "student",
    "systemAdministrator",
    "teacher",
)
ROLE_TYPES = ("primary", "secondary")
ENROLLMENT_ROLES = ("administrator", "proctor", "student", "teacher")
LEGACY_ENROLLMENT_ROLES_11 = ("aide", "guardian", "parent", "relative")  # the 1.0 list
BOOLEAN = ("true", "false")
SEX = {"1.1": ("male", "female"), "1.2": ("male", "female", "unspecified", "other")}
# CEDS Entry Grade Level codes, the grades vocabulary of 1.1 and the common default of 1.2.
CEDS_GRADES = (
    "IT",
    "PR",
    "PK",
    "TK",
    "KG",
    *(f"{n:02d}" for n in range(1, 14)),
    "PS",
    "UG",
    "Other",
)

GUID = r"[0-9A-Za-z./@_\-]{1,255}"
EXT = r"ext:[a-zA-Z0-9.\-_]+"
DATE = r"\d{4}-\d{2}-\d{2}"
DATETIME = r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
SAMPLE = 50  # rows listed per check by check_rows; the rest are counted


@dataclass(frozen=True)
class _Enum:
    file: str
    column: str
    values: dict[Version, tuple[str, ...]]
    extensible: bool = True  # in 1.2
    legacy: dict[Version, tuple[str, ...]] | None = None  # accepted with a warning


def _same(values: tuple[str, ...]) -> dict[Version, tuple[str, ...]]:
    return {"1.1": values, "1.2": values}


_RACE = (
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
)

ENUMS: tuple[_Enum, ...] = (
    _Enum("orgs", "type", _same(ORG_TYPES)),
    _Enum("academicSessions", "type", _same(SESSION_TYPES)),
    _Enum("classes", "classType", _same(CLASS_TYPES)),
    _Enum("users", "role", {"1.1": USER_ROLES_11}),
    _Enum("users", "enabledUser", _same(BOOLEAN), extensible=False),
    _Enum("roles", "role", {"1.2": ROLES_12}),
    _Enum("roles", "roleType", {"1.2": ROLE_TYPES}, extensible=False),
    _Enum(
        "enrollments",
        "role",
        _same(ENROLLMENT_ROLES),
        legacy={"1.1": LEGACY_ENROLLMENT_ROLES_11},
    ),
    _Enum("enrollments", "primary", _same(BOOLEAN), extensible=False),
    _Enum("demographics", "sex", {"1.1": SEX["1.1"], "1.2": SEX["1.2"]}),
    *(_Enum("demographics", c, _same(BOOLEAN), extensible=False) for c in _RACE),
)

# Cells that must not be blank (oneroster.md §5 "R"), besides sourcedId; a delta row that
# deletes (status tobedeleted) only needs its sourcedId.
REQUIRED: dict[str, dict[Version, tuple[str, ...]]] = {
    "academicSessions": _same(("title", "type", "startDate", "endDate", "schoolYear")),
    "orgs": _same(("name", "type")),
    "courses": _same(("title", "orgSourcedId")),
    "classes": _same(
        ("title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds")
    ),
    "users": {
        "1.1": ("enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName"),
        "1.2": ("enabledUser", "username", "givenName", "familyName"),
    },
    "roles": {"1.2": ("userSourcedId", "roleType", "role", "orgSourcedId")},
    "enrollments": _same(("classSourcedId", "schoolSourcedId", "userSourcedId", "role")),
    "demographics": _same(()),
}

DATES: tuple[tuple[str, str], ...] = (
    ("academicSessions", "startDate"),
    ("academicSessions", "endDate"),
    ("enrollments", "beginDate"),
    ("enrollments", "endDate"),
    ("roles", "beginDate"),
    ("roles", "endDate"),
    ("demographics", "birthDate"),
)

# (file, column, target file, is a list cell)  (oneroster.md §7)
REFERENCES: tuple[tuple[str, str, str, bool], ...] = (
    ("academicSessions", "parentSourcedId", "academicSessions", False),
    ("orgs", "parentSourcedId", "orgs", False),
    ("courses", "schoolYearSourcedId", "academicSessions", False),
    ("courses", "orgSourcedId", "orgs", False),
    ("classes", "courseSourcedId", "courses", False),
    ("classes", "schoolSourcedId", "orgs", False),
    ("classes", "termSourcedIds", "academicSessions", True),
    ("users", "orgSourcedIds", "orgs", True),
    ("users", "agentSourcedIds", "users", True),
    ("users", "primaryOrgSourcedId", "orgs", False),
    ("roles", "userSourcedId", "users", False),
    ("roles", "orgSourcedId", "orgs", False),
    ("enrollments", "classSourcedId", "classes", False),
    ("enrollments", "schoolSourcedId", "orgs", False),
    ("enrollments", "userSourcedId", "users", False),
    ("demographics", "sourcedId", "users", False),
)
SCHOOL_REFERENCES: tuple[tuple[str, str], ...] = (
    ("classes", "schoolSourcedId"),
    ("enrollments", "schoolSourcedId"),
)
GRADE_LISTS: tuple[str, ...] = ("users", "classes", "courses")
LISTS: tuple[tuple[str, str], ...] = (
    *((f, c) for f, c, _, is_list in REFERENCES if is_list),
    *((f, "grades") for f in GRADE_LISTS),
)


@dataclass(frozen=True)
class RowCheck:
    """One check over one raw table: `sql` selects (record, value) for every failing row."""

    code: str
    file: str
    column: str | None
    severity: Severity
    message: str  # a sentence; {value} is the failing value
    sql: str


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def _live(file: str, package: Package) -> bool:
    return package.modes.get(file, "absent") != "absent" and package.counts.get(file, 0) > 0


def _select(file: str, value: str, where: str) -> str:
    return (
        f"SELECT sourcedId AS record, {value} AS value FROM {files.file(file).table} WHERE {where}"
    )


def _not_deleting(file: str, package: Package) -> str:
    return "TRUE" if package.modes[file] == "bulk" else "status IS DISTINCT FROM 'tobedeleted'"


def _enum_checks(package: Package) -> Iterator[RowCheck]:
    version = package.version
    for enum in ENUMS:
        allowed = enum.values.get(version)
        if allowed is None or not _live(enum.file, package):
            continue
        column = _q(enum.column)
        legacy = (enum.legacy or {}).get(version, ())
        ext = enum.extensible and version == "1.2"
        ok = f"{column} IN {_in(allowed + legacy)}"
        if ext:
            ok += f" OR regexp_full_match({column}, '{EXT}')"
        hint = f"The values are {', '.join(allowed)}" + (
            ", or an ext: token." if ext else "; they are case-sensitive."
        )
        yield RowCheck(
            "value.enum",
            enum.file,
            enum.column,
            Severity.ERROR,
            f"{enum.column} is {{value!r}}, not a OneRoster {version} value. {hint}",
            _select(enum.file, column, f"{column} IS NOT NULL AND NOT ({ok})"),
        )
        if legacy:
            yield RowCheck(
                "value.legacy",
                enum.file,
                enum.column,
                Severity.WARNING,
                f"{enum.column} is {{value!r}}, a OneRoster 1.0 value that 1.1 dropped.",
                _select(enum.file, column, f"{column} IN {_in(legacy)}"),
            )
        if version == "1.1":
            yield RowCheck(
                "value.ext_in_11",
                enum.file,
                enum.column,
                Severity.ERROR,
                f"{enum.column} is {{value!r}}: ext: tokens are OneRoster 1.2 only.",
                _select(enum.file, column, f"starts_with({column}, 'ext:')"),
            )


def _status_checks(file: str, package: Package) -> Iterator[RowCheck]:
    status = "status"
    legacy = LEGACY_STATUS_11 if package.version == "1.1" else ()
    if package.modes[file] == "bulk":
        yield RowCheck(
            "value.tobedeleted_in_bulk",
            file,
            status,
            Severity.ERROR,
            "status is 'tobedeleted' in a bulk file; a bulk file lists what exists (leave "
            "status blank) and deletes by omission. Send deletions in a delta file.",
            _select(file, status, "status = 'tobedeleted'"),
        )
        yield RowCheck(
            "value.status_in_bulk",
            file,
            status,
            Severity.WARNING,
            "status is {value!r} in a bulk file, where the binding leaves it blank; read as "
            "active.",
            _select(file, status, "status = 'active'"),
        )
    else:
        yield RowCheck(
            "value.required",
            file,
            status,
            Severity.ERROR,
            "status is blank in a delta file; a delta row is active or tobedeleted.",
            _select(file, status, "status IS NULL"),
        )
        yield RowCheck(
            "value.required",
            file,
            "dateLastModified",
            Severity.ERROR,
            "dateLastModified is blank in a delta file.",
            _select(file, "dateLastModified", "dateLastModified IS NULL"),
        )
        yield RowCheck(
            "value.datetime",
            file,
            "dateLastModified",
            Severity.WARNING,
            "dateLastModified is {value!r}, neither YYYY-MM-DD nor YYYY-MM-DDTHH:MM:SS.sssZ.",
            _select(
                file,
                "dateLastModified",
                f"dateLastModified IS NOT NULL AND NOT regexp_full_match(dateLastModified, "
                f"'{DATETIME}')",
            ),
        )
    yield RowCheck(
        "value.enum",
        file,
        status,
        Severity.ERROR,
        "status is {value!r}; it is active or tobedeleted (in a delta file) or blank (bulk).",
        _select(file, status, f"status IS NOT NULL AND status NOT IN {_in(STATUS + legacy)}"),
    )
    if legacy:
        yield RowCheck(
            "value.legacy",
            file,
            status,
            Severity.WARNING,
            "status is {value!r}, a value some 1.1 systems send but the binding does not "
            "define (active or tobedeleted).",
            _select(file, status, f"status IN {_in(legacy)}"),
        )


def _file_checks(file: str, package: Package) -> Iterator[RowCheck]:
    version = package.version
    yield RowCheck(
        "value.required",
        file,
        "sourcedId",
        Severity.ERROR,
        "A row has no sourcedId; every record needs one.",
        _select(file, "sourcedId", "sourcedId IS NULL"),
    )
    yield RowCheck(
        "value.duplicate_id",
        file,
        "sourcedId",
        Severity.ERROR,
        "The sourcedId {value!r} is used by more than one row of the file; each record has "
        "its own.",
        f"SELECT sourcedId AS record, sourcedId || ' (' || count(*) || ' rows)' AS value "
        f"FROM {files.file(file).table} WHERE sourcedId IS NOT NULL "
        "GROUP BY sourcedId HAVING count(*) > 1",
    )
    yield RowCheck(
        "value.guid",
        file,
        "sourcedId",
        Severity.WARNING,
        "The sourcedId {value!r} has characters other than letters, digits and . - _ / @, or "
        "is longer than 255.",
        _select(file, "sourcedId", f"NOT regexp_full_match(sourcedId, '{GUID}')"),
    )
    yield from _status_checks(file, package)
    for column in REQUIRED[file].get(version, ()):
        yield RowCheck(
            "value.required",
            file,
            column,
            Severity.ERROR,
            f"{column} is blank; OneRoster requires it.",
            _select(file, _q(column), f"{_q(column)} IS NULL AND {_not_deleting(file, package)}"),
        )
    for f, column in DATES:
        if f == file and column in (files.file(file).header(version) or ()):
            yield RowCheck(
                "value.date",
                file,
                column,
                Severity.ERROR,
                f"{column} is {{value!r}}, not a date written YYYY-MM-DD.",
                _select(
                    file,
                    _q(column),
                    f"{_q(column)} IS NOT NULL AND (NOT regexp_full_match({_q(column)}, "
                    f"'{DATE}') OR try_strptime({_q(column)}, '%Y-%m-%d') IS NULL)",
                ),
            )
    if file == "academicSessions":
        yield RowCheck(
            "value.year",
            file,
            "schoolYear",
            Severity.ERROR,
            "schoolYear is {value!r}, not a year written YYYY (the year the school year ends).",
            _select(
                file,
                "schoolYear",
                "schoolYear IS NOT NULL AND NOT regexp_full_match(schoolYear, '\\d{4}')",
            ),
        )


def _items(file: str, column: str) -> str:
    """One row per item of a list cell: (record, item)."""
    return (
        f"SELECT sourcedId AS record, unnest(string_split({_q(column)}, ',')) AS item "
        f"FROM {files.file(file).table} WHERE {_q(column)} IS NOT NULL"
    )


def _reference_checks(package: Package) -> Iterator[RowCheck]:
    version = package.version
    for file, column, target, is_list in REFERENCES:
        if column not in (files.file(file).header(version) or ()) or not _live(file, package):
            continue
        if package.modes.get(target, "absent") == "absent":
            continue  # nothing to resolve against; a required target is load_package's error
        both_bulk = package.modes[file] == "bulk" and package.modes[target] == "bulk"
        severity = Severity.ERROR if both_bulk else Severity.WARNING
        source = (
            _items(file, column)
            if is_list
            else f"SELECT sourcedId AS record, {_q(column)} AS item FROM "
            f"{files.file(file).table} WHERE {_q(column)} IS NOT NULL"
        )
        where = "" if both_bulk else " (a delta package may refer to a record sent earlier)"
        yield RowCheck(
            "reference.missing",
            file,
            column,
            severity,
            f"{column} refers to {{value!r}}, which is not in {target}.csv{where}.",
            f"SELECT s.record, s.item AS value FROM ({source}) s "
            f"WHERE s.item <> '' AND NOT EXISTS (SELECT 1 FROM {files.file(target).table} t "
            "WHERE t.sourcedId = s.item)",
        )
    for file, column in SCHOOL_REFERENCES:
        if _live(file, package) and _live("orgs", package):
            yield RowCheck(
                "reference.not_a_school",
                file,
                column,
                Severity.ERROR,
                f"{column} refers to {{value}}, an org that is not of type school.",
                f"SELECT s.sourcedId AS record, s.{_q(column)} || ' (' || o.type || ')' AS value "
                f"FROM {files.file(file).table} s JOIN or_orgs o "
                f"ON o.sourcedId = s.{_q(column)} WHERE o.type IS DISTINCT FROM 'school'",
            )
    if version == "1.2" and _live("roles", package):
        yield RowCheck(
            "value.primary_roles",
            "roles",
            "roleType",
            Severity.ERROR,
            "The user and org {value} have more than one primary role; one is primary, the "
            "others secondary.",
            "SELECT min(sourcedId) AS record, userSourcedId || ' at ' || orgSourcedId AS value "
            "FROM or_roles WHERE roleType = 'primary' "
            "GROUP BY userSourcedId, orgSourcedId HAVING count(*) > 1",
        )


def _list_checks(package: Package) -> Iterator[RowCheck]:
    for file, column in LISTS:
        if column not in (files.file(file).header(package.version) or ()) or not _live(
            file, package
        ):
            continue
        yield RowCheck(
            "value.list_item",
            file,
            column,
            Severity.WARNING,
            f"{column} has an empty or space-padded item in {{value!r}}; items are separated "
            'by commas only ("a,b").',
            _select(
                file,
                _q(column),
                f"list_contains(list_transform(string_split({_q(column)}, ','), "
                "lambda x: x = '' OR x <> trim(x)), true)",
            ),
        )
    for file in GRADE_LISTS:
        if not _live(file, package):
            continue
        yield RowCheck(
            "value.grade",
            file,
            "grades",
            Severity.WARNING,
            "The grade {value!r} is not a CEDS grade code (KG, 01-13, PK, TK, IT, PR, PS, UG, "
            "Other).",
            f"SELECT record, item AS value FROM ({_items(file, 'grades')}) s "
            f"WHERE item NOT IN {_in(CEDS_GRADES)}",
        )


def row_checks(package: Package) -> list[RowCheck]:
    """Every value check that applies to `package` (its version, its files' modes)."""
    checks: list[RowCheck] = []
    for file in files.ROSTERING:
        if file.header(package.version) and _live(file.name, package):
            checks.extend(_file_checks(file.name, package))
    checks.extend(_enum_checks(package))
    checks.extend(_reference_checks(package))
    checks.extend(_list_checks(package))
    return checks


def check_rows(
    con: duckdb.DuckDBPyConnection, package: Package, *, sample: int = SAMPLE
) -> list[Problem]:
    """The value problems of a loaded package: up to `sample` rows per check, then one problem
    counting the rest."""
    problems: list[Problem] = []
    for check in row_checks(package):
        rows = con.execute(f"{check.sql} LIMIT {sample + 1}").fetchall()
        for record, value in rows[:sample]:
            problems.append(
                Problem(
                    files.file(check.file).filename,
                    None,
                    check.column,
                    check.message.format(value=value),
                    code=check.code,
                    severity=check.severity,
                    record=record,
                    value=value,
                )
            )
        if len(rows) > sample:
            total = con.execute(f"SELECT count(*) FROM ({check.sql})").fetchone()
            more = (int(total[0]) if total else 0) - sample
            problems.append(
                Problem(
                    files.file(check.file).filename,
                    None,
                    check.column,
                    f"{more:,} more rows have this problem.",
                    code=check.code,
                    severity=check.severity,
                )
            )
    return problems

"""OneRoster's own checks: what only a OneRoster package can get wrong, found in its raw tables
(or_<file>, kept in the run's file) and written to the same issues table as every other check.

They run only for a run that staged a OneRoster package (mapping.package_version finds one in
the run's file); their issues look like every other issue (a check of checks.py, a record, a
field, a value, params). Vocabularies are oneroster.md §6's; 1.2's `ext:` extensions are allowed
where 1.2 allows them.
"""

from __future__ import annotations

import re

import duckdb

from mgi_roster.grades import CEDS
from mgi_roster.kinds import Severity
from mgi_roster.review.validation import checks
from mgi_roster.review.validation.findings import INSERT, clip, literal
from mgi_roster.sources.oneroster import mapping, rows
from mgi_roster.sources.oneroster.csv import Package
from mgi_roster.sources.oneroster.files import ROSTERING, Version, file
from mgi_roster.sources.oneroster.rows import RowCheck

ROLES: dict[Version, tuple[str, ...]] = {
    "1.1": ("administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"),
    "1.2": (
        "aide", "counselor", "districtAdministrator", "guardian", "parent", "principal", "proctor",
        "relative", "siteAdministrator", "student", "systemAdministrator", "teacher",
    ),
}  # fmt: skip
ORG_TYPES = ("department", "school", "district", "local", "state", "national")
# The product entity an issue about a file's row is reported under, and the row's record id.
REPORTED: dict[str, tuple[str, str]] = {
    "orgs": ("schools", "sourcedId"),
    "academicSessions": ("terms", "sourcedId"),
    "courses": ("courses", "sourcedId"),
    "users": ("students", "sourcedId"),
    "roles": ("students", "userSourcedId"),
    "demographics": ("students", "sourcedId"),
    "classes": ("sections", "sourcedId"),
    "enrollments": ("sections", "classSourcedId"),
}


def _words(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def _in(expr: str, values: tuple[str, ...], version: Version) -> str:
    """SQL true when `expr` is one of `values` (or, in 1.2, an ext: extension)."""
    listed = ", ".join(literal(v) for v in values)
    ext = f" OR regexp_matches({expr}, '^ext:[a-zA-Z0-9.\\-_]+$')" if version == "1.2" else ""
    return f"({expr} IN ({listed}){ext})"


def _insert(entity: str, check: str, select: str) -> str:
    """`select` yields record_id, field, value, record_name, sis_id, params."""
    severity = checks.severity(check, entity)
    return (
        f"{INSERT} SELECT $run, $district, '{entity}', record_id, field, '{check}', '{severity}', "
        f"{clip('value')}, NULL, {clip('record_name')}, {clip('sis_id')}, params FROM ({select})"
    )


def _user(alias: str = "u") -> str:
    return f"NULLIF(concat_ws(' ', {alias}.givenName, {alias}.familyName), '')"


def statements(version: Version) -> list[str]:
    users, roles, orgs = file("users").table, file("roles").table, file("orgs").table
    classes = file("classes").table
    out = []
    # A role outside OneRoster's vocabulary: the user is neither a student nor a teacher.
    allowed = literal(_words(ROLES[version]))
    if version == "1.1":
        source = (
            f"{users} u WHERE u.role IS NOT NULL AND NOT {_in('u.role', ROLES[version], version)}"
        )
        role_file = "'users.csv'"
        record = "u.sourcedId"
        role = "u.role"
    else:
        source = (
            f"{file('roles').table} r LEFT JOIN {users} u ON u.sourcedId = r.userSourcedId "
            f"WHERE r.role IS NOT NULL AND NOT {_in('r.role', ROLES[version], version)}"
        )
        role_file, record, role = "'roles.csv'", "r.userSourcedId", "r.role"
    out.append(
        _insert(
            "students",
            "oneroster_role",
            f"SELECT {record} AS record_id, 'role' AS field, {role} AS value, {_user()} AS record_name, "
            f"u.identifier AS sis_id, json_object('file', {role_file}, 'roles', {allowed}) AS params "
            f"FROM {source}",
        )
    )
    # A user with no role at all.
    no_role = (
        "u.role IS NULL"
        if version == "1.1"
        else f"NOT EXISTS (SELECT 1 FROM {roles} r WHERE r.userSourcedId = u.sourcedId)"
    )
    out.append(
        _insert(
            "students",
            "oneroster_no_role",
            f"SELECT u.sourcedId AS record_id, 'role' AS field, NULL AS value, {_user()} AS record_name, "
            f"u.identifier AS sis_id, '{{}}' AS params FROM {users} u "
            f"WHERE u.sourcedId IS NOT NULL AND {mapping.live('u')} AND {no_role}",
        )
    )
    # An org type outside OneRoster's vocabulary.
    out.append(
        _insert(
            "schools",
            "oneroster_org_type",
            f"SELECT o.sourcedId AS record_id, 'type' AS field, o.type AS value, o.name AS record_name, "
            f"o.identifier AS sis_id, json_object('types', {literal(_words(ORG_TYPES))}) AS params "
            f"FROM {orgs} o WHERE NOT {_in('coalesce(o.type, chr(0))', ORG_TYPES, version)}",
        )
    )
    # A class whose school is an org of another type (a missing org is unknown_school's finding).
    out.append(
        _insert(
            "sections",
            "oneroster_class_school",
            f"SELECT c.sourcedId AS record_id, 'school' AS field, c.schoolSourcedId AS value, "
            f"c.title AS record_name, NULL AS sis_id, json_object('type', o.type) AS params "
            f"FROM {classes} c JOIN {orgs} o ON o.sourcedId = c.schoolSourcedId "
            f"WHERE {mapping.live('c')} AND coalesce(o.type, '') <> 'school'",
        )
    )
    # Grade codes that are not CEDS codes, in any position of a grades list.
    codes = tuple(CEDS)
    for table, entity, alias, name, sis in (
        (users, "students", "u", _user(), "u.identifier"),
        (classes, "sections", "c", "c.title", "NULL"),
    ):
        out.append(
            _insert(
                entity,
                "oneroster_grade",
                f"SELECT record_id, 'grade' AS field, code AS value, record_name, sis_id, "
                f"json_object('codes', {literal(_words(codes))}) AS params FROM ("
                f"SELECT {alias}.sourcedId AS record_id, trim(unnest(string_split({alias}.grades, ','))) AS code, "
                f"{name} AS record_name, {sis} AS sis_id FROM {table} {alias} "
                f"WHERE {alias}.grades IS NOT NULL AND {mapping.live(alias)}) "
                f"WHERE NOT {_in('code', codes, version)}",
            )
        )
    return out


def tobedeleted(modes: dict[str, str]) -> list[str]:
    """`status=tobedeleted` in a file sent as bulk: a bulk file is a whole snapshot, where a
    deletion is an absence (oneroster.md §4); the row is not staged."""
    out = []
    for name, (entity, key) in REPORTED.items():
        if modes.get(name, "bulk") != "bulk":
            continue
        out.append(
            _insert(
                entity,
                "oneroster_tobedeleted",
                f"SELECT {key} AS record_id, 'status' AS field, status AS value, NULL AS record_name, "
                f"NULL AS sis_id, json_object('file', '{name}.csv') AS params FROM {file(name).table} "
                "WHERE lower(status) = 'tobedeleted'",
            )
        )
    return out


# Row checks of the reader that a check above (or an entity's own rule, on the staged value)
# already says: (code, file, column); None matches any.
_SAID: tuple[tuple[str, str | None, str | None], ...] = (
    ("value.enum", "users", "role"),
    ("value.enum", "roles", "role"),
    ("value.enum", "orgs", "type"),
    ("reference.not_a_school", "classes", "schoolSourcedId"),
    ("value.grade", None, None),
    ("value.tobedeleted_in_bulk", None, None),
    ("value.date", "demographics", "birthDate"),  # the date of birth's own format check
)
_PLACEHOLDER = re.compile(r"\{value(?:!r)?\}")


def _said(check: RowCheck) -> bool:
    if any(
        code == check.code and f in (None, check.file) and c in (None, check.column)
        for code, f, c in _SAID
    ):
        return True
    # A required cell whose staged value an entity's own rule requires: said once, there.
    counterpart = _COUNTERPART.get((check.file, check.column or ""))
    return check.code == "value.required" and bool(counterpart and counterpart.required)


_COUNTERPART = {
    (c.file, c.source): c.entity.column(c.column) for c in mapping.COUNTERPARTS if c.codec
}


def _blocks(check: RowCheck) -> bool:
    """Whether a row check's finding blocks Approve. The binding's errors do, except a blank
    required cell or an unknown value in a column the MGI does not need (a username, a sex):
    the package breaks OneRoster there, but the roster the MGI gets is whole, so it is said as a
    warning (the MGI's own needs, and the district's, are the entity checks')."""
    if check.severity != Severity.ERROR:
        return False
    if check.code in ("value.required", "value.enum"):
        counterpart = _COUNTERPART.get((check.file, check.column or ""))
        return bool(counterpart and counterpart.required == Severity.ERROR)
    return True


def _field(check: RowCheck) -> str | None:
    """The entity field a cell feeds (so presentation mode masks its value), else the column."""
    counterpart = _COUNTERPART.get((check.file, check.column or ""))
    return counterpart.name if counterpart else check.column


def row_statements(con: duckdb.DuckDBPyConnection, version: Version) -> list[str]:
    """The reader's value checks (rows.row_checks) as issue rows, each with its own sentence."""
    modes = mapping.package_modes(con)
    counts = {}
    for f in ROSTERING:
        row = con.execute(f"SELECT count(*) FROM {f.table}").fetchone()
        counts[f.name] = int(row[0]) if row else 0
    package = Package(version, {f.name: modes.get(f.name, "bulk") for f in ROSTERING}, counts)  # type: ignore[misc]
    out = []
    for check in rows.row_checks(package):
        if _said(check):
            continue
        entity = REPORTED.get(check.file, ("students", "sourcedId"))[0]
        before, _, after = _PLACEHOLDER.sub("\0", check.message, count=1).partition("\0")
        after = _PLACEHOLDER.sub("it", after)
        case = "value" if _PLACEHOLDER.search(check.message) else ""
        name = "oneroster_value" if _blocks(check) else "oneroster_value_note"
        params = (
            f"json_object('file', {literal(file(check.file).filename)}, 'before', "
            f"{literal(before)}, 'after', {literal(after)}, 'case', {literal(case)})"
        )
        field = literal(_field(check) or "") if check.column else "NULL"
        out.append(
            _insert(
                entity,
                name,
                f"SELECT record AS record_id, {field} AS field, value::VARCHAR AS value, "
                f"NULL AS record_name, NULL AS sis_id, {params} AS params FROM ({check.sql})",
            )
        )
    return out


def check(con: duckdb.DuckDBPyConnection, run_id: int, district_id: str) -> None:
    """Write the OneRoster findings of the package staged in `con`, then mark every finding of
    the run as OneRoster's, so its sentence names records by sourcedId and says what to fix in
    the package, not in Clever (messages.SOURCE_WORDS). Validation calls it last; nothing for
    other runs."""
    version = mapping.package_version(con)
    if version is None:
        return
    for statement in [
        *statements(version),
        *tobedeleted(mapping.package_modes(con)),
        *row_statements(con, version),
    ]:
        con.execute(statement, {"run": run_id, "district": district_id})
    con.execute(
        """UPDATE issues SET params = json_merge_patch(coalesce(params, '{}'), '{"source": "oneroster"}')
           WHERE run_id = ?""",
        [run_id],
    )

"""OneRoster's own checks: what only a OneRoster package can get wrong, found in its raw tables
(or_<file>, kept in the run's file) and written to the same issues table as every other check.

They run only for a run that staged a OneRoster package (mapping.package_version finds one in
the run's file); their issues look like every other issue (a check of checks.py, a record, a
field, a value, params). Vocabularies are oneroster.md §6's; 1.2's `ext:` extensions are allowed
where 1.2 allows them.
"""

from __future__ import annotations

import duckdb

from mgi_roster.grades import CEDS
from mgi_roster.review.validation import checks
from mgi_roster.review.validation.findings import INSERT, clip, literal
from mgi_roster.sources.oneroster import mapping
from mgi_roster.sources.oneroster.files import Version, file

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


def check(con: duckdb.DuckDBPyConnection, run_id: int, district_id: str) -> None:
    """Write the OneRoster findings of the package staged in `con`; nothing for other runs."""
    version = mapping.package_version(con)
    if version is None:
        return
    for statement in [*statements(version), *tobedeleted(mapping.package_modes(con))]:
        con.execute(statement, {"run": run_id, "district": district_id})

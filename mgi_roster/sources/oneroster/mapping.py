"""OneRoster's records (the raw `or_<file>` tables) → the product's staging tables, and back.

Both OneRoster readers (CSV and REST) land a package in raw tables named after its files, every
cell as sent (files.py). This module turns those into `stg_<entity>` rows with one INSERT ... SELECT
per entity: no per-record Python, so a million users cost a few set-based statements. After this,
nothing in the product knows the records came from OneRoster.

Each entity column's OneRoster counterpart is declared ONCE, in `COUNTERPARTS` (entity, column,
file, OneRoster column, codec). The import SQL below and the roster export
(roster/oneroster_export.py) are both derived from that table: a codec (codecs.py) reads a
OneRoster cell into the entity's vocabulary and writes the entity's value back as a OneRoster cell.

The mapping (both versions unless noted):

    schools      ← orgs of type school: id=sourcedId, name, sis_id=identifier
    students,    ← users whose role is student / teacher (1.1: users.role; 1.2: roles.csv, the
    teachers       role of type primary, else any): id=sourcedId, first_name=givenName,
                   middle_name=middleName, last_name=familyName, email, district_username=username,
                   sis_id=identifier; state_id, student_number and teacher_number from `userIds`
                   items {type:value} whose type is one of codecs.USER_ID_TYPES (those type
                   names are this product's convention, not OneRoster's: OneRoster leaves them to
                   the deployment); grade ← the first of `grades`, CEDS codes spelt in Clever's
                   vocabulary (grades.CEDS; an unknown code is kept as sent, so validation reports
                   it); dob ← demographics.birthDate (YYYY-MM-DD → M/D/YYYY), gender ← sex (male M,
                   female F, other X, unspecified none), race from the race flags (one true: that
                   race; two or more, or demographicRaceTwoOrMoreRaces: Two or More Races; all
                   false: Unknown), hispanic_ethnicity ← hispanicOrLatinoEthnicity (true Y, false N);
                   school ← 1.2 primaryOrgSourcedId, else the primary role's org; 1.1 the first
                   school-type org of orgSourcedIds; schools ← every school-type org of the user
    sections     ← classes: name=title, school=schoolSourcedId, course=courseSourcedId,
                   term_id=first termSourcedIds, subject=first subjects, grade=first grades (CEDS),
                   period=periods, section_number=classCode, class_type=classType; teacher = the
                   class's teacher enrollment with primary=true, else its first teacher enrollment
    enrollments  ← enrollments with role student or teacher (section_id=classSourcedId,
                   user_id=userSourcedId); other roles are not staged
    terms        ← academicSessions: name=title, start_date=startDate, end_date=endDate
    courses      ← courses: name=title, number=courseCode

Rows with status `tobedeleted` are never staged. A file sent as `delta` (or left `absent` from a
package that is not a full snapshot) does not describe every record, so its entity is staged as
the district's current roster (the run's snapshot) with the file's rows laid over it: a record
the file names is replaced by its new version, or dropped when it is `tobedeleted`; a record it
does not name stays as it is. The diff then archives only what the district deleted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import duckdb

from mgi_roster.entities import (
    COURSES,
    ENROLLMENTS,
    ENTITIES,
    MEMBER_ROLES,
    SCHOOLS,
    SECTIONS,
    STUDENTS,
    TEACHERS,
    TERMS,
    Entity,
)
from mgi_roster.kinds import sql_list
from mgi_roster.roster.sql import current, q
from mgi_roster.roster.sql import staging_table as stg
from mgi_roster.sources.oneroster.codecs import (
    DATE,
    DOB,
    FIRST,
    GRADE,
    SEX,
    TEXT,
    YES_NO,
    Codec,
    lit,
    race_read,
    user_id,
)
from mgi_roster.sources.oneroster.files import ROSTERING, Mode, Version, file
from mgi_roster.store import staging_table_sql

# --- the counterparts, declared once ------------------------------------------------------------


@dataclass(frozen=True)
class Counterpart:
    """An entity column and the OneRoster file column it comes from (and is written to).

    `codec` None: the value is derived from several records (a user's schools, a class's primary
    teacher, race from its flags); this module reads it and the export writes it, each in one
    named place (`DERIVED` below, oneroster_export.py)."""

    entity: Entity
    column: str
    file: str
    source: str
    codec: Codec | None = TEXT


def _c(
    entity: Entity, file_: str, *pairs: tuple[str, str] | tuple[str, str, Codec | None]
) -> tuple[Counterpart, ...]:
    out = []
    for pair in pairs:
        column, source, *rest = pair
        out.append(Counterpart(entity, column, file_, source, rest[0] if rest else TEXT))
    return tuple(out)


def _person(entity: Entity, number: str) -> tuple[Counterpart, ...]:
    return _c(
        entity,
        "users",
        ("id", "sourcedId"),
        ("sis_id", "identifier"),
        (number, "userIds", user_id(number)),
        ("state_id", "userIds", user_id("state_id")),
        ("first_name", "givenName"),
        ("middle_name", "middleName"),
        ("last_name", "familyName"),
        ("email", "email"),
        ("district_username", "username"),
        ("school", "orgSourcedIds", None),
        ("schools", "orgSourcedIds", None),
    )


COUNTERPARTS: tuple[Counterpart, ...] = (
    *_c(SCHOOLS, "orgs", ("id", "sourcedId"), ("name", "name"), ("sis_id", "identifier")),
    *_c(
        TERMS,
        "academicSessions",
        ("id", "sourcedId"),
        ("name", "title"),
        ("start_date", "startDate", DATE),
        ("end_date", "endDate", DATE),
    ),
    *_c(COURSES, "courses", ("id", "sourcedId"), ("name", "title"), ("number", "courseCode")),
    *_person(TEACHERS, "teacher_number"),
    *_person(STUDENTS, "student_number"),
    *_c(STUDENTS, "users", ("grade", "grades", GRADE)),
    *_c(
        STUDENTS,
        "demographics",
        ("dob", "birthDate", DOB),
        ("gender", "sex", SEX),
        ("race", "*race flags*", None),
        ("hispanic_ethnicity", "hispanicOrLatinoEthnicity", YES_NO),
    ),
    *_c(
        SECTIONS,
        "classes",
        ("id", "sourcedId"),
        ("name", "title"),
        ("school", "schoolSourcedId"),
        ("course", "courseSourcedId"),
        ("term_id", "termSourcedIds", FIRST),
        ("subject", "subjects", FIRST),
        ("grade", "grades", GRADE),
        ("period", "periods"),
        ("section_number", "classCode"),
        ("class_type", "classType"),
    ),
    *_c(SECTIONS, "enrollments", ("teacher", "userSourcedId", None)),
    *_c(
        ENROLLMENTS,
        "enrollments",
        ("section_id", "classSourcedId"),
        ("user_id", "userSourcedId"),
        ("role", "role"),
    ),
)

# The file an entity's records are (the file whose mode decides bulk or delta), its alias in the
# import SQL, and the column(s) naming a record of it.
MAIN_FILE: dict[str, str] = {
    "schools": "orgs",
    "terms": "academicSessions",
    "courses": "courses",
    "teachers": "users",
    "students": "users",
    "sections": "classes",
    "enrollments": "enrollments",
}
ALIAS: dict[str, str] = {
    "orgs": "o",
    "academicSessions": "a",
    "courses": "k",
    "users": "u",
    "demographics": "d",
    "classes": "c",
    "enrollments": "e",
}
STAGED_ROLES: dict[str, str] = {e.name: e.role for e in (STUDENTS, TEACHERS) if e.role}
# Entities whose repeated rows are staged once (an enrollment sent twice, e.g. under two
# sourcedIds, is one enrollment).
DEDUPLICATED: tuple[Entity, ...] = (ENROLLMENTS,)


def counterparts(entity: Entity) -> tuple[Counterpart, ...]:
    return tuple(c for c in COUNTERPARTS if c.entity is entity)


# --- the import SQL ---------------------------------------------------------------------------


def live(alias: str) -> str:
    """A raw row that is not marked for deletion."""
    return f"coalesce(lower({alias}.status), '') <> 'tobedeleted'"


def _raw(name: str) -> str:
    return file(name).table


def school_orgs() -> str:
    return (
        f"(SELECT DISTINCT sourcedId FROM {_raw('orgs')} o WHERE o.type = 'school' AND {live('o')})"
    )


# 1.2: the order of a user's roles when one is chosen: the primary first, then by org (a
# missing org last), as ORDER BY coalesce(roleType = 'primary', false) DESC, orgSourcedId.
_ROLE_ORDER = (
    "CASE WHEN coalesce(r.roleType = 'primary', false) THEN '0' ELSE '1' END || "
    "CASE WHEN r.orgSourcedId IS NULL THEN '1' ELSE '0' || r.orgSourcedId END"
)
USERS_12 = "ur"  # the name of user_roles() in a 1.2 import (a WITH clause of its INSERT)


def user_roles() -> str:
    """1.2: one row per user (id, role, org, lo, hi), in one aggregation over roles.csv: its
    role and org are its primary role's, else those of the role with the first org; lo and hi
    are the least and greatest school-type org of its roles, equal when it has one school (the
    usual case), which is then its list of schools without any list aggregation
    (user_schools). (1.1's role is users.role, read on the user's row.)"""
    return f"""(SELECT id, first.role AS role, first.org AS org, lo, hi FROM (
        SELECT r.userSourcedId AS id,
               arg_min({{'role': trim(r.role), 'org': r.orgSourcedId}}, {_ROLE_ORDER}) AS first,
               min(s.sourcedId) AS lo, max(s.sourcedId) AS hi
        FROM {_raw("roles")} r LEFT JOIN {school_orgs()} s ON s.sourcedId = r.orgSourcedId
        WHERE {live("r")} GROUP BY r.userSourcedId))"""


def user_schools(version: Version) -> str:
    """Every school-type org of each user, in the order the source gives them (1.1
    orgSourcedIds; 1.2 its roles, the primary first, then by org).

    Most users have one school. Their list is that school, read without aggregating; only the
    users with several go through the ordered list aggregation, which DuckDB cannot spill.
    Done over every user, that aggregation and the join of its million lists back to the
    users took most of the mapping's time and needed twice a run's memory
    (benchmarks/RESULTS.md).

    1.1: the users table itself with a `schools` column, read from each row: one org, a school
    (a hash join with the few schools), is the list; several orgs are unnested and listed in
    their order. 1.2: a table (id, schools) of the users with several schools only (lo <> hi
    in user_roles, named USERS_12 in the import); the others' list is [lo] (_derived)."""
    if version == "1.1":
        several = f"""(SELECT id, list(org ORDER BY i) AS schools FROM (
            SELECT sourcedId AS id, trim(unnest(string_split(orgSourcedIds, ','))) AS org,
                   generate_subscripts(string_split(orgSourcedIds, ','), 1) AS i
            FROM {_raw("users")} WHERE contains(orgSourcedIds, ','))
            WHERE org IN {school_orgs()} GROUP BY id)"""
        return f"""(SELECT u.*, CASE WHEN contains(u.orgSourcedIds, ',') THEN m.schools
                WHEN trim(u.orgSourcedIds) IN {school_orgs()} THEN [trim(u.orgSourcedIds)]
            END AS schools
            FROM {_raw("users")} u LEFT JOIN {several} m ON m.id = u.sourcedId)"""
    return f"""(SELECT id, list(org ORDER BY rank, org) AS schools FROM (
            SELECT userSourcedId AS id, orgSourcedId AS org,
                   min(CASE WHEN roleType = 'primary' THEN 0 ELSE 1 END) AS rank
            FROM {_raw("roles")} r WHERE {live("r")} AND orgSourcedId IN {school_orgs()}
            AND userSourcedId IN (SELECT id FROM {USERS_12} WHERE lo <> hi)
            GROUP BY ALL) GROUP BY id)"""


def class_teachers() -> str:
    """Each class's teacher: its teacher enrollment with primary=true, else its first one."""
    return f"""(SELECT classSourcedId AS id, userSourcedId AS teacher FROM {_raw("enrollments")} e
        WHERE {live("e")} AND role = 'teacher' AND userSourcedId IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY classSourcedId
            ORDER BY coalesce(lower(e."primary") = 'true', false) DESC, e.rowid) = 1)"""


def _derived(entity: Entity, column: str, version: Version) -> str:
    """The SQL of a counterpart without a codec (see Counterpart)."""
    if column == "race":
        return race_read("d")
    if column == "teacher":
        return "t.teacher"
    if column == "schools":  # see user_schools
        if version == "1.1":
            return "CASE WHEN len(u.schools) > 0 THEN u.schools END"
        return "CASE WHEN ur.lo = ur.hi THEN [ur.lo] WHEN len(us.schools) > 0 THEN us.schools END"
    if column == "school":
        if version == "1.1":
            return "u.schools[1]"
        return "coalesce(NULLIF(trim(u.primaryOrgSourcedId), ''), ur.org)"
    raise ValueError(f"no derived read for {entity.name}.{column}")


def _sources(entity: Entity, version: Version) -> str:
    """The FROM clause of an entity's import."""
    if entity in (STUDENTS, TEACHERS):
        demographics = (
            f"(SELECT * FROM {_raw('demographics')} d WHERE {live('d')} "
            "QUALIFY row_number() OVER (PARTITION BY sourcedId) = 1)"
        )
        role = STAGED_ROLES[entity.name]
        if version == "1.1":  # the role and schools are the row's own (user_schools)
            return (
                f"{user_schools(version)} u LEFT JOIN {demographics} d ON d.sourcedId = u.sourcedId "
                f"WHERE {live('u')} AND u.sourcedId IS NOT NULL AND trim(u.role) = '{role}'"
            )
        return (
            f"{_raw('users')} u JOIN {USERS_12} ur ON ur.id = u.sourcedId "
            f"AND ur.role = '{role}' "
            f"LEFT JOIN {demographics} d ON d.sourcedId = u.sourcedId "
            f"LEFT JOIN {user_schools(version)} us ON us.id = u.sourcedId WHERE {live('u')}"
        )
    if entity is SCHOOLS:
        return f"{_raw('orgs')} o WHERE o.type = 'school' AND {live('o')}"
    if entity is SECTIONS:
        return f"{_raw('classes')} c LEFT JOIN {class_teachers()} t ON t.id = c.sourcedId WHERE {live('c')}"
    if entity is ENROLLMENTS:
        return f"{_raw('enrollments')} e WHERE {live('e')} AND role IN {sql_list(MEMBER_ROLES)} AND classSourcedId IS NOT NULL AND userSourcedId IS NOT NULL"
    main = MAIN_FILE[entity.name]
    return f"{_raw(main)} {ALIAS[main]} WHERE {live(ALIAS[main])}"


def _with(entity: Entity, version: Version) -> str:
    """The WITH clause of an entity's import: 1.2 users read their roles once (user_roles)."""
    if entity in (STUDENTS, TEACHERS) and version == "1.2":
        return f"WITH {USERS_12} AS MATERIALIZED {user_roles()} "
    return ""


def _column_counterparts(entity: Entity) -> list[Counterpart | None]:
    """The counterpart of each of the entity's columns, in order (None: nothing feeds it)."""
    found = {c.column: c for c in reversed(counterparts(entity))}  # the first one declared
    return [found.get(column) for column in entity.column_names]


def _cell(cp: Counterpart) -> str:
    """SQL: the raw cell a counterpart reads."""
    return f"{ALIAS[cp.file]}.{q(cp.source)}"


def _values(entity: Entity, version: Version) -> list[str]:
    """The SQL of each of the entity's columns, in order, read from the raw tables."""
    return [
        "NULL"
        if cp is None
        else _derived(entity, cp.column, version)
        if cp.codec is None
        else cp.codec.read(_cell(cp))
        for cp in _column_counterparts(entity)
    ]


def import_sql(entity: Entity, version: Version, *, distinct: bool = False) -> str:
    """INSERT ... SELECT of an entity's staged rows from the raw tables ($run, $district);
    `distinct`: a row repeated (after its codecs) is staged once."""
    names = ", ".join(q(c) for c in entity.column_names)
    return (
        f"INSERT INTO {stg(entity)} (run_id, district_id, {names}) {_with(entity, version)}"
        f"SELECT {'DISTINCT ' if distinct else ''}$run, $district, "
        f"{', '.join(_values(entity, version))} FROM {_sources(entity, version)}"
    )


def repeats_sql(entity: Entity) -> str:
    """How many of a run's staged rows of the entity ($run) repeat another, or more: a count
    of the rows' hashes, where two different rows sharing a hash only over-count, so 0 means
    no repeats. Counted on the staged rows (their cells already trimmed), it costs a fraction
    of DISTINCT over five million enrollments, which `stage` then does only for a package
    that does repeat one."""
    names = ", ".join(q(c) for c in entity.column_names)
    return f"SELECT count(*) - count(DISTINCT hash({names})) FROM {stg(entity)} WHERE run_id = $run"


# Entities whose staged rows may be the raw file's own rows, read through a view instead of
# written a second time (enrollments: five per student, the largest file by far).
READ_IN_PLACE: tuple[Entity, ...] = (ENROLLMENTS,)


def as_sent_sql(entity: Entity, version: Version) -> str:
    """Whether the raw rows an entity would stage can be staged as they are: (repeats,
    altered), where `repeats` counts rows repeating another (as repeats_sql, 0: none) and
    `altered` the rows a codec would change (a cell with spaces around it, or empty). Every
    column of the entity must have a plain counterpart (READ_IN_PLACE)."""
    cps = [cp for cp in _column_counterparts(entity) if cp is not None]
    altered = " OR ".join(
        # TEXT's read (NULLIF(trim(x), '')) keeps x exactly when x is neither empty nor padded
        f"({_cell(cp)} = '' OR {_cell(cp)} <> trim({_cell(cp)}))"
        if cp.codec is TEXT
        else f"({value}) IS DISTINCT FROM {_cell(cp)}"
        for cp, value in zip(cps, _values(entity, version), strict=True)
    )
    return (
        f"SELECT count(*) - count(DISTINCT hash({', '.join(_cell(cp) for cp in cps)})), "
        f"count(*) FILTER (WHERE {altered}) FROM {_sources(entity, version)}"
    )


def view_sql(entity: Entity, version: Version, run_id: int, district_id: str) -> str:
    """The entity's staging as a view over its raw file: its rows as sent (as_sent_sql says
    whether they may be), under the run's id and district (a run's file holds one run)."""
    cps = [cp for cp in _column_counterparts(entity) if cp is not None]
    columns = ", ".join(
        f"CAST({_cell(cp)} AS {c.sql_type}) AS {q(c.name)}"
        for cp, c in zip(cps, entity.columns, strict=True)
    )
    return (
        f"CREATE VIEW {stg(entity)} AS SELECT CAST({int(run_id)} AS INTEGER) AS run_id, "
        f"{lit(district_id)} AS district_id, {columns} FROM {_sources(entity, version)}"
    )


def _named(entity: Entity) -> str:
    """SQL true for a roster row (`r`) that the entity's main raw file names (in any status)."""
    if entity is ENROLLMENTS:
        return (
            f"EXISTS (SELECT 1 FROM {_raw('enrollments')} f WHERE f.classSourcedId = r.section_id "
            "AND f.userSourcedId = r.user_id AND f.role = r.role)"
        )
    return f"EXISTS (SELECT 1 FROM {_raw(MAIN_FILE[entity.name])} f WHERE f.sourcedId = r.id)"


def overlay_sql(entity: Entity) -> str:
    """The district's current roster rows of an entity that its delta file does not name."""
    names = ", ".join(q(c) for c in entity.column_names)
    return (
        f"INSERT INTO {stg(entity)} (run_id, district_id, {names}) "
        f"SELECT $run, $district, {names} FROM {current(entity, live=True)} r WHERE NOT {_named(entity)}"
    )


# --- staging a package ------------------------------------------------------------------------

PACKAGE_TABLE = "oneroster_package"  # the version and modes of the package a run staged


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Every raw table exists (empty when the package had no such file), so the SQL reads all."""
    for f in ROSTERING:
        con.execute(f.create_sql())


def stage(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    district_id: str,
    version: Version,
    modes: Mapping[str, Mode] | None = None,
    *,
    on_entity: Callable[[Entity, int, int], None] | None = None,
) -> dict[str, int]:
    """Stage the raw tables of `con` into its stg_<entity> tables for run `run_id`; return the
    staged count per entity. `modes` is the manifest's (file → bulk, delta or absent; every file
    bulk when None, as a REST pull is). `on_entity(entity, step, count)` after each entity."""
    ensure_raw_tables(con)
    modes = dict(modes or {})
    con.execute(
        f"CREATE OR REPLACE TABLE {PACKAGE_TABLE} (version VARCHAR, modes JSON)",
    )
    con.execute(f"INSERT INTO {PACKAGE_TABLE} VALUES (?, ?)", [version, json.dumps(modes)])
    params = {"run": run_id, "district": district_id}
    counts: dict[str, int] = {}
    for step, entity in enumerate(ENTITIES, start=1):
        in_place = _in_place(con, entity, version, modes, run_id, district_id)
        if not in_place:
            _import(con, entity, version, modes, params, distinct=False)
        if entity in DEDUPLICATED and not in_place:
            repeats = con.execute(repeats_sql(entity), {"run": run_id}).fetchone()
            if repeats and repeats[0]:  # staged again, the file's repeated rows once
                con.execute(f"DELETE FROM {stg(entity)} WHERE run_id = $run", {"run": run_id})
                _import(con, entity, version, modes, params, distinct=True)
        row = con.execute(
            f"SELECT count(*) FROM {stg(entity)} WHERE run_id = $run", {"run": run_id}
        ).fetchone()
        counts[entity.name] = int(row[0]) if row else 0
        if on_entity is not None:
            on_entity(entity, step, counts[entity.name])
    return counts


def _in_place(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    version: Version,
    modes: Mapping[str, Mode],
    run_id: int,
    district_id: str,
) -> bool:
    """Stage the entity as a view over its raw file when it may be: READ_IN_PLACE, a bulk
    file, no row that a codec changes or that repeats another, and a staging table without rows
    (a run's own file holds one run). True when it did: its millions of rows are then written
    once, by the reader, not a second time here (benchmarks/RESULTS.md)."""
    if _is_view(con, entity):  # staged before in this file: start again from a table
        con.execute(f"DROP VIEW {stg(entity)}")
        con.execute(staging_table_sql(entity))
    if entity not in READ_IN_PLACE or modes.get(MAIN_FILE[entity.name], "bulk") != "bulk":
        return False
    [(staged,)] = con.execute(f"SELECT count(*) FROM {stg(entity)}").fetchall()
    if staged:
        return False
    [(repeats, altered)] = con.execute(as_sent_sql(entity, version)).fetchall()
    if repeats or altered:
        return False
    con.execute(f"DROP TABLE {stg(entity)}")
    con.execute(view_sql(entity, version, run_id, district_id))
    return True


def _is_view(con: duckdb.DuckDBPyConnection, entity: Entity) -> bool:
    [(views,)] = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND view_name = ?",
        [stg(entity)],
    ).fetchall()
    return bool(views)


def _import(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    version: Version,
    modes: Mapping[str, Mode],
    params: dict[str, object],
    *,
    distinct: bool,
) -> None:
    """One entity's rows staged: the roster under a delta file's rows, then the file's."""
    if modes.get(MAIN_FILE[entity.name], "bulk") != "bulk":
        con.execute(overlay_sql(entity), params)
    con.execute(import_sql(entity, version, distinct=distinct), params)


def package_version(con: duckdb.DuckDBPyConnection) -> Version | None:
    """The OneRoster version of the package staged in this run's file; None for other runs."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [PACKAGE_TABLE]
    ).fetchone()
    if not exists or not exists[0]:
        return None
    row = con.execute(f"SELECT version FROM {PACKAGE_TABLE}").fetchone()
    return "1.2" if row and row[0] == "1.2" else "1.1"


def package_modes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The file modes of the package staged in this run's file (every file bulk when none)."""
    row = con.execute(f"SELECT modes FROM {PACKAGE_TABLE}").fetchone()
    modes = json.loads(row[0]) if row and row[0] else {}
    return {str(k): str(v) for k, v in modes.items()}


def package_district(con: duckdb.DuckDBPyConnection) -> str | None:
    """The district id a package names: its district org's sourcedId, else its only school's;
    None when neither (the specialist then types one)."""
    ensure_raw_tables(con)
    rows = con.execute(
        f"""SELECT type, sourcedId FROM {_raw("orgs")} o
            WHERE type IN ('district', 'school') AND {live("o")} ORDER BY type, sourcedId"""
    ).fetchall()
    districts = [r[1] for r in rows if r[0] == "district"]
    schools = [r[1] for r in rows if r[0] == "school"]
    if districts:
        return str(districts[0])
    if len(schools) == 1:
        return str(schools[0])
    return None

"""The REST binding's JSON records as rows of the raw tables the CSV binding fills (`or_<file>`).

REST and CSV name some things differently (oneroster.md §8.2): a class's course is a reference
object `{"sourcedId": ...}` where the CSV has `courseSourcedId`; its terms a list of references
where the CSV has `termSourcedIds` "a,b"; a 1.2 user's `preferredFirstName` is the CSV's
`preferredGivenName`; a 1.2 user's `roles[]` are the rows of roles.csv. `REST_FIELDS` declares
those differences once, as data; a CSV column it does not name is read from the JSON field of the
same name. From it, one INSERT per file and version flattens a whole page body in DuckDB (bound
as `$body`), so a page costs one statement and memory holds one page.

Values follow the raw tables' rules: text as sent, "" and absent both NULL, lists comma-joined as
in the CSV binding, booleans "true"/"false" whether the provider sends JSON booleans or strings,
userIds as `{type:identifier}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mgi_roster.sources.oneroster.files import ROSTERING, File, Version, file

Kind = Literal["text", "flag", "ref", "refs", "strings", "ids", "role_id"]


@dataclass(frozen=True)
class Read:
    """Where a CSV column's value sits in a REST record, and how to turn it into text."""

    kind: Kind
    field: str = ""  # the JSON field of the record (of the user, for `of="user"`)
    of: Literal["record", "user"] = "record"  # roles only: read from the role, or its user


def text(field: str, of: Literal["record", "user"] = "record") -> Read:
    return Read("text", field, of)


def flag(field: str) -> Read:  # "true"/"false" from a JSON boolean or a string
    return Read("flag", field)


def ref(field: str) -> Read:  # {"sourcedId": ...} → its sourcedId
    return Read("ref", field)


def refs(field: str) -> Read:  # [{"sourcedId": a}, {"sourcedId": b}] → "a,b"
    return Read("refs", field)


def strings(field: str) -> Read:  # ["09", "10"] → "09,10" (a string is kept as sent)
    return Read("strings", field)


_RACE_FLAGS = (
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
)

# CSV column → where it is in the REST record, for every column that is not simply the field of
# the same name. "roles" are the entries of a 1.2 user's `roles[]`, read per user.
REST_FIELDS: dict[str, dict[str, Read]] = {
    "academicSessions": {"parentSourcedId": ref("parent")},
    "orgs": {"parentSourcedId": ref("parent")},
    "courses": {
        "schoolYearSourcedId": ref("schoolYear"),
        "grades": strings("grades"),
        "orgSourcedId": ref("org"),
        "subjects": strings("subjects"),
        "subjectCodes": strings("subjectCodes"),
    },
    "classes": {
        "grades": strings("grades"),
        "courseSourcedId": ref("course"),
        "schoolSourcedId": ref("school"),
        "termSourcedIds": refs("terms"),
        "subjects": strings("subjects"),
        "subjectCodes": strings("subjectCodes"),
        "periods": strings("periods"),
    },
    "users": {
        "enabledUser": flag("enabledUser"),
        "orgSourcedIds": refs("orgs"),  # 1.1
        "userIds": Read("ids", "userIds"),
        "agentSourcedIds": refs("agents"),
        "grades": strings("grades"),
        "preferredGivenName": text("preferredFirstName"),  # 1.2
        "preferredMiddleName": text("preferredMiddleName"),
        "preferredFamilyName": text("preferredLastName"),
        "primaryOrgSourcedId": ref("primaryOrg"),
    },
    "roles": {
        # REST roles carry no sourcedId of their own: one is made from the user, org and role,
        # stable from sync to sync.
        "sourcedId": Read("role_id"),
        "status": text("status", of="user"),
        "dateLastModified": text("dateLastModified", of="user"),
        "userSourcedId": text("sourcedId", of="user"),
        "orgSourcedId": ref("org"),
        "userProfileSourcedId": ref("userProfile"),
    },
    "enrollments": {
        "classSourcedId": ref("class"),
        "schoolSourcedId": ref("school"),
        "userSourcedId": ref("user"),
        "primary": flag("primary"),
    },
    "demographics": {column: flag(column) for column in _RACE_FLAGS},
}

# What a sync reads, in order (references point backwards), and the collection each is read
# from. Demographics is optional: a provider may not share it (403) or not serve it (404).
FETCHED: tuple[str, ...] = (
    "orgs",
    "academicSessions",
    "courses",
    "classes",
    "users",
    "enrollments",
    "demographics",
)
OPTIONAL: frozenset[str] = frozenset({"demographics"})


def read_for(name: str, column: str) -> Read:
    return REST_FIELDS.get(name, {}).get(column) or text(column)


def _path(field: str, rest: str = "") -> str:
    """A JSON path literal: the field quoted (names are the spec's, never user input)."""
    return f"'$.\"{field}\"{rest}'"


def _nonempty(expression: str) -> str:
    return f"NULLIF({expression}, '')"


def _joined(list_expression: str) -> str:
    return _nonempty(f"array_to_string(list_filter({list_expression}, lambda v: v <> ''), ',')")


_ID = (
    "'{' || coalesce(json_extract_string(v, '$.type'), '') || ':' || "
    "coalesce(json_extract_string(v, '$.identifier'), '') || '}'"
)


class _Reads:
    """Collects the JSON paths a statement reads, per record alias, so each record is parsed
    once: every text value comes out of one json_extract_string call (`r_t[i]`), every list out
    of one json_extract call (`r_j[i]`). One call per column re-parses the record per column,
    several times slower (staging/pages.py measured the same)."""

    def __init__(self) -> None:
        self.paths: dict[tuple[str, str], list[str]] = {}

    def _at(self, alias: str, kind: str, path: str) -> str:
        paths = self.paths.setdefault((alias, kind), [])
        if path not in paths:
            paths.append(path)
        return f"{alias}_{kind}[{paths.index(path) + 1}]"

    def text(self, alias: str, path: str) -> str:
        return self._at(alias, "t", path)

    def json(self, alias: str, path: str) -> str:
        return self._at(alias, "j", path)

    def select(self) -> str:
        calls = {"t": "json_extract_string", "j": "json_extract"}
        return ", ".join(
            f"{calls[kind]}({alias}, [{', '.join(paths)}]) AS {alias}_{kind}"
            for (alias, kind), paths in self.paths.items()
        )


def expression(read: Read, reads: _Reads, record: str = "r", user: str = "u") -> str:
    """SQL reading one column's text from the JSON record `record` (and, for roles, its `user`)."""
    x = user if read.of == "user" else record
    f = read.field
    match read.kind:
        case "text":
            return _nonempty(reads.text(x, _path(f)))
        case "flag":
            return _nonempty(f"lower({reads.text(x, _path(f))})")
        case "ref":
            return _nonempty(reads.text(x, _path(f, ".sourcedId")))
        case "refs":
            return _joined(f"json_extract_string({reads.json(x, _path(f))}, '$[*].sourcedId')")
        case "strings":
            # A provider may send "09,10" where the spec says ["09", "10"]: kept as sent.
            value = reads.json(x, _path(f))
            items = _joined(f"json_extract_string({value}, '$[*]')")
            as_sent = _nonempty(f"json_extract_string({value}, '$')")
            return f"CASE WHEN json_type({value}) = 'ARRAY' THEN {items} ELSE {as_sent} END"
        case "ids":
            value = reads.json(x, _path(f))
            return _nonempty(
                f"array_to_string(list_transform(json_extract({value}, '$[*]'), "
                f"lambda v: {_ID}), ',')"
            )
        case "role_id":
            parts = (
                reads.text(user, _path("sourcedId")),
                reads.text(record, _path("org", ".sourcedId")),
                reads.text(record, _path("role")),
            )
            return f"concat_ws('.', {', '.join(parts)})"
    raise ValueError(f"unknown kind {read.kind}")


def _q(name: str) -> str:
    return '"' + name + '"'


def insert_sql(raw: File, version: Version, collection: str) -> str | None:
    """One INSERT flattening a page body ($body, the collection's envelope) into `raw`'s table;
    None when the version has no such file (roles in 1.1)."""
    header = raw.header(version)
    if header is None:
        return None
    reads = _Reads()
    columns = ", ".join(_q(c) for c in header)
    values = ", ".join(expression(read_for(raw.name, c), reads) for c in header)
    records = f"SELECT unnest(json_extract($body::JSON, {_path(collection, '[*]')})) AS "
    if raw.name == "roles":
        source = f"SELECT u, unnest(json_extract(u, '$.roles[*]')) AS r FROM ({records} u)"
    else:
        source = f"{records} r"
    return (
        f"INSERT INTO {raw.table} ({columns}) SELECT {values} "
        f"FROM (SELECT {reads.select()} FROM ({source}))"
    )


def dedupe_sql(raw: File) -> str:
    """Offset paging over data that changes can return a record twice: keep its first row."""
    return (
        f"DELETE FROM {raw.table} WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() "
        f'OVER (PARTITION BY "sourcedId" ORDER BY rowid) AS n FROM {raw.table} '
        f'WHERE "sourcedId" IS NOT NULL) WHERE n > 1)'
    )


def tables_filled_by(name: str, version: Version) -> tuple[File, ...]:
    """The raw tables a collection's pages fill: users fill or_users, and in 1.2 or_roles."""
    if name == "users" and version == "1.2":
        return (file("users"), file("roles"))
    return (file(name),)


INSERTS: dict[tuple[str, str, Version], str] = {
    (name, raw.name, version): sql
    for name in FETCHED
    for version in ("1.1", "1.2")
    for raw in tables_filled_by(name, version)
    if (sql := insert_sql(raw, version, name)) is not None
}
ALL_TABLES: tuple[File, ...] = ROSTERING

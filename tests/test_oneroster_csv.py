"""The OneRoster CSV reader: real ZIPs in, raw tables or named problems out.

Every package here is a real ZIP file written to tmp_path (or a package written by others, in
tests/fixtures/oneroster/). A package that fails must leave no raw table behind.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import zipfile
from pathlib import Path

import duckdb
import pytest

from mgi_roster.errors import PackageError, Problem
from mgi_roster.kinds import Severity
from mgi_roster.sources.oneroster import files
from mgi_roster.sources.oneroster.csv import DEFAULT_LIMITS, MAX_PROBLEMS, Package, load_package
from mgi_roster.sources.oneroster.rows import check_rows, row_checks
from mgi_roster.sources.oneroster.zipsafe import Limits

FIXTURES = Path(__file__).parent / "fixtures" / "oneroster"


# --------------------------------------------------------------------------- building packages


def _rows(version: str) -> dict[str, list[dict[str, str]]]:
    """A small valid district: a district org, a school, a year and a term, a course, a class,
    a teacher and two students."""
    users = [
        {"sourcedId": "t1", "role": "teacher", "givenName": "Ada", "familyName": "Byron"},
        {
            "sourcedId": "s1",
            "role": "student",
            "givenName": "Bo",
            "familyName": "Chen",
            "grades": "03",
        },
        {
            "sourcedId": "s2",
            "role": "student",
            "givenName": "Cy",
            "familyName": "Diaz",
            "grades": "KG",
        },
    ]
    for u in users:
        u.update(enabledUser="true", username=u["sourcedId"] + "@x.org")
        if version == "1.1":
            u["orgSourcedIds"] = "sch1"
    rows: dict[str, list[dict[str, str]]] = {
        "orgs": [
            {"sourcedId": "dist1", "name": "District", "type": "district"},
            {"sourcedId": "sch1", "name": "School", "type": "school", "parentSourcedId": "dist1"},
        ],
        "academicSessions": [
            {
                "sourcedId": "y1",
                "title": "2025",
                "type": "schoolYear",
                "startDate": "2024-08-01",
                "endDate": "2025-06-30",
                "schoolYear": "2025",
            },
            {
                "sourcedId": "term1",
                "title": "Fall",
                "type": "term",
                "startDate": "2024-08-01",
                "endDate": "2024-12-20",
                "parentSourcedId": "y1",
                "schoolYear": "2025",
            },
        ],
        "courses": [{"sourcedId": "c1", "title": "Math 3", "orgSourcedId": "sch1", "grades": "03"}],
        "classes": [
            {
                "sourcedId": "k1",
                "title": "Math 3 A",
                "courseSourcedId": "c1",
                "classType": "homeroom",
                "schoolSourcedId": "sch1",
                "termSourcedIds": "term1",
                "grades": "03,KG",
            }
        ],
        "users": [{k: v for k, v in u.items() if version == "1.1" or k != "role"} for u in users],
        "enrollments": [
            {
                "sourcedId": f"e{i}",
                "classSourcedId": "k1",
                "schoolSourcedId": "sch1",
                "userSourcedId": u["sourcedId"],
                "role": u["role"],
            }
            for i, u in enumerate(users)
        ],
    }
    if version == "1.2":
        rows["roles"] = [
            {
                "sourcedId": f"r{i}",
                "userSourcedId": u["sourcedId"],
                "roleType": "primary",
                "role": u["role"],
                "orgSourcedId": "sch1",
            }
            for i, u in enumerate(users)
        ]
    return rows


def _csv(
    header: tuple[str, ...] | list[str], rows: list[dict[str, str]], newline: str = "\r\n"
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header])
    return out.getvalue().encode()


def _manifest(version: str, modes: dict[str, str], extra: list[tuple[str, str]] = ()) -> bytes:
    lines = [("manifest.version", "1.0"), ("oneroster.version", version)]
    lines += [(f"file.{name}", modes.get(name, "absent")) for name in files.data_files(version)]
    lines += [("source.systemName", "TestSIS"), *extra]
    return _csv(("propertyName", "value"), [dict(propertyName=k, value=v) for k, v in lines])


def package_entries(
    version: str = "1.2", mode: str = "bulk", **rows: list[dict[str, str]]
) -> dict[str, bytes]:
    data = _rows(version)
    data.update(rows)
    entries = {
        f"{name}.csv": _csv(files.file(name).header(version) or (), data[name]) for name in data
    }
    entries["manifest.csv"] = _manifest(version, {name: mode for name in data})
    return entries


def write_zip(path: Path, entries: dict[str, bytes] | list[tuple[str, bytes]]) -> Path:
    items = entries.items() if isinstance(entries, dict) else entries
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            z.writestr(name, data)
    return path


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _raw_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'or\\_%' ESCAPE '\\' "
            "AND NOT temporary"
        ).fetchall()
    ]


def fails(
    con: duckdb.DuckDBPyConnection, path: Path, *, limits: Limits = DEFAULT_LIMITS
) -> list[Problem]:
    """Load a package that must fail; its problems. Nothing may be left staged."""
    with pytest.raises(PackageError) as caught:
        load_package(con, path, limits=limits)
    assert _raw_tables(con) == [], "a failed package left raw tables"
    assert all(p.message in str(caught.value) for p in caught.value.problems)
    return caught.value.problems


def codes(problems: list[Problem], severity: Severity | None = Severity.ERROR) -> set[str]:
    return {p.code for p in problems if severity is None or p.severity is severity}


# --------------------------------------------------------------------------- valid packages


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_a_valid_package_fills_every_raw_table(con, tmp_path, version):
    path = write_zip(tmp_path / "p.zip", package_entries(version))
    package = load_package(con, path)
    assert package.version == version
    assert package.source == "TestSIS"
    assert package.modes["users"] == "bulk" and package.modes["demographics"] == "absent"
    assert package.counts["users"] == 3 and package.counts["enrollments"] == 3
    assert package.counts["roles"] == (3 if version == "1.2" else 0)
    assert package.warnings == ()
    assert sorted(_raw_tables(con)) == sorted(f.table for f in files.ROSTERING)
    assert con.execute("SELECT givenName FROM or_users WHERE sourcedId = 's1'").fetchone() == (
        "Bo",
    )
    # "" is NULL; list cells stay comma-joined text
    assert con.execute("SELECT status, grades FROM or_classes").fetchone() == (None, "03,KG")
    assert check_rows(con, package) == []


def test_a_bom_lf_endings_and_quoted_commas_are_read(con, tmp_path):
    entries = package_entries("1.1")
    entries["users.csv"] = b"\xef\xbb\xbf" + entries["users.csv"].replace(b"\r\n", b"\n").replace(
        b"Byron", b'"Byron, Lady"'
    )
    entries["manifest.csv"] = b"\xef\xbb\xbf" + entries["manifest.csv"]
    package = load_package(con, write_zip(tmp_path / "p.zip", entries))
    assert package.counts["users"] == 3
    assert con.execute("SELECT familyName FROM or_users WHERE sourcedId='t1'").fetchone() == (
        "Byron, Lady",
    )


def test_extension_columns_to_the_right_are_kept_out_of_the_raw_table(con, tmp_path):
    entries = package_entries("1.2")
    header = (*files.file("orgs").header("1.2"), "metadata.nces", "districtCode")
    entries["orgs.csv"] = _csv(
        header, [dict(r, **{"metadata.nces": "1"}) for r in _rows("1.2")["orgs"]]
    )
    package = load_package(con, write_zip(tmp_path / "p.zip", entries))
    assert package.counts["orgs"] == 2
    assert codes(list(package.warnings), Severity.WARNING) == {"header.extension_name"}
    assert "metadata.nces" not in [c[0] for c in con.execute("DESCRIBE or_orgs").fetchall()]


def test_files_inside_one_folder_are_read_with_a_warning(con, tmp_path):
    entries = {f"export/{n}": d for n, d in package_entries("1.2").items()}
    entries["__MACOSX/export/._users.csv"] = b"junk"
    package = load_package(con, write_zip(tmp_path / "p.zip", entries))
    assert package.counts["users"] == 3
    assert [p.code for p in package.warnings] == ["zip.folder"]


def test_a_failed_package_leaves_the_previous_raw_tables_as_they_were(con, tmp_path):
    load_package(con, write_zip(tmp_path / "good.zip", package_entries("1.2")))
    entries = package_entries("1.2")
    entries["users.csv"] += b'u9,,,true,"unterminated\r\n'
    with pytest.raises(PackageError):
        load_package(con, write_zip(tmp_path / "bad.zip", entries))
    assert con.execute("SELECT count(*) FROM or_users").fetchone() == (3,)


# --------------------------------------------------------------------------- malformed ZIPs


def test_not_a_zip(con, tmp_path):
    path = tmp_path / "p.zip"
    path.write_text("sourcedId,status\n")
    assert codes(fails(con, path)) == {"zip.not_a_zip"}


def test_no_manifest(con, tmp_path):
    entries = package_entries("1.2")
    del entries["manifest.csv"]
    assert codes(fails(con, write_zip(tmp_path / "p.zip", entries))) == {"package.no_manifest"}


def test_zip_bomb(con, tmp_path):
    entries = package_entries("1.2")
    entries["users.csv"] += b"\0" * (8 * 1024 * 1024)  # inflates about 1,000 times
    problems = fails(con, write_zip(tmp_path / "p.zip", entries))
    assert codes(problems) == {"zip.bomb"}
    assert problems[0].file == "users.csv"


def test_size_and_entry_count_limits(con, tmp_path):
    path = write_zip(tmp_path / "p.zip", package_entries("1.2"))
    assert codes(fails(con, path, limits=Limits(max_entry_bytes=100))) == {"zip.entry_too_large"}
    assert codes(fails(con, path, limits=Limits(max_total_bytes=1000))) == {"zip.too_large"}
    assert codes(fails(con, path, limits=Limits(max_entries=3))) == {"zip.too_many_entries"}


@pytest.mark.parametrize(
    "name", ["../users.csv", "/etc/users.csv", "a/../../users.csv", "..\\x.csv"]
)
def test_path_traversal(con, tmp_path, name):
    entries = list(package_entries("1.2").items()) + [(name, b"x")]
    problems = fails(con, write_zip(tmp_path / "p.zip", entries))
    assert "zip.path_traversal" in codes(problems)
    assert any(p.file == name for p in problems)


def test_duplicate_entry_names(con, tmp_path):
    entries = list(package_entries("1.2").items())
    entries.append(("users.csv", entries[0][1]))
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = write_zip(tmp_path / "p.zip", entries)
    assert codes(fails(con, path)) == {"zip.duplicate_entry"}


def test_a_symlink_entry(con, tmp_path):
    path = write_zip(tmp_path / "p.zip", package_entries("1.2"))
    link = zipfile.ZipInfo("link.csv")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(link, "/etc/passwd")
    assert codes(fails(con, path)) == {"zip.symlink"}


# --------------------------------------------------------------------------- manifest


def _with_manifest(tmp_path: Path, manifest: bytes, version: str = "1.2") -> Path:
    entries = package_entries(version)
    entries["manifest.csv"] = manifest
    return write_zip(tmp_path / "p.zip", entries)


def test_manifest_header_and_versions(con, tmp_path):
    good = package_entries("1.2")["manifest.csv"]
    problems = fails(
        con,
        _with_manifest(
            tmp_path, good.replace(b"propertyName,value", b"propertyName,propertyValue")
        ),
    )
    assert codes(problems) == {"manifest.header"} and problems[0].line == 1
    problems = fails(
        con,
        _with_manifest(tmp_path, good.replace(b"oneroster.version,1.2", b"oneroster.version,1.0")),
    )
    assert codes(problems) == {"manifest.oneroster_version"}
    problems = fails(con, _with_manifest(tmp_path, good.replace(b"oneroster.version,1.2\r\n", b"")))
    assert codes(problems) == {"manifest.missing_property"}
    problems = fails(
        con,
        _with_manifest(tmp_path, good.replace(b"manifest.version,1.0", b"manifest.version,2.0")),
    )
    assert codes(problems) == {"manifest.version"}


def test_manifest_version_1_from_a_spreadsheet_is_a_warning(con, tmp_path):
    good = package_entries("1.2")["manifest.csv"]
    package = load_package(
        con, _with_manifest(tmp_path, good.replace(b"manifest.version,1.0", b"manifest.version,1"))
    )
    assert [p.code for p in package.warnings] == ["manifest.version"]


def test_manifest_and_archive_must_agree(con, tmp_path):
    entries = package_entries("1.2")
    entries["manifest.csv"] = (
        entries["manifest.csv"]
        .replace(b"file.demographics,absent", b"file.demographics,bulk")  # declared, not there
        .replace(b"file.courses,bulk", b"file.courses,absent")  # there, declared absent
        .replace(b"file.roles,bulk\r\n", b"")  # there, undeclared
        .replace(b"file.orgs,bulk", b"file.orgs,Bulk")  # not a mode
    )
    entries["manifest.csv"] += b"source.systemName,Other\r\nfile.widgets,bulk\r\n"
    problems = fails(con, write_zip(tmp_path / "p.zip", entries))
    assert codes(problems) >= {
        "manifest.file_missing",
        "manifest.file_unexpected",
        "manifest.undeclared_file",
        "manifest.mode",
        "manifest.duplicate",
        "package.required_file",
    }
    assert codes(problems, Severity.WARNING) == {"manifest.unknown_property"}


def test_a_file_the_mgi_needs_cannot_be_absent(con, tmp_path):
    entries = package_entries("1.1")
    del entries["courses.csv"]
    entries["manifest.csv"] = entries["manifest.csv"].replace(
        b"file.courses,bulk", b"file.courses,absent"
    )
    problems = fails(con, write_zip(tmp_path / "p.zip", entries))
    assert codes(problems) == {"package.required_file"} and problems[0].file == "courses.csv"


def test_a_manifest_alone_is_refused(con, tmp_path):
    path = write_zip(tmp_path / "p.zip", {"manifest.csv": _manifest("1.2", {})})
    assert codes(fails(con, path)) == {"package.required_file"}


# --------------------------------------------------------------------------- headers and rows


def test_a_wrong_header_names_file_column_and_line(con, tmp_path):
    entries = package_entries("1.1")
    entries["users.csv"] = entries["users.csv"].replace(b"givenName", b"GivenName", 1)
    entries["classes.csv"] = entries["classes.csv"].replace(b"title,grades", b"grades,title", 1)
    entries["orgs.csv"] = entries["orgs.csv"].replace(b"parentSourcedId", b"parentSourcedId,,", 1)
    problems = fails(con, write_zip(tmp_path / "p.zip", entries))
    by_file = {p.file: p for p in problems}
    assert (by_file["users.csv"].code, by_file["users.csv"].column, by_file["users.csv"].line) == (
        "header.missing_column",
        "givenName",
        1,
    )
    assert "case-sensitive" in by_file["users.csv"].message
    assert (by_file["classes.csv"].code, by_file["classes.csv"].column) == (
        "header.order",
        "grades",
    )
    assert by_file["orgs.csv"].code == "header.empty"


def test_a_line_break_in_a_field(con, tmp_path):
    entries = package_entries("1.2")
    entries["users.csv"] = entries["users.csv"].replace(b"Byron", b'"By\nron"')
    problems = fails(con, write_zip(tmp_path / "p.zip", entries))
    assert [(p.code, p.file, p.line, p.column) for p in problems] == [
        ("csv.line_break", "users.csv", 2, "familyName")
    ]


def test_invalid_utf8_names_the_line(con, tmp_path):
    entries = package_entries("1.2")
    entries["users.csv"] = entries["users.csv"].replace(b"Chen", b"Ch\xe9n")
    problems = fails(con, write_zip(tmp_path / "p.zip", entries))
    assert [(p.code, p.line, p.column) for p in problems] == [("csv.encoding", 3, "givenName")] or [
        (p.code, p.line) for p in problems
    ] == [("csv.encoding", 3)]
    entries = package_entries("1.2")
    entries["orgs.csv"] = b"\xff" + entries["orgs.csv"]
    assert [(p.code, p.line) for p in fails(con, write_zip(tmp_path / "p.zip", entries))] == [
        ("csv.encoding", 1)
    ]


def test_quoting_and_field_counts(con, tmp_path):
    entries = package_entries("1.2")
    entries["orgs.csv"] += b"o3,,,Name,school\r\n"  # too few fields
    entries["orgs.csv"] += b'o4,,,"Na"me,school,,\r\n'  # text after a closing quote
    problems = fails(con, write_zip(tmp_path / "p.zip", entries))
    assert [(p.code, p.line) for p in problems] == [("csv.columns", 4), ("csv.quoting", 5)]


def test_every_problem_is_listed_not_only_the_first(con, tmp_path):
    entries = package_entries("1.2")
    entries["orgs.csv"] += b"o3,,,Name,school\r\n"
    entries["users.csv"] = entries["users.csv"].replace(b"username", b"userName", 1)
    entries["classes.csv"] += (
        b"\r\n".join(b"k%d,,," % i for i in range(MAX_PROBLEMS + 10)) + b"\r\n"
    )
    problems = fails(con, write_zip(tmp_path / "p.zip", entries))
    assert {p.file for p in problems} >= {"orgs.csv", "users.csv", "classes.csv"}
    classes = [p for p in problems if p.file == "classes.csv"]
    assert len(classes) == 21 and classes[-1].message.startswith("190 more malformed rows")


def test_an_empty_bulk_file_fails_an_empty_delta_file_is_noted(con, tmp_path):
    entries = package_entries("1.2", demographics=[])
    assert codes(fails(con, write_zip(tmp_path / "p.zip", entries))) == {"csv.no_rows"}
    entries = package_entries("1.2", mode="delta", demographics=[])
    package = load_package(con, write_zip(tmp_path / "p.zip", entries))
    assert [p.code for p in package.warnings] == ["csv.no_rows"]
    assert package.counts["demographics"] == 0


# --------------------------------------------------------------------------- value checks


def _loaded(con, tmp_path, version="1.2", mode="bulk", **rows) -> Package:
    return load_package(con, write_zip(tmp_path / "p.zip", package_entries(version, mode, **rows)))


def _found(con, package) -> set[tuple[str, str | None, str | None, str | None, Severity]]:
    return {(p.code, p.file, p.column, p.record, p.severity) for p in check_rows(con, package)}


def test_bad_enum_values_are_named_errors(con, tmp_path):
    data = _rows("1.1")
    data["users"][0]["role"] = "Teacher"
    data["users"][1]["enabledUser"] = "TRUE"
    data["classes"][0]["classType"] = "ext:lab"  # ext: tokens are 1.2 only
    data["orgs"][1]["type"] = "School"
    package = _loaded(
        con, tmp_path, "1.1", users=data["users"], classes=data["classes"], orgs=data["orgs"]
    )
    found = _found(con, package)
    assert ("value.enum", "users.csv", "role", "t1", Severity.ERROR) in found
    assert ("value.enum", "users.csv", "enabledUser", "s1", Severity.ERROR) in found
    assert ("value.ext_in_11", "classes.csv", "classType", "k1", Severity.ERROR) in found
    assert ("value.enum", "orgs.csv", "type", "sch1", Severity.ERROR) in found
    # and, since sch1 is no longer of type school:
    assert (
        "reference.not_a_school",
        "classes.csv",
        "schoolSourcedId",
        "k1",
        Severity.ERROR,
    ) in found


def test_ext_tokens_are_fine_in_1_2(con, tmp_path):
    data = _rows("1.2")
    data["classes"][0]["classType"] = "ext:lab"
    data["roles"][0]["role"] = "ext:coach"
    data["roles"][1]["roleType"] = "ext:main"  # roleType takes no extensions
    found = _found(con, _loaded(con, tmp_path, classes=data["classes"], roles=data["roles"]))
    assert found == {("value.enum", "roles.csv", "roleType", "r1", Severity.ERROR)}


def test_broken_references_are_errors_in_bulk_and_warnings_in_delta(con, tmp_path):
    data = _rows("1.2")
    data["enrollments"][0]["userSourcedId"] = "ghost"
    data["classes"][0]["termSourcedIds"] = "term1,term9"
    found = _found(
        con, _loaded(con, tmp_path, enrollments=data["enrollments"], classes=data["classes"])
    )
    assert ("reference.missing", "enrollments.csv", "userSourcedId", "e0", Severity.ERROR) in found
    assert ("reference.missing", "classes.csv", "termSourcedIds", "k1", Severity.ERROR) in found
    data["enrollments"][0].update(status="active", dateLastModified="2025-01-01T00:00:00.000Z")
    for name in ("classes", "orgs", "users", "roles", "academicSessions", "courses", "enrollments"):
        for row in data[name]:
            row.update(status="active", dateLastModified="2025-01-01T00:00:00.000Z")
    package = load_package(
        con, write_zip(tmp_path / "d.zip", package_entries("1.2", "delta", **data))
    )
    found = _found(con, package)
    assert (
        "reference.missing",
        "enrollments.csv",
        "userSourcedId",
        "e0",
        Severity.WARNING,
    ) in found
    assert all(f[4] is Severity.WARNING for f in found)


def test_status_against_the_files_mode(con, tmp_path):
    data = _rows("1.2")
    data["users"][0]["status"] = "tobedeleted"
    data["users"][1]["status"] = "active"
    found = _found(con, _loaded(con, tmp_path, users=data["users"]))
    assert found == {
        ("value.tobedeleted_in_bulk", "users.csv", "status", "t1", Severity.ERROR),
        ("value.status_in_bulk", "users.csv", "status", "s1", Severity.WARNING),
    }
    found = _found(con, _loaded(con, tmp_path, mode="delta", users=data["users"]))
    assert ("value.required", "users.csv", "status", "s2", Severity.ERROR) in found
    assert ("value.required", "users.csv", "dateLastModified", "t1", Severity.ERROR) in found


def test_required_cells_dates_ids_grades_and_duplicates(con, tmp_path):
    data = _rows("1.2")
    data["users"][0]["givenName"] = ""
    data["users"][1]["grades"] = "3"
    data["users"][2]["sourcedId"] = "s 2"
    data["academicSessions"][0]["startDate"] = "2024-02-30"
    data["academicSessions"][1]["schoolYear"] = "2024-25"
    data["orgs"].append(dict(data["orgs"][0]))
    found = _found(
        con,
        _loaded(
            con,
            tmp_path,
            users=data["users"],
            academicSessions=data["academicSessions"],
            orgs=data["orgs"],
        ),
    )
    assert {
        ("value.required", "users.csv", "givenName", "t1", Severity.ERROR),
        ("value.grade", "users.csv", "grades", "s1", Severity.WARNING),
        ("value.guid", "users.csv", "sourcedId", "s 2", Severity.WARNING),
        ("value.date", "academicSessions.csv", "startDate", "y1", Severity.ERROR),
        ("value.year", "academicSessions.csv", "schoolYear", "term1", Severity.ERROR),
        ("value.duplicate_id", "orgs.csv", "sourcedId", "dist1", Severity.ERROR),
    } <= found


def test_check_rows_samples_and_counts_the_rest(con, tmp_path):
    users = [
        {
            "sourcedId": f"u{i}",
            "enabledUser": "yes",
            "username": "x",
            "givenName": "a",
            "familyName": "b",
        }
        for i in range(60)
    ]
    package = _loaded(
        con,
        tmp_path,
        users=users,
        enrollments=[
            {
                "sourcedId": "e1",
                "classSourcedId": "k1",
                "schoolSourcedId": "sch1",
                "userSourcedId": "u1",
                "role": "student",
            }
        ],
        roles=[
            {
                "sourcedId": "r1",
                "userSourcedId": "u1",
                "roleType": "primary",
                "role": "student",
                "orgSourcedId": "sch1",
            }
        ],
    )
    enabled = [p for p in check_rows(con, package, sample=10) if p.column == "enabledUser"]
    assert len(enabled) == 11 and enabled[-1].message.startswith("50 more rows")
    assert all(c.sql.startswith("SELECT") for c in row_checks(package))


# --------------------------------------------------------------------------- packages by others

# Each real package (tests/fixtures/oneroster/SOURCES.md): it loads, or the problems it fails
# with, by code. None may crash.
REAL: dict[str, set[str] | None] = {
    # courses declared absent: the MGI needs them
    "or11-catalyst-Test_full_data_set.zip": {"package.required_file"},
    "or11-catalyst-Test_minimal_data_set.zip": {"package.required_file"},
    # empty modes for three files, userprofiles.csv misnamed, header typos, courses absent
    "or12-catalyst-v1p2_full_dataset.zip": {
        "manifest.mode",
        "package.required_file",
        "header.missing_column",
        "header.empty",
    },
    # columns missing, renamed and out of place in most files (1.0-era headers)
    "or11-oat-sa-OneRosterv1p1BaseCSV.zip": {"header.missing_column", "header.unknown_column"},
    "or11-lepo-roster-hub-en.zip": None,  # loads (the manifest's "fiel.demographics" is a warning)
    "or11-lepo-roster-hub-ja.zip": None,
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_packages_load_or_fail_with_named_problems(con, name):
    expected = REAL[name]
    if expected is None:
        package = load_package(con, FIXTURES / name)
        assert package.counts["users"] == 20 and package.counts["enrollments"] == 30
        assert {p.code for p in package.warnings} == {
            "manifest.unknown_property",
            "manifest.missing_property",
        }
        assert all(p.severity is Severity.WARNING for p in check_rows(con, package))
        if name.endswith("ja.zip"):
            assert con.execute(
                "SELECT givenName FROM or_users WHERE sourcedId = 'us0001'"
            ).fetchone() == ("名01",)
    else:
        assert codes(fails(con, FIXTURES / name)) == expected


def test_the_real_packages_row_problems_are_found_once_courses_are_there(con, tmp_path):
    """catalyst's full 1.1 set fails only for lacking courses; given one, its values are judged
    (`TRUE`, `Scheduled`, `tobedeleted` in bulk, a term it does not hold)."""
    with zipfile.ZipFile(FIXTURES / "or11-catalyst-Test_full_data_set.zip") as z:
        entries = {n: z.read(n) for n in z.namelist()}
    entries["manifest.csv"] = entries["manifest.csv"].replace(
        b"file.courses,absent", b"file.courses,bulk"
    )
    entries["courses.csv"] = _csv(
        files.file("courses").header("1.1") or (),
        [
            {"sourcedId": c, "title": c, "orgSourcedId": "org-sch-222-456"}
            for c in ("crs-222-2023-456-12345", "crs-222-2023-456-23456")
        ],
    )
    package = load_package(con, write_zip(tmp_path / "p.zip", entries))
    found = codes(check_rows(con, package))
    assert {
        "value.enum",
        "value.tobedeleted_in_bulk",
        "reference.missing",
        "reference.not_a_school",
    } <= found


def test_a_1edtech_style_delta_package_with_demographics_and_user_profiles(con, tmp_path):
    """Equivalent of 1EdTech's 1.2 conformance case VRd118 (not copied: see SOURCES.md)."""
    data = _rows("1.2")
    for rows in data.values():
        for row in rows:
            row.update(status="active", dateLastModified="2023-10-02T00:00:00.000Z")
    data["demographics"] = [
        {
            "sourcedId": "s1",
            "status": "active",
            "dateLastModified": "2023-10-02T00:00:00.000Z",
            "birthDate": "2010-04-17",
        }
    ]
    entries = package_entries("1.2", "delta", **data)
    entries["userProfiles.csv"] = (
        b"sourcedId,status,dateLastModified,userSourcedId,profileType\r\np1,active,,s1,SYSTEM\r\n"
    )
    entries["manifest.csv"] = entries["manifest.csv"].replace(
        b"file.userProfiles,absent", b"file.userProfiles,delta"
    )
    package = load_package(con, write_zip(tmp_path / "p.zip", entries))
    assert set(package.modes.values()) == {"delta"} and package.counts["demographics"] == 1
    assert check_rows(con, package) == []


@pytest.mark.skipif(
    not (
        Path(os.environ.get("ONEROSTER_SAMPLES", "/nonexistent")) / "or12-1edtech-VRd118.zip"
    ).exists(),
    reason="1EdTech's case VRd118 is not in the repository (see tests/fixtures/oneroster/SOURCES.md)",
)
def test_1edtech_vrd118_when_available(con):
    path = Path(os.environ["ONEROSTER_SAMPLES"]) / "or12-1edtech-VRd118.zip"
    package = load_package(con, path)
    assert package.version == "1.2" and package.counts["users"] == 1
    assert check_rows(con, package) == []


def test_a_corrupt_entry_is_named(con, tmp_path):
    path = write_zip(tmp_path / "p.zip", package_entries("1.2"))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("users.csv")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 5] ^= 0xFF  # damage the compressed bytes
    path.write_bytes(bytes(data))
    problems = fails(con, path)
    assert "zip.corrupt" in codes(problems) or "csv.encoding" in codes(problems)


@pytest.mark.parametrize("bound", ["2GB", "1024MB", "100MB"])
def test_loading_puts_the_connections_settings_back(con, tmp_path, bound):
    con.execute(f"SET memory_limit = '{bound}'")
    before = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')"
    ).fetchone()
    for _ in range(3):
        load_package(con, write_zip(tmp_path / "p.zip", package_entries("1.2")))
    after = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')"
    ).fetchone()
    assert after == before


def test_mixed_line_endings_are_named_not_a_crash(con, tmp_path):
    entries = package_entries("1.2")
    entries["orgs.csv"] = entries["orgs.csv"].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n", 1)
    entries["users.csv"] = entries["users.csv"].replace(b"\r\n", b"\r")  # classic Mac
    problems = fails(con, write_zip(tmp_path / "p.zip", entries))
    assert {(p.code, p.file) for p in problems} == {
        ("csv.line_endings", "orgs.csv"),
        ("csv.line_endings", "users.csv"),
    }


def test_a_line_break_in_a_field_of_an_lf_file(con, tmp_path):
    entries = package_entries("1.2")
    entries["users.csv"] = (
        entries["users.csv"].replace(b"\r\n", b"\n").replace(b"Chen", b'"Ch\r\nen"')
    )
    problems = fails(con, write_zip(tmp_path / "p.zip", entries))
    assert [(p.code, p.line, p.column) for p in problems] == [("csv.line_break", 3, "familyName")]


@pytest.mark.bench
def test_the_benchmark_runs_at_a_tiny_size(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/oneroster_csv.py",
            "--students",
            "2000",
            "--runs",
            "1",
            "--json",
            str(out),
        ],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    import json

    results = json.loads(out.read_text())
    assert results["rows"]["users"] == 2100 and results["rows"]["enrollments"] == 10080

"""OneRoster test helpers: raw or_* tables filled from Python rows, small 1.1 and 1.2 packages,
and small ZIPs written from them (read by the real reader, mgi_roster.sources.oneroster.csv)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

import duckdb

from mgi_roster.sources.oneroster import files

Rows = Mapping[str, Iterable[Mapping[str, str]]]


def fill(con: duckdb.DuckDBPyConnection, rows: Rows) -> None:
    """Create every raw table and insert `rows` (file name → dicts of header → cell)."""
    for f in files.ROSTERING:
        con.execute(f.create_sql())
    for name, records in rows.items():
        f = files.file(name)
        columns = f.raw_columns
        data = [[r.get(c) or None for c in columns] for r in records]
        if data:
            marks = ", ".join("?" for _ in columns)
            con.executemany(f"INSERT INTO {f.table} VALUES ({marks})", data)


DISTRICT = "dist-1"
# A term under way whatever the date (screening classes count in current terms only).
START, END = f"{date.today().year - 1}-08-01", f"{date.today().year + 1}-07-31"


def package_11() -> dict[str, list[dict[str, str]]]:
    """A small 1.1 district: one district org, two schools, a teacher, three students."""
    return {
        "orgs": [
            {"sourcedId": DISTRICT, "name": "Lake District", "type": "district"},
            {"sourcedId": "sch-1", "name": "North Elementary", "type": "school", "identifier": "N1", "parentSourcedId": DISTRICT},
            {"sourcedId": "sch-2", "name": "South Middle", "type": "school", "identifier": "S2", "parentSourcedId": DISTRICT},
        ],
        "academicSessions": [
            {"sourcedId": "term-1", "title": "2025-26", "type": "schoolYear", "startDate": START, "endDate": END, "schoolYear": END[:4]},
        ],
        "courses": [{"sourcedId": "crs-1", "title": "Grade 3 Homeroom", "courseCode": "HR3", "orgSourcedId": "sch-1"}],
        "users": [
            {"sourcedId": "t-1", "enabledUser": "true", "orgSourcedIds": "sch-1", "role": "teacher", "username": "tjones",
             "userIds": "{teacher_number:T100}", "givenName": "Tess", "familyName": "Jones", "identifier": "T-SIS-1", "email": "tj@x.org"},
            {"sourcedId": "s-1", "enabledUser": "true", "orgSourcedIds": DISTRICT + ",sch-1,sch-2", "role": "student", "username": "amy",
             "userIds": "{stateId:ST1},{student_number:100}", "givenName": "Amy", "familyName": "Ames", "middleName": "B",
             "identifier": "SIS-1", "grades": "03,04"},
            {"sourcedId": "s-2", "enabledUser": "true", "orgSourcedIds": "sch-2", "role": "student", "username": "bo",
             "givenName": "Bo", "familyName": "Banks", "identifier": "SIS-2", "grades": "KG"},
            {"sourcedId": "s-3", "status": "tobedeleted", "enabledUser": "true", "orgSourcedIds": "sch-1", "role": "student",
             "username": "cy", "givenName": "Cy", "familyName": "Cole", "identifier": "SIS-3", "grades": "05"},
            {"sourcedId": "p-1", "enabledUser": "true", "orgSourcedIds": "sch-1", "role": "parent", "username": "pa", "givenName": "Pa", "familyName": "Ames"},
        ],
        "classes": [
            {"sourcedId": "cls-1", "title": "Room 12", "grades": "03", "courseSourcedId": "crs-1", "classCode": "HR-12",
             "classType": "homeroom", "schoolSourcedId": "sch-1", "termSourcedIds": "term-1", "subjects": "homeroom/advisory", "periods": "1"},
        ],
        "enrollments": [
            {"sourcedId": "e-1", "classSourcedId": "cls-1", "schoolSourcedId": "sch-1", "userSourcedId": "s-1", "role": "student"},
            {"sourcedId": "e-2", "classSourcedId": "cls-1", "schoolSourcedId": "sch-1", "userSourcedId": "t-1", "role": "teacher", "primary": "true"},
            {"sourcedId": "e-3", "classSourcedId": "cls-1", "schoolSourcedId": "sch-1", "userSourcedId": "p-1", "role": "administrator"},
        ],
        "demographics": [
            {"sourcedId": "s-1", "birthDate": "2016-02-09", "sex": "female", "white": "true", "asian": "false", "hispanicOrLatinoEthnicity": "false"},
            {"sourcedId": "s-2", "birthDate": "2020-11-30", "sex": "", "white": "true", "asian": "true", "hispanicOrLatinoEthnicity": "true"},
        ],
    }  # fmt: skip


def package_12() -> dict[str, list[dict[str, str]]]:
    """The same district in 1.2's shape: roles.csv says who is what, users carry no role."""
    p = package_11()
    roles = []
    for u in p["users"]:
        orgs = (u.pop("orgSourcedIds") or "").split(",")
        role = u.pop("role")
        for i, org in enumerate(o for o in orgs if o and o != DISTRICT):
            roles.append({"sourcedId": f"r-{u['sourcedId']}-{org}", "userSourcedId": u["sourcedId"],
                          "roleType": "primary" if i == 0 else "secondary", "role": role, "orgSourcedId": org})  # fmt: skip
    p["users"][1]["primaryOrgSourcedId"] = "sch-2"
    p["roles"] = roles
    p["demographics"][1]["sex"] = "unspecified"  # 1.2's, read as no gender

    return p


# --- packages as files ----------------------------------------------------------------------


def write_zip(
    path: Path, rows: Rows, version: str = "1.1", modes: Mapping[str, str] | None = None
) -> Path:
    """A OneRoster ZIP of `rows` with a manifest (every other data file absent)."""
    modes = dict(modes or {})
    with zipfile.ZipFile(path, "w") as z:
        manifest = io.StringIO()
        w = csv.writer(manifest)
        w.writerow(["propertyName", "value"])
        w.writerow(["manifest.version", "1.0"])
        w.writerow(["oneroster.version", version])
        for name in files.data_files(version):  # type: ignore[arg-type]
            w.writerow([f"file.{name}", modes.get(name, "bulk") if name in rows else "absent"])
        z.writestr("manifest.csv", manifest.getvalue())
        for name, records in rows.items():
            header = files.file(name).header(version)  # type: ignore[arg-type]
            assert header is not None
            out = io.StringIO()
            dw = csv.DictWriter(out, fieldnames=list(header), extrasaction="ignore")
            dw.writeheader()
            if modes.get(name) == "delta":  # a delta row says its status and when it changed
                records = [
                    {"status": "active", "dateLastModified": "2026-11-01T00:00:00.000Z", **r}
                    for r in records
                ]
            dw.writerows(records)
            z.writestr(f"{name}.csv", out.getvalue())
    return path

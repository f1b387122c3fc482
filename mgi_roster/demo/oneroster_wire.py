"""The demo district as a OneRoster provider sends it: 1.2 REST records, 1.1 records, CSV rows.

Every OneRoster record is derived from the record the Clever demo renders for the same day
(``DemoDistrict``), never drawn anew, so the two providers cannot drift: a sourcedId is the id
Clever's demo uses for the record, the people and their values are the same, and so are the
planted changes and problems of days 2 and 3 (the impossible birth date stays a 30 February,
the missing grade an empty ``grades``, the duplicate SIS id a duplicate ``identifier``).

Where the Clever record's values go (oneroster.md §5, §8.2):

- district → org ``district`` (identifier: its NCES id); school → org ``school`` (identifier:
  its SIS id, parent: the district);
- term → academicSession (the school year ``schoolYear``, the semesters ``semester`` under it);
- course → course (``courseCode``: its number; org: the district);
- section → class (title: its name, ``classCode``: its section number, ``location``: its
  classroom, ``classType`` ``homeroom`` for homeroom/advisory sections, else ``scheduled``;
  grades as CEDS codes; its subject, period, course, school and term);
- student or teacher → user (identifier: the SIS id; userIds ``state_id`` and
  ``student_number`` / ``teacher_number``; username: the district username; one role per school,
  ``primary`` at the primary school) and, for students, demographics (birth date, sex, race
  flags, Hispanic or Latino ethnicity);
- each id in a section's ``teachers`` and ``students`` → enrollment (``primary`` for the
  section's ``teacher``).

Not carried, because OneRoster has no place for them: a school's address, phone, grade span,
state and NCES ids and principal; a student's ELL status, graduation year and home address; a
teacher's title and the staff role of the instructional coaches; a section's SIS id. OneRoster
also has no sharing: the student a section names but Clever never shares (``unshared_student``)
is not a user, so its enrollment is left out rather than sent as a broken reference.

Records are dicts in the 1.2 REST shape; ``v1p1()`` turns users and demographics into the 1.1
shape; ``csv_row()`` flattens either into a CSV row with the exact header of ``files.py``.
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mgi_roster.demo.days import _CREATED, _CREATED_OFFSET, _iso
from mgi_roster.demo.district import DemoDistrict
from mgi_roster.demo.ids import (
    _COURSE,
    _SECTION,
    _STUDENT,
    _TERM,
    DEMO_DISTRICT_ID,
    _decode,
    _id,
    _Segment,
)
from mgi_roster.grades import CEDS
from mgi_roster.sources.oneroster import files

BASE_V1P2 = "/ims/oneroster/rostering/v1p2"
BASE_V1P1 = "/ims/oneroster/v1p1"

# The files the demo has records for (every rostering file of files.py); roles is 1.2 only and
# comes from the users' roles.
COLLECTIONS = (
    "orgs",
    "academicSessions",
    "courses",
    "classes",
    "users",
    "enrollments",
    "demographics",
)

# A reference's type (oneroster.md §8.2) -> the collection its href points into.
_HREF = {
    "org": "orgs",
    "academicSession": "academicSessions",
    "course": "courses",
    "class": "classes",
    "user": "users",
}
_SEX = {"M": "male", "F": "female", "X": "other"}
# Clever's race (clever-api.md §5) -> the demographics flag that says it; "Unknown" sets none.
_RACE_FLAG = {
    "American Indian": "americanIndianOrAlaskaNative",
    "Asian": "asian",
    "Black or African American": "blackOrAfricanAmerican",
    "Hawaiian or Other Pacific Islander": "nativeHawaiianOrOtherPacificIslander",
    "Caucasian": "white",
    "Two or More Races": "demographicRaceTwoOrMoreRaces",
}
_YES_NO = {"Y": "true", "N": "false"}
_CEDS_CODE = {clever: code for code, clever in CEDS.items()}  # Clever's spelling -> CEDS code
_HOMEROOM = "homeroom/advisory"
_STUDENT_PREFIX = _id(_STUDENT, 0)[:6]


def _ref(kind: str, sourced_id: str, base: str = BASE_V1P2) -> dict[str, str]:
    return {"href": f"{base}/{_HREF[kind]}/{sourced_id}", "sourcedId": sourced_id, "type": kind}


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """The record without its empty optional values (a blank CSV cell is an absent JSON key)."""
    return {k: v for k, v in record.items() if v not in ("", None, [])}


def _active(sourced_id: str, modified: str) -> dict[str, str]:
    return {"sourcedId": sourced_id, "status": "active", "dateLastModified": modified}


def _grades(grade: str) -> list[str]:
    """A Clever grade as a CEDS list: "" (the planted missing grade) is no grade at all."""
    return [_CEDS_CODE.get(grade, grade)] if grade else []


def _birth_date(dob: str) -> str:
    """Clever's M/D/YYYY as YYYY-MM-DD, digit for digit: the planted 2/30 stays impossible."""
    parts = dob.split("/")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return dob
    month, day, year = parts
    return f"{year}-{int(month):02d}-{int(day):02d}"


@dataclass(frozen=True)
class OneRosterDemo:
    """The demo district on one day, as OneRoster records (computed from ``district``)."""

    district: DemoDistrict

    def records(self, collection: str) -> Iterator[dict[str, Any]]:
        """Every record of a collection (``COLLECTIONS``) in sourcedId order, generated lazily."""
        d = self.district
        if collection == "orgs":
            yield self._district_org()
            for school in d.records("schools"):
                yield self._school(school)
        elif collection == "academicSessions":
            for term in d.records("terms"):
                yield self._session(term)
        elif collection == "courses":
            for course in d.records("courses"):
                yield self._course(course)
        elif collection == "classes":
            for section in d.records("sections"):
                yield self._class(section)
        elif collection == "users":
            for user in d.records("users"):
                yield self._user(user)
        elif collection == "enrollments":
            for section in d.records("sections"):
                yield from self._enrollments(section)
        elif collection == "demographics":
            for student in d.records("students"):
                yield self._demographics(student)
        else:
            raise ValueError(f"unknown OneRoster collection {collection!r}")

    def window(
        self, collection: str, offset: int, limit: int, view: str | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """(how many records, records [offset, offset + limit)) of a collection, rendering only
        that page where the collection follows the Clever demo's id ranges, so a page of a
        1,000,000-student district costs what a page of a small one does. ``view`` narrows
        ``users`` to ``students`` or ``teachers`` (the /students and /teachers endpoints)."""
        key = view or _SEGMENTS_OF.get(collection)
        if key is not None:
            segments = self.district.segments(key)
            total = sum(_size(seg) for seg in segments)
            page = itertools.islice(_from(segments, offset), limit)
            return total, [
                self._render(collection, json.loads(self.district.fragment(code, i)))
                for code, i in page
            ]
        if collection == "enrollments":
            starts = self._enrollment_starts
            total = starts[-1]
            if offset >= total:
                return total, []
            section = bisect.bisect_right(starts, offset) - 1
            out: list[dict[str, Any]] = []
            skip = offset - starts[section]
            while len(out) < limit + skip and section < len(starts) - 1:
                out += self._enrollments(self._section(section))
                section += 1
            return total, out[skip : skip + limit]
        records = list(self.records(collection))
        return len(records), records[offset : offset + limit]

    def record(self, collection: str, sourced_id: str) -> dict[str, Any] | None:
        """One record by sourcedId (rendering only it where it can), or None."""
        if collection in _SEGMENTS_OF:
            decoded = _decode(sourced_id)
            codes = {s.code for s in self.district.segments(_SEGMENTS_OF[collection])}
            if decoded is None or decoded[0] not in codes or not self.district.exists(*decoded):
                return None
            return self._render(collection, json.loads(self.district.fragment(*decoded)))
        if collection == "enrollments":
            section_id, _, _ = sourced_id.partition("-")
            section = self.record("classes", section_id)
            if section is None:
                return None
            found = self._enrollments(self._section(_decoded_index(section_id)))
            return next((e for e in found if e["sourcedId"] == sourced_id), None)
        return next((r for r in self.records(collection) if r["sourcedId"] == sourced_id), None)

    def _render(self, collection: str, clever: Mapping[str, Any]) -> dict[str, Any]:
        if collection == "classes":
            return self._class(clever)
        if collection == "users":
            return self._user(clever)
        return self._demographics(clever)

    def _section(self, index: int) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.district.fragment(_SECTION, index))
        return found

    @cached_property
    def _enrollment_starts(self) -> list[int]:
        """Where each section's enrollments start in the collection (and the total, last)."""
        starts = [0]
        for section in self.district.records("sections"):
            starts.append(starts[-1] + len(self._members(section)))
        return starts

    # -- orgs and sessions ----------------------------------------------------------------------

    def _district_org(self) -> dict[str, Any]:
        record = self.district.district_record()
        schools = [s["id"] for s in self.district.records("schools")]
        return _compact(
            {
                **_active(DEMO_DISTRICT_ID, _iso(_CREATED)),
                "name": record["name"],
                "type": "district",
                "identifier": record["nces_id"],
                "children": [_ref("org", s) for s in schools],
            }
        )

    def _school(self, school: Mapping[str, Any]) -> dict[str, Any]:
        return _compact(
            {
                **_active(school["id"], school["last_modified"]),
                "name": school["name"],
                "type": "school",
                "identifier": school["sis_id"],
                "parent": _ref("org", school["district"]),
            }
        )

    def _session(self, term: Mapping[str, Any]) -> dict[str, Any]:
        """The first term is the school year; the others are its semesters."""
        year = _id(_TERM, 0)
        index = _decoded_index(term["id"])
        is_year = term["id"] == year
        children = [_ref("academicSession", t["id"]) for t in self.district.records("terms")]
        return _compact(
            {
                **_active(term["id"], _iso(_CREATED + _CREATED_OFFSET[_TERM] + index * 1000)),
                "title": term["name"],
                "type": "schoolYear" if is_year else "semester",
                "startDate": term["start_date"],
                "endDate": term["end_date"],
                "parent": None if is_year else _ref("academicSession", year),
                "children": children[1:] if is_year else [],
                "schoolYear": term["end_date"][:4],  # the year the school year ends
            }
        )

    def _course(self, course: Mapping[str, Any]) -> dict[str, Any]:
        index = _decoded_index(course["id"])
        return _compact(
            {
                **_active(course["id"], _iso(_CREATED + _CREATED_OFFSET[_COURSE] + index * 1000)),
                "title": course["name"],
                "courseCode": course["number"],
                "org": _ref("org", course["district"]),
            }
        )

    # -- classes and enrollments ----------------------------------------------------------------

    def _class(self, section: Mapping[str, Any]) -> dict[str, Any]:
        return _compact(
            {
                **_active(section["id"], section["last_modified"]),
                "title": section["name"],
                "classCode": section["section_number"],
                "classType": "homeroom" if section["subject"] == _HOMEROOM else "scheduled",
                "location": section["ext"].get("classroom", ""),
                "grades": _grades(section["grade"]),
                "subjects": [section["subject"]] if section["subject"] else [],
                "course": _ref("course", section["course"]),
                "school": _ref("org", section["school"]),
                "terms": [_ref("academicSession", section["term_id"])],
                "periods": [section["period"]] if section["period"] else [],
            }
        )

    def _enrollments(self, section: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """One enrollment per teacher, then one per student the district serves."""
        for user, role in self._members(section):
            yield {
                **_active(f"{section['id']}-{user}", section["last_modified"]),
                "class": _ref("class", section["id"]),
                "user": _ref("user", user),
                "school": _ref("org", section["school"]),
                "role": role,
                "primary": "true" if user == section.get("teacher") else "false",
            }

    def _members(self, section: Mapping[str, Any]) -> list[tuple[str, str]]:
        members = [(t, "teacher") for t in section["teachers"]]
        return members + [(s, "student") for s in section["students"] if self._served(s)]

    def _served(self, student_id: str) -> bool:
        """Whether the district serves this student today (a section may name one it does not
        share); this runs once per seat, so it reads the students' id range, not the record."""
        stop, gaps = self._students
        index = int(student_id[6:], 16)
        return student_id.startswith(_STUDENT_PREFIX) and index < stop and index not in gaps

    @cached_property
    def _students(self) -> tuple[int, frozenset[int]]:
        (students,) = self.district.segments("students")
        return students.stop, students.gaps

    # -- users and demographics -----------------------------------------------------------------

    def _user(self, user: Mapping[str, Any]) -> dict[str, Any]:
        role = "student" if "student" in user["roles"] else "teacher"
        facts = user["roles"][role]
        primary = facts.get("school", "")
        schools = facts.get("schools") or [primary]
        number = facts.get(f"{role}_number", "")
        user_ids = [
            {"type": kind, "identifier": value}
            for kind, value in (("state_id", facts.get("state_id", "")), (f"{role}_number", number))
            if value
        ]
        return _compact(
            {
                **_active(user["id"], user["last_modified"]),
                "enabledUser": "true",
                "username": facts.get("credentials", {}).get("district_username", ""),
                "userIds": user_ids,
                "givenName": user["name"]["first"],
                "familyName": user["name"]["last"],
                "middleName": user["name"].get("middle", ""),
                "roles": [
                    {
                        "roleType": "primary" if school == primary else "secondary",
                        "role": role,
                        "org": _ref("org", school),
                    }
                    for school in schools
                ],
                "primaryOrg": _ref("org", primary) if primary else None,
                "identifier": facts.get("sis_id", ""),
                "email": user.get("email") or facts.get("email", ""),
                "grades": _grades(facts.get("grade", "")),
            }
        )

    def _demographics(self, student: Mapping[str, Any]) -> dict[str, Any]:
        facts = student["roles"]["student"]
        race = facts.get("race", "")
        flags = {flag: "true" if race == name else "false" for name, flag in _RACE_FLAG.items()}
        return _compact(
            {
                **_active(student["id"], student["last_modified"]),
                "birthDate": _birth_date(facts.get("dob", "")),
                "sex": _SEX.get(facts.get("gender", ""), ""),
                **(flags if race else {}),
                "hispanicOrLatinoEthnicity": _YES_NO.get(facts.get("hispanic_ethnicity", ""), ""),
            }
        )


# The collections that follow one of the Clever demo's id ranges, and how a record is rendered.
_SEGMENTS_OF = {"classes": "sections", "users": "users", "demographics": "students"}


def _size(segment: _Segment) -> int:
    """How many records a segment serves (the demo's segments with a filter are not used here)."""
    return segment.stop - sum(1 for g in segment.gaps if g < segment.stop)


def _from(segments: list[_Segment], offset: int) -> Iterator[tuple[str, int]]:
    """The (code, index) of every record from the offset-th on, without walking the ones before."""
    for segment in segments:
        size = _size(segment)
        if offset >= size:
            offset -= size
            continue
        start = offset
        for gap in sorted(segment.gaps):  # the offset-th served index: step over the gaps
            if gap <= start:
                start += 1
        offset = 0
        for index in range(start, segment.stop):
            if segment.wanted(index):
                yield segment.code, index


def _decoded_index(record_id: str) -> int:
    decoded = _decode(record_id)
    if decoded is None:
        raise ValueError(f"{record_id!r} is not a demo id")
    return decoded[1]


# -- 1.1 -----------------------------------------------------------------------------------------


def v1p1(collection: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A 1.2 record in the 1.1 shape: a user has one ``role`` and ``orgs`` instead of ``roles``
    and ``primaryOrg``; 1.1's ``sex`` is male or female only; hrefs point under /v1p1."""
    out: dict[str, Any] = _rebase(dict(record))
    if collection == "users":
        roles = out.pop("roles")
        out.pop("primaryOrg", None)
        primary = next((r for r in roles if r["roleType"] == "primary"), roles[0])
        out["role"] = primary["role"]
        out["orgs"] = [r["org"] for r in roles]
    elif collection == "demographics" and out.get("sex") not in ("male", "female"):
        out.pop("sex", None)
    return out


def _rebase(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (BASE_V1P1 + v[len(BASE_V1P2) :] if k == "href" else _rebase(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rebase(v) for v in value]
    return value


# -- CSV -----------------------------------------------------------------------------------------


def csv_row(file_name: str, record: Mapping[str, Any], version: files.Version) -> list[str]:
    """The record (in its version's shape) as a bulk CSV row under the exact header of
    ``files.py``: references become sourcedIds, lists comma-joined cells, userIds
    ``{type:identifier}`` items; ``status`` and ``dateLastModified`` are blank, as bulk files
    require (oneroster.md §4)."""
    header = files.file(file_name).header(version)
    if header is None:
        raise ValueError(f"OneRoster {version} has no {file_name}.csv")
    cells = _flatten(record)
    cells["status"] = cells["dateLastModified"] = ""
    return [cells.get(column, "") for column in header]


def role_rows(user: Mapping[str, Any]) -> Iterator[list[str]]:
    """The roles.csv rows (1.2) of one 1.2 user: one per role, its sourcedId user-org."""
    header = files.file("roles").header("1.2") or ()
    for role in user["roles"]:
        org = role["org"]["sourcedId"]
        cells = {
            "sourcedId": f"{user['sourcedId']}-{org}",
            "userSourcedId": user["sourcedId"],
            "roleType": role["roleType"],
            "role": role["role"],
            "orgSourcedId": org,
        }
        yield [cells.get(column, "") for column in header]


def _flatten(record: Mapping[str, Any]) -> dict[str, str]:
    cells: dict[str, str] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            cells[f"{key}SourcedId"] = value["sourcedId"]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            if key == "userIds":
                cells[key] = ",".join(f"{{{u['type']}:{u['identifier']}}}" for u in value)
            elif "sourcedId" in value[0]:
                cells[f"{key.removesuffix('s')}SourcedIds"] = ",".join(
                    v["sourcedId"] for v in value
                )
        elif isinstance(value, list):
            cells[key] = ",".join(value)
        else:
            cells[key] = str(value)
    return cells

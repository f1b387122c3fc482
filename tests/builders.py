"""Small Clever districts for tests: records shaped like Clever's, served through `responses`.

`District` holds plain record dicts per endpoint; `serve(district)` registers them as paged
Clever list responses, so tests run the real client, staging, validation, diff and merge.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import responses

from mgi_roster.settings import CleverSettings
from tests.conftest import API

DISTRICT_ID = "d15c0000000000000000000a"
TOKEN = "test-district-token"
SETTINGS = CleverSettings(api_base=API, district_token=TOKEN)


def hex_id(prefix: str, n: int) -> str:
    return f"{prefix}{n:0{24 - len(prefix)}x}"


def school(n: int, **over: Any) -> dict[str, Any]:
    record = {
        "id": hex_id("5c", n),
        "district": DISTRICT_ID,
        "name": f"School {n}",
        "sis_id": f"S{n}",
        "school_number": str(100 + n),
        "low_grade": "Kindergarten",
        "high_grade": "8",
        "location": {
            "address": f"{n} Main St",
            "city": "Springfield",
            "state": "OR",
            "zip": "97477",
        },
    }
    return _merge(record, over)


def student(n: int, *, school_n: int = 1, **over: Any) -> dict[str, Any]:
    sid = hex_id("57", n)
    record = {
        "id": sid,
        "district": DISTRICT_ID,
        "email": f"student{n}@example.org",
        "name": {"first": f"First{n}", "last": f"Last{n}"},
        "roles": {
            "student": {
                "sis_id": f"{1000 + n}",
                "student_number": f"{1000 + n}",
                "state_id": f"ST{n}",
                "school": hex_id("5c", school_n),
                "schools": [hex_id("5c", school_n)],
                "grade": "3",
                "dob": "2/11/2016",
                "gender": "F",
                "race": "Unknown",
                "hispanic_ethnicity": "N",
                "ell_status": "N",
                "credentials": {"district_username": f"s{n}"},
                "enrollments": [],
            }
        },
    }
    return _merge(record, over)


def teacher(n: int, *, school_n: int = 1, **over: Any) -> dict[str, Any]:
    record = {
        "id": hex_id("7e", n),
        "district": DISTRICT_ID,
        "email": f"teacher{n}@example.org",
        "name": {"first": f"Teach{n}", "last": f"Er{n}"},
        "roles": {
            "teacher": {
                "sis_id": f"T{n}",
                "school": hex_id("5c", school_n),
                "schools": [hex_id("5c", school_n)],
                "credentials": {"district_username": f"t{n}"},
            }
        },
    }
    return _merge(record, over)


def section(
    n: int, *, students: list[int], teacher_n: int | None = 1, school_n: int = 1, **over: Any
) -> dict[str, Any]:
    tid = hex_id("7e", teacher_n) if teacher_n is not None else ""
    record = {
        "id": hex_id("5e", n),
        "district": DISTRICT_ID,
        "name": f"Math {n}",
        "sis_id": f"SEC{n}",
        "school": hex_id("5c", school_n),
        "subject": "math",
        "grade": "3",
        "teacher": tid,
        "teachers": [tid] if tid else [],
        "students": [hex_id("57", s) for s in students],
    }
    return _merge(record, over)


def _merge(record: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Override nested keys with dotted names: roles__student__grade="4" (None deletes)."""
    record = copy.deepcopy(record)
    for key, value in over.items():
        path = key.split("__")
        target = record
        for part in path[:-1]:
            target = target.setdefault(part, {})
        if value is None:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    return record


@dataclass
class District:
    schools: list[dict[str, Any]] = field(default_factory=list)
    students: list[dict[str, Any]] = field(default_factory=list)
    teachers: list[dict[str, Any]] = field(default_factory=list)
    sections: list[dict[str, Any]] = field(default_factory=list)
    terms: list[dict[str, Any]] = field(default_factory=list)
    courses: list[dict[str, Any]] = field(default_factory=list)

    def copy(self) -> District:
        return copy.deepcopy(self)

    def find(self, kind: str, record_id: str) -> dict[str, Any]:
        return next(r for r in getattr(self, kind) if r["id"] == record_id)


def small_district(students: int = 10) -> District:
    """One school, one teacher, `students` students all in one section: no issues at all."""
    return District(
        schools=[school(1)],
        students=[student(n) for n in range(1, students + 1)],
        teachers=[teacher(1)],
        sections=[section(1, students=list(range(1, students + 1)))],
    )


def _page(
    path: str, records: list[dict[str, Any]], next_after: str | None = None, query: str = ""
) -> dict[str, Any]:
    links = [{"rel": "self", "uri": f"/v3.0{path}"}]
    if next_after:
        links.append({"rel": "next", "uri": f"/v3.0{path}?{query}starting_after={next_after}"})
    return {"data": [{"data": r, "uri": f"/v3.0{path}/{r['id']}"} for r in records], "links": links}


def serve(
    district: District,
    rsps: responses.RequestsMock | None = None,
    *,
    page_size: int | None = None,
    fail: tuple[str, int, int] | None = None,
) -> None:
    """Register the district as Clever's paged list endpoints.

    page_size splits each list into pages linked by `next` (the client must then be asked for
    the same page size). fail=("students", 3, 401) answers that status for that page instead.
    """
    mock = rsps or responses
    for name, path, role in (
        ("schools", "/schools", None),
        ("students", "/users", "student"),
        ("teachers", "/users", "teacher"),
        ("sections", "/sections", None),
        ("terms", "/terms", None),
        ("courses", "/courses", None),
    ):
        records = getattr(district, name)
        size = page_size or max(len(records), 1)
        chunks = [records[i : i + size] for i in range(0, len(records), size)] or [[]]
        query = f"role={role}&" if role else ""
        registrations = []
        for number, chunk in enumerate(chunks, start=1):
            after = chunk[-1]["id"] if number < len(chunks) else None
            match: dict[str, str] = {"role": role} if role else {}
            if number > 1:
                match["starting_after"] = chunks[number - 2][-1]["id"]
            if fail and fail[0] == name and fail[1] == number:
                answer: dict[str, Any] = {
                    "status": fail[2],
                    "json": {"error": "failure injected by the test"},
                }
            else:
                answer = {"json": _page(path, chunk, after, query)}
            matchers = (
                [responses.matchers.query_param_matcher(match, strict_match=False)] if match else []
            )
            registrations.append((number, matchers, answer))
        # Later pages first: responses takes the first registration that matches.
        for _number, matchers, answer in sorted(registrations, key=lambda r: -r[0]):
            mock.get(f"{API}/v3.0{path}", match=matchers, **answer)

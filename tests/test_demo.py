"""The demo district: Clever's wire format, paging, auth, rate limits, and the planted days."""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mgi_roster import demo
from mgi_roster.demo import (
    DEFAULT_STUDENTS,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_DAYS,
    DEMO_DISTRICT_ID,
    DEMO_DISTRICT_TOKEN,
    DemoDistrict,
    RateLimiter,
    handle,
    make_server,
    mount_demo,
)
from mgi_roster.demo.ids import _SECTION, _STUDENT, _id
from mgi_roster.demo.people import _NAME_GROUPS
from mgi_roster.errors import InputError
from tests.support import API

BEARER = {"Authorization": f"Bearer {DEMO_DISTRICT_TOKEN}"}
HEX24 = re.compile(r"[0-9a-f]{24}")
# Facts from real Clever responses (shared/reference/clever-recorded/, recorded 2023-04-24 by
# beneggett/clever_sdk, MIT), copied here so the tests do not depend on files outside the repo.
RECORDED_404_RESOURCES = (  # api__resources_student.json: GET /v3.0/resources
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
    "</head>\n<body>\n<pre>Cannot GET /v3.0/resources</pre>\n</body>\n</html>\n"
)
RECORDED_KEYS = {
    "user": {"created", "district", "email", "id", "last_modified", "name", "roles"},
    "student": {
        "credentials",
        "dob",
        "email",
        "enrollments",
        "ext",
        "gender",
        "grade",
        "graduation_year",
        "hispanic_ethnicity",
        "location",
        "race",
        "school",
        "schools",
        "sis_id",
        "state_id",
        "student_number",
    },
    "teacher": {
        "credentials",
        "ext",
        "legacy_id",
        "school",
        "schools",
        "sis_id",
        "state_id",
        "teacher_number",
        "title",
    },
    "section": {
        "course",
        "created",
        "district",
        "ext",
        "grade",
        "id",
        "last_modified",
        "name",
        "period",
        "school",
        "section_number",
        "sis_id",
        "students",
        "subject",
        "teacher",
        "teachers",
        "term_id",
    },
    "school": {
        "created",
        "district",
        "ext",
        "high_grade",
        "id",
        "last_modified",
        "location",
        "low_grade",
        "name",
        "phone",
        "principal",
        "school_number",
        "sis_id",
        "state_id",
    },
    "district": {
        "district_contact",
        "error",
        "id",
        "last_sync",
        "launch_date",
        "login_methods",
        "name",
        "portal_url",
        "sis_type",
        "state",
    },
    "token": {"access_token", "created", "id", "owner", "scopes"},
}
GRADE_NUMBER = {"Kindergarten": 0, **{str(g): g for g in range(1, 13)}}
LIST_ENDPOINTS = {  # entity -> (path, params)
    "schools": ("/v3.0/schools", {}),
    "students": ("/v3.0/users", {"role": "student"}),
    "teachers": ("/v3.0/users", {"role": "teacher"}),
    "sections": ("/v3.0/sections", {}),
    "terms": ("/v3.0/terms", {}),
    "courses": ("/v3.0/courses", {}),
}


# -- helpers ------------------------------------------------------------------------------------


def demo_session(district: DemoDistrict, **kw: Any) -> requests.Session:
    session = requests.Session()
    mount_demo(session, district, **kw)
    session.headers.update(BEARER)
    return session


def pages(session: requests.Session, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Clever's documented loop: follow ``next`` until it is absent or a page comes back empty."""
    response = session.get(API + path, params=params, timeout=5)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        yield body
        next_links = [link["uri"] for link in body["links"] if link["rel"] == "next"]
        if not next_links or not body["data"]:
            return
        response = session.get(API + next_links[0], timeout=5)


def fetch_all(session: requests.Session, entity: str, limit: int = 100) -> list[dict[str, Any]]:
    path, params = LIST_ENDPOINTS[entity]
    return [
        item["data"]
        for body in pages(session, path, {**params, "limit": str(limit)})
        for item in body["data"]
    ]


def records(district: DemoDistrict, entity: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in district.records(entity)}


def get(
    district: DemoDistrict, path: str, headers: dict[str, str] | None = None, **query: str
) -> demo.DemoResponse:
    return handle(
        district,
        "GET",
        path,
        {k: [v] for k, v in query.items()},
        BEARER if headers is None else headers,
    )


def link(body: dict[str, Any], rel: str) -> str | None:
    return next((item["uri"] for item in body["links"] if item["rel"] == rel), None)


def is_date(dob: str) -> bool:
    month, day, year = map(int, dob.split("/"))
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def day1() -> DemoDistrict:
    return DemoDistrict()


@pytest.fixture(scope="module")
def days(day1: DemoDistrict) -> dict[int, dict[str, dict[str, dict[str, Any]]]]:
    """Every record of every entity on each day, keyed by id (1,200 students: small)."""
    return {
        d: {entity: records(day1.with_day(d), entity) for entity in LIST_ENDPOINTS}
        for d in range(1, DEMO_DAYS + 1)
    }


# -- constants and arguments --------------------------------------------------------------------


def test_constants() -> None:
    assert HEX24.fullmatch(DEMO_DISTRICT_ID)
    assert (DEMO_DISTRICT_TOKEN, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET) == (
        "demo-district-token",
        "demo-client-id",
        "demo-client-secret",
    )
    assert (DEMO_DAYS, DEFAULT_STUDENTS) == (3, 1200)
    assert DemoDistrict() == DemoDistrict(students=1200, day=1, seed=2026)


@pytest.mark.parametrize("kwargs", [{"students": 10}, {"day": 0}, {"day": 4}])
def test_out_of_range_arguments_are_refused_with_a_message(kwargs: dict[str, int]) -> None:
    with pytest.raises(InputError, match="demo district"):
        DemoDistrict(**kwargs)


# -- determinism and ids ------------------------------------------------------------------------


def test_same_arguments_give_identical_bytes() -> None:
    paths = ["/v3.0/users", "/v3.0/sections", "/v3.0/schools", "/v3.0/districts", "/v3.0/courses"]
    for day in (1, 2, 3):
        for path in paths:
            first = get(DemoDistrict(day=day), path, limit="500").body
            again = get(DemoDistrict(day=day), path, limit="500").body
            assert first == again
    other_seed = get(DemoDistrict(seed=7), "/v3.0/users", limit="500").body
    assert other_seed != get(DemoDistrict(), "/v3.0/users", limit="500").body


def test_bytes_do_not_depend_on_the_process(day1: DemoDistrict) -> None:
    code = (
        "import hashlib; from mgi_roster.demo import DemoDistrict, handle; "
        "r = handle(DemoDistrict(day=2), 'GET', '/v3.0/sections', {'limit': ['300']}, "
        "{'Authorization': 'Bearer demo-district-token'}); "
        "print(hashlib.sha256(r.body).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    root = Path(__file__).parents[1]
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=True,
        timeout=30,
    ).stdout.strip()
    body = get(day1.with_day(2), "/v3.0/sections", limit="300").body
    assert other == hashlib.sha256(body).hexdigest()


def test_ids_are_lowercase_hex_strictly_ascending_and_unique_across_entities(
    day1: DemoDistrict,
) -> None:
    session = demo_session(day1.with_day(2))
    seen: set[str] = set()
    for entity in LIST_ENDPOINTS:
        ids = [record["id"] for record in fetch_all(session, entity, limit=37)]
        assert all(HEX24.fullmatch(i) for i in ids), entity
        assert all(a < b for a, b in zip(ids, ids[1:], strict=False)), f"{entity} not ascending"
        assert not seen & set(ids), entity
        seen |= set(ids)
    assert DEMO_DISTRICT_ID not in seen


# -- paging through a requests.Session ---------------------------------------------------------


def test_full_paging_returns_every_record_once_and_matches_counts(day1: DemoDistrict) -> None:
    for day in (1, 2, 3):
        district = day1.with_day(day)
        session = demo_session(district)
        counts = district.counts()
        for entity in LIST_ENDPOINTS:
            ids = [record["id"] for record in fetch_all(session, entity)]
            assert len(ids) == len(set(ids)) == counts[entity], (day, entity)
            assert set(ids) == set(records(district, entity)), (day, entity)


def test_default_size_counts(day1: DemoDistrict) -> None:
    assert day1.counts() == {
        "schools": 4,
        "students": 1200,
        "teachers": 60,
        "sections": 209,
        "terms": 3,
        "courses": 54,
    }
    assert day1.with_day(2).counts() == {**day1.counts(), "sections": 210}
    assert day1.with_day(3).counts() == day1.with_day(2).counts()


def test_a_full_last_page_links_to_an_empty_page_without_next(day1: DemoDistrict) -> None:
    session = demo_session(day1)
    bodies = list(pages(session, "/v3.0/users", {"role": "student", "limit": "100"}))
    assert len(bodies) == 13  # 12 full pages of 100, then the empty one Clever sends
    assert len(bodies[-2]["data"]) == 100 and link(bodies[-2], "next")
    assert bodies[-1]["data"] == [] and link(bodies[-1], "next") is None
    assert link(bodies[0], "prev") is None and link(bodies[1], "prev")


def test_links_are_relative_keep_the_query_and_put_the_cursor_last(day1: DemoDistrict) -> None:
    body = get(day1, "/v3.0/users", role="student", limit="5").json()
    last = body["data"][-1]["data"]["id"]
    assert body["links"] == [
        {"rel": "self", "uri": "/v3.0/users?role=student&limit=5"},
        {"rel": "next", "uri": f"/v3.0/users?role=student&limit=5&starting_after={last}"},
    ]
    assert [item["uri"] for item in body["data"]] == [
        f"/v3.0/users/{item['data']['id']}" for item in body["data"]
    ]
    follow = get(day1, "/v3.0/users", role="student", limit="5", starting_after=last).json()
    first = follow["data"][0]["data"]["id"]
    assert first > last
    assert link(follow, "prev") == f"/v3.0/users?role=student&limit=5&ending_before={first}"


def test_default_limit_is_100_and_ending_before_pages_backwards(day1: DemoDistrict) -> None:
    everyone = [
        item["data"]["id"]
        for item in get(day1, "/v3.0/users", role="student", limit="10000").json()["data"]
    ]
    assert len(get(day1, "/v3.0/users", role="student").json()["data"]) == 100
    back = get(day1, "/v3.0/users", role="student", limit="3", ending_before=everyone[10]).json()
    assert [item["data"]["id"] for item in back["data"]] == everyone[7:10]
    assert link(back, "next") == f"/v3.0/users?role=student&limit=3&starting_after={everyone[9]}"
    assert link(back, "prev") == f"/v3.0/users?role=student&limit=3&ending_before={everyone[7]}"


def test_users_without_role_returns_teachers_and_students(day1: DemoDistrict) -> None:
    session = demo_session(day1)
    everyone = [
        item["data"]
        for body in pages(session, "/v3.0/users", {"limit": "500"})
        for item in body["data"]
    ]
    roles = collections.Counter(next(iter(user["roles"])) for user in everyone)
    assert roles == {"teacher": 60, "student": 1200}
    staff = get(day1, "/v3.0/users", role="staff").json()["data"]
    assert staff and all({"teacher", "staff"} <= set(item["data"]["roles"]) for item in staff)
    assert get(day1, "/v3.0/users", role="contact").json()["data"] == []
    assert get(day1, "/v3.0/users", role="parent").status == 400


# -- errors -------------------------------------------------------------------------------------


def test_limit_above_10000_is_413_and_10000_is_fine(day1: DemoDistrict) -> None:
    session = demo_session(day1)
    too_big = session.get(f"{API}/v3.0/users", params={"limit": "10001"}, timeout=5)
    assert too_big.status_code == 413 and too_big.content == b""
    assert session.get(f"{API}/v3.0/users", params={"limit": "10000"}, timeout=5).status_code == 200
    assert get(day1, "/v3.0/users", limit="ten").status == 400
    assert get(day1, "/v3.0/users", starting_after="not-an-id").status == 400


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": DEMO_DISTRICT_TOKEN}]
)
def test_missing_or_wrong_bearer_is_401_json(day1: DemoDistrict, headers: dict[str, str]) -> None:
    response = get(day1, "/v3.0/districts", headers=headers)
    assert response.status == 401
    assert response.json() == {"error": "Unauthorized"}
    assert response.headers["X-RateLimit-Bucket"] == "bearer"


def test_unknown_path_is_clevers_html_404_byte_for_byte(day1: DemoDistrict) -> None:
    ours = demo_session(day1).get(f"{API}/v3.0/resources", timeout=5)
    assert ours.status_code == 404
    assert ours.headers["content-type"] == "text/html; charset=utf-8"
    assert ours.text == RECORDED_404_RESOURCES
    assert "<pre>Cannot GET /v3.0/xyz</pre>" in get(day1, "/v3.0/xyz").body.decode()
    assert get(day1, "/v3.0/users/x/y/z").status == 404


def test_single_record_envelope_and_json_404(day1: DemoDistrict) -> None:
    student = get(day1, "/v3.0/users", role="student", limit="1").json()["data"][0]["data"]
    body = get(day1, f"/v3.0/users/{student['id']}").json()
    assert body["data"] == student and "uri" not in body
    assert body["links"][0] == {"rel": "self", "uri": f"/v3.0/users/{student['id']}"}
    district = get(day1, f"/v3.0/districts/{DEMO_DISTRICT_ID}").json()["data"]
    assert district["id"] == DEMO_DISTRICT_ID
    for missing in (
        "/v3.0/users/" + "0" * 24,
        f"/v3.0/sections/{student['id']}",
        f"/v3.0/users/{day1.planted().unshared_student}",
        "/v3.0/districts/" + "a" * 24,
    ):
        response = get(day1, missing)
        assert response.status == 404 and response.headers["Content-Type"].startswith(
            "application/json"
        )
        assert set(response.json()) == {"message"}


# -- oauth tokens -------------------------------------------------------------------------------


def test_tokens_endpoint_lists_the_demo_district_token(day1: DemoDistrict) -> None:
    session = requests.Session()
    mount_demo(session, day1)
    url = "https://clever.com/oauth/tokens"
    app = (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    body = session.get(url, params={"owner_type": "district"}, auth=app, timeout=5).json()
    assert body["links"] == [{"rel": "self", "uri": "/oauth/tokens?owner_type=district"}]
    [token] = body["data"]
    assert token["owner"] == {"type": "district", "id": DEMO_DISTRICT_ID}
    assert token["access_token"] == DEMO_DISTRICT_TOKEN
    assert set(token) == RECORDED_KEYS["token"]
    mine = session.get(
        url, params={"owner_type": "district", "district": DEMO_DISTRICT_ID}, auth=app, timeout=5
    ).json()
    assert mine["data"] == [token]
    other = session.get(
        url,
        params={"owner_type": "district", "district": "58da8a43cc70ab00017a1a87"},
        auth=app,
        timeout=5,
    ).json()
    assert other["data"] == []
    for auth in [(DEMO_CLIENT_ID, "wrong"), None]:
        refused = session.get(url, params={"owner_type": "district"}, auth=auth, timeout=5)
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_client" and refused.json()["error_description"]
    garbled = {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}
    assert handle(day1, "GET", "/oauth/tokens", {"owner_type": ["district"]}, garbled).status == 401


# -- rate limits --------------------------------------------------------------------------------


def test_every_api_response_carries_the_rate_limit_headers(day1: DemoDistrict) -> None:
    session = demo_session(day1, clock=lambda: 1_000_030.5)
    first = session.get(f"{API}/v3.0/districts", timeout=5)
    second = session.get(f"{API}/v3.0/nothing", timeout=5)
    assert first.headers["X-RateLimit-Limit"] == "1200"
    assert first.headers["X-RateLimit-Remaining"] == "1199"
    assert second.headers["x-ratelimit-remaining"] == "1198"
    assert first.headers["X-RateLimit-Reset"] == "1000080"  # end of the window [1000020, 1000080)
    assert first.headers["X-RateLimit-Bucket"] == "bearer"


def test_limit_is_1200_per_token_per_fixed_minute() -> None:
    district = DemoDistrict(students=100)
    now = [6_000_000.0]
    limiter = RateLimiter(clock=lambda: now[0])
    for _ in range(1200):
        assert handle(district, "GET", "/v3.0/terms", {}, BEARER, limiter=limiter).status == 200
    refused = handle(district, "GET", "/v3.0/terms", {}, BEARER, limiter=limiter)
    assert refused.status == 429 and refused.body == b""
    other_token = handle(
        district, "GET", "/v3.0/terms", {}, {"Authorization": "Bearer x"}, limiter=limiter
    )
    assert other_token.status == 401  # its own bucket
    now[0] += 60
    assert handle(district, "GET", "/v3.0/terms", {}, BEARER, limiter=limiter).status == 200


def test_429_has_an_empty_body_no_retry_after_and_service_resumes(day1: DemoDistrict) -> None:
    now = [1_000_000.0]
    session = demo_session(day1, clock=lambda: now[0], rate_limit=3)
    assert [
        session.get(f"{API}/v3.0/districts", timeout=5).headers["X-RateLimit-Remaining"]
        for _ in range(3)
    ] == ["2", "1", "0"]
    refused = session.get(f"{API}/v3.0/districts", timeout=5)
    assert refused.status_code == 429 and refused.content == b""
    assert "Retry-After" not in refused.headers
    reset = int(refused.headers["X-RateLimit-Reset"])
    assert reset == 1_000_020 and reset > now[0]
    now[0] = reset
    assert session.get(f"{API}/v3.0/districts", timeout=5).status_code == 200


def test_rate_limit_none_never_refuses(day1: DemoDistrict) -> None:
    session = demo_session(day1, rate_limit=None)
    statuses = {session.get(f"{API}/v3.0/terms", timeout=5).status_code for _ in range(50)}
    assert statuses == {200}


# -- wire format --------------------------------------------------------------------------------


def test_records_carry_the_recorded_clever_fields(day1: DemoDistrict) -> None:
    district = day1.with_day(2)

    def first(path: str, **query: str) -> dict[str, Any]:
        return get(district, path, **query).json()["data"][0]["data"]

    page = get(district, "/v3.0/users", role="student", limit="50").json()["data"]
    student = next(item["data"] for item in page if "email" in item["data"])
    assert set(student) == RECORDED_KEYS["user"]
    # ell_status is extra: the recorded demo token lacked the read:ell_status scope.
    assert set(student["roles"]["student"]) == RECORDED_KEYS["student"] | {"ell_status"}
    teacher = first("/v3.0/users", role="teacher", limit="1")
    assert set(teacher["roles"]["teacher"]) == RECORDED_KEYS["teacher"]
    assert set(first("/v3.0/sections")) == RECORDED_KEYS["section"]
    assert RECORDED_KEYS["school"] <= set(first("/v3.0/schools"))
    assert RECORDED_KEYS["district"] <= set(first("/v3.0/districts"))
    term = first("/v3.0/terms")
    assert set(term) == {"district", "end_date", "name", "start_date", "id"}
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", term["start_date"])  # /v3.0/terms sends dates
    assert set(first("/v3.0/courses")) == {"district", "name", "number", "id"}
    response = get(district, "/v3.0/users")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "null" not in response.body.decode()  # Clever sends "" or leaves keys out
    assert "\\u" not in response.body.decode()  # UTF-8 as is, not \u escapes


def test_student_fields_use_clevers_formats_and_enums(days: dict) -> None:
    races = {
        "Caucasian",
        "Asian",
        "Black or African American",
        "American Indian",
        "Hawaiian or Other Pacific Islander",
        "Two or More Races",
        "Unknown",
        "",
    }
    for student in days[1]["students"].values():
        role = student["roles"]["student"]
        assert re.fullmatch(r"[1-9]\d?/[1-9]\d?/\d{4}", role["dob"])  # M/D/YYYY, no zero padding
        assert role["gender"] in {"M", "F", "X"}
        assert role["race"] in races
        assert role["hispanic_ethnicity"] in {"Y", "N", ""}
        assert role["ell_status"] in {"Y", "N", ""}
        assert role["grade"] in GRADE_NUMBER
        assert role["enrollments"] == [] and role["schools"] == [role["school"]]
        assert role["credentials"]["district_username"].isascii()
        assert role.get("email", student.get("email")) == student.get("email")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", student["created"])
    subjects = {
        "english/language arts",
        "math",
        "science",
        "social studies",
        "language",
        "homeroom/advisory",
        "interventions/online learning",
        "technology and engineering",
        "PE and health",
        "arts and music",
        "other",
        "",
    }
    assert {s["subject"] for s in days[2]["sections"].values()} <= subjects


def test_names_are_multilingual_and_logins_ascii(days: dict) -> None:
    people = list(days[1]["students"].values()) + list(days[1]["teachers"].values())
    text = " ".join(f"{p['name']['first']} {p['name']['last']}" for p in people)
    for sample in ("'", "-", "é", "ñ"):
        assert sample in text
    scripts = [r"[\u0400-\u04ff]", r"[\u4e00-\u9fff]", r"[\u0600-\u06ff]", r"[\u0900-\u097f]"]
    assert sum(bool(re.search(s, text)) for s in scripts) >= 3
    for person in people:
        assert person.get("email", "x@y").isascii()
    assert len({p["name"]["last"] for p in people}) > 50


def test_every_name_in_the_pools_is_json_safe_and_has_an_ascii_form() -> None:
    # The fast renderers interpolate names into JSON text without escaping.
    for group in _NAME_GROUPS:
        for pools in filter(None, (group.latin, group.native)):
            for display, ascii_form in pools.female + pools.male + pools.last:
                assert json.dumps(display, ensure_ascii=False)[1:-1] == display
                assert ascii_form and ascii_form.isascii() and ascii_form.isalnum()


# -- the district's shape -----------------------------------------------------------------------


def test_shape_at_the_default_size(days: dict) -> None:
    d1 = days[1]
    schools = d1["schools"]
    spans = sorted((s["low_grade"], s["high_grade"]) for s in schools.values())
    assert spans == [("6", "8"), ("9", "12"), ("Kindergarten", "5"), ("Kindergarten", "5")]
    for school in schools.values():
        assert school["principal"]["name"] and school["location"]["zip"] and school["nces_id"]
    memberships = collections.Counter(sid for s in d1["sections"].values() for sid in s["students"])
    regular = [len(s["students"]) for s in d1["sections"].values() if s["students"]]
    assert 20 <= sum(regular) / len(regular) <= 30
    per_student = collections.Counter(memberships[sid] for sid in d1["students"])
    assert per_student[4] >= 1195
    grades = collections.Counter(s["roles"]["student"]["grade"] for s in d1["students"].values())
    assert set(grades) == set(GRADE_NUMBER) and min(grades.values()) >= 60
    teachers = d1["teachers"]
    assert sum("staff" in t["roles"] for t in teachers.values()) >= 2
    for section in d1["sections"].values():
        assert section["teachers"][0] == section["teacher"] and section["teacher"] in teachers
        assert section["school"] in schools and section["term_id"] in d1["terms"]
        assert section["course"] in d1["courses"]
        course = d1["courses"][section["course"]]["name"]
        last = teachers[section["teacher"]]["name"]["last"]
        assert section["name"] == f"{course} - {last} - {section['period']}"


def test_schools_and_the_rest_scale_with_students() -> None:
    counts = DemoDistrict(students=30_000).counts()
    assert counts["schools"] == 100
    assert 1400 <= counts["teachers"] <= 1600
    assert 4500 <= counts["sections"] <= 5500


# -- days ---------------------------------------------------------------------------------------


def test_day_1_has_only_the_three_warning_level_situations(days: dict, day1: DemoDistrict) -> None:
    planted, d1 = day1.planted(), days[1]
    students, sections = d1["students"], d1["sections"]
    named = {sid for s in sections.values() for sid in s["students"]}
    assert [s["id"] for s in sections.values() if not s["students"]] == [planted.empty_section]
    assert set(students) - named == set(planted.sectionless_students)
    assert named - set(students) == {planted.unshared_student}
    assert [s["id"] for s in sections.values() if planted.unshared_student in s["students"]] == [
        planted.unshared_in_section
    ]
    assert_no_error_level_problems(d1)


def assert_no_error_level_problems(day: dict) -> None:
    students, schools, sections = day["students"], day["schools"], day["sections"]
    sis_ids = collections.Counter(s["roles"]["student"]["sis_id"] for s in students.values())
    assert max(sis_ids.values()) == 1
    logins = collections.Counter(
        s["roles"]["student"]["credentials"]["district_username"] for s in students.values()
    )
    assert max(logins.values()) == 1
    for student in students.values():
        role = student["roles"]["student"]
        assert is_date(role["dob"]), student["id"]
        school = schools[role["school"]]
        low, high = GRADE_NUMBER[school["low_grade"]], GRADE_NUMBER[school["high_grade"]]
        assert low <= GRADE_NUMBER[role["grade"]] <= high, student["id"]
    for section in sections.values():
        assert section.get("teacher") and section["teachers"], section["id"]


def test_day_2_changes_students_exactly_as_planted(days: dict, day1: DemoDistrict) -> None:
    planted = day1.planted()
    before, after = days[1]["students"], days[2]["students"]
    assert set(after) - set(before) == set(planted.added_students)
    assert set(before) - set(after) == set(planted.withdrawn_students)
    assert len(planted.added_students) == len(planted.withdrawn_students) == 12
    changed = {sid for sid in set(before) & set(after) if before[sid] != after[sid]}
    assert changed == planted.changed_students
    moved = after[planted.transfer.student_id]["roles"]["student"]
    assert (moved["school"], moved["schools"]) == (
        planted.transfer.to_school,
        [planted.transfer.to_school],
    )
    old = before[planted.transfer.student_id]["roles"]["student"]
    assert old["school"] == planted.transfer.from_school != planted.transfer.to_school
    assert diff_fields(before[planted.transfer.student_id], after[planted.transfer.student_id]) == {
        "last_modified",
        "roles.student.school",
        "roles.student.schools",
    }
    fix = planted.grade_correction
    assert before[fix.record_id]["roles"]["student"]["grade"] == fix.before
    assert after[fix.record_id]["roles"]["student"]["grade"] == fix.after != fix.before
    assert diff_fields(before[fix.record_id], after[fix.record_id]) == {
        "last_modified",
        "roles.student.grade",
    }
    total_changed = len(planted.added_students) + len(planted.withdrawn_students) + len(changed)
    assert 0.015 <= total_changed / len(before) <= 0.03


def test_the_share_of_students_a_night_changes_is_chosen_and_day_1_stays_as_it_was() -> None:
    # `changed`: the percent of day 1's students the night adds or withdraws, half each (the
    # benchmark's nights); day 1 and everything planted are the same whatever it is.
    default, half = DemoDistrict(students=2000), DemoDistrict(students=2000, changed=1.0)
    assert len(default.planted().added_students) == len(default.planted().withdrawn_students) == 20
    assert len(half.planted().added_students) == len(half.planted().withdrawn_students) == 10
    for path in ("/v3.0/users", "/v3.0/sections"):
        assert get(half, path, limit="10000").body == get(default, path, limit="10000").body
    before, after = records(half, "students"), records(half.with_day(3), "students")
    assert set(after) - set(before) == set(half.planted().added_students)
    assert set(before) - set(after) == set(half.planted().withdrawn_students)
    assert half.planted().transfer == default.planted().transfer
    assert half.with_day(3).counts()["students"] == 2000


@pytest.mark.parametrize("changed", [0.0, -1.0, 21.0])
def test_a_night_changes_a_share_of_students_within_reason(changed: float) -> None:
    with pytest.raises(InputError, match="changes between"):
        DemoDistrict(students=2000, changed=changed)


def diff_fields(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of the leaves that differ between two records."""
    out = set()
    for key in set(a) | set(b):
        left, right = a.get(key), b.get(key)
        if isinstance(left, dict) and isinstance(right, dict):
            out |= diff_fields(left, right, f"{prefix}{key}.")
        elif left != right:
            out.add(prefix + key)
    return out


def test_day_2_moves_sections_with_the_students(days: dict, day1: DemoDistrict) -> None:
    planted = day1.planted()
    sections = days[2]["sections"]
    member_of = collections.defaultdict(list)
    for section in sections.values():
        for sid in section["students"]:
            member_of[sid].append(section)
    for sid in planted.withdrawn_students:
        assert sid not in member_of
    for sid in planted.added_students:
        assert sorted(s["subject"] for s in member_of[sid]) == sorted(
            ["homeroom/advisory", "math", "english/language arts", "science"]
        )
    moved = member_of[planted.transfer.student_id]
    assert len(moved) == 4 and {s["school"] for s in moved} == {planted.transfer.to_school}
    assert set(sections) - set(days[1]["sections"]) == {planted.new_section}
    new = sections[planted.new_section]
    assert new["students"] and new["teacher"] and new["subject"] == "technology and engineering"
    rename = planted.teacher_rename
    assert days[1]["teachers"][rename.record_id]["name"]["last"] == rename.before
    assert days[2]["teachers"][rename.record_id]["name"]["last"] == rename.after != rename.before
    led = [s for s in sections.values() if s.get("teacher") == rename.record_id]
    assert led and all(f" - {rename.after} - " in s["name"] for s in led)
    changed_teachers = {
        t for t in days[1]["teachers"] if days[1]["teachers"][t] != days[2]["teachers"][t]
    }
    assert changed_teachers == {rename.record_id}


def test_day_2_has_the_planted_problems_and_day_3_fixes_them(
    days: dict, day1: DemoDistrict
) -> None:
    planted = day1.planted()
    d2, d3 = days[2], days[3]
    first, second = planted.duplicate_sis_id
    assert second in planted.added_students and first not in planted.added_students
    sis2 = collections.Counter(s["roles"]["student"]["sis_id"] for s in d2["students"].values())
    assert [sis for sis, n in sis2.items() if n > 1] == [planted.duplicate_sis_value]
    assert d2["students"][second]["roles"]["student"]["sis_id"] == planted.duplicate_sis_value
    bad = [sid for sid, s in d2["students"].items() if not is_date(s["roles"]["student"]["dob"])]
    assert bad == [planted.bad_dob.record_id]
    assert (
        d2["students"][planted.bad_dob.record_id]["roles"]["student"]["dob"]
        == planted.bad_dob.after
    )
    assert planted.bad_dob.after.startswith("2/30/")
    gradeless = [sid for sid, s in d2["students"].items() if s["roles"]["student"]["grade"] == ""]
    assert gradeless == [planted.no_grade.record_id]
    teacherless = [sid for sid, s in d2["sections"].items() if not s.get("teacher")]
    assert teacherless == [planted.teacherless_section.record_id]
    assert "teacher" not in d2["sections"][teacherless[0]]
    assert d2["sections"][teacherless[0]]["teachers"] == []
    assert planted.unshared_student in d2["sections"][planted.unshared_in_section]["students"]

    assert_no_error_level_problems(d3)
    assert set(d3["students"]) == set(d2["students"]) and set(d3["sections"]) == set(d2["sections"])
    fixed = {sid for sid in d2["students"] if d2["students"][sid] != d3["students"][sid]}
    assert fixed == {planted.bad_dob.record_id, planted.no_grade.record_id, second}
    d1_students = days[1]["students"]
    for sid in (planted.bad_dob.record_id, planted.no_grade.record_id):
        assert diff_fields(d1_students[sid], d3["students"][sid]) == {"last_modified"}
    assert d3["sections"][teacherless[0]]["teacher"] == planted.teacherless_section.before


def test_last_modified_moves_only_for_changed_records(days: dict, day1: DemoDistrict) -> None:
    sync2 = day1.with_day(2).district_record()["last_sync"]
    for entity in ("students", "teachers", "sections"):
        for record_id, record in days[2][entity].items():
            old = days[1][entity].get(record_id)
            if old is None:
                continue
            if old == record:
                assert record["last_modified"] == old["last_modified"]
            else:
                assert old["last_modified"] < record["last_modified"] < sync2, record_id
    assert days[1]["schools"] == days[2]["schools"] == days[3]["schools"]


def test_planted_is_the_same_on_every_day(day1: DemoDistrict) -> None:
    assert day1.planted() == day1.with_day(2).planted() == day1.with_day(3).planted()
    other = DemoDistrict(seed=99).planted()
    assert other.transfer != day1.planted().transfer or other.bad_dob != day1.planted().bad_dob


def test_district_sync_time_moves_with_the_day(day1: DemoDistrict) -> None:
    stamps = [
        get(day1.with_day(d), "/v3.0/districts").json()["data"][0]["data"]["last_sync"]
        for d in (1, 2, 3)
    ]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    record = get(day1, "/v3.0/districts").json()["data"][0]["data"]
    assert record["name"] == "Maple Valley Unified School District (Demo)"
    assert (record["state"], record["error"]) == ("success", "")


# -- scale --------------------------------------------------------------------------------------


def test_a_late_page_of_a_million_students_is_served_without_the_district() -> None:
    district = DemoDistrict(students=1_000_000, day=2)
    planted = district.planted()
    late = _id(_STUDENT, 999_950)
    body = get(district, "/v3.0/users", role="student", limit="100", starting_after=late).json()
    ids = [item["data"]["id"] for item in body["data"]]
    assert ids[0] > late and ids == sorted(ids) and len(ids) == 100
    assert not set(ids) & set(planted.withdrawn_students)
    added = [i for i in ids if i in set(planted.added_students)]  # they sort after everyone
    assert (
        len(added) >= 50
        and added == list(planted.added_students[: len(added)])
        and ids[-1] == added[-1]
    )
    tail = get(
        district,
        "/v3.0/users",
        role="student",
        limit="100",
        starting_after=planted.added_students[-1],
    ).json()
    assert tail["data"] == [] and link(tail, "next") is None
    last_section = get(
        district,
        "/v3.0/sections",
        limit="2",
        ending_before=_id(_SECTION, 10**9),
    ).json()["data"]
    assert [s["data"]["id"] for s in last_section][-1] == planted.new_section
    assert district.counts()["students"] == 1_000_000 and district.counts()["schools"] == 3333


# -- loopback server ----------------------------------------------------------------------------


def test_loopback_server_serves_pages_over_http(day1: DemoDistrict) -> None:
    server = make_server(day1, port=0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        base = f"http://{host}:{port}"
        with requests.Session() as session:
            session.headers.update(BEARER)
            first = session.get(
                f"{base}/v3.0/users", params={"role": "student", "limit": "5"}, timeout=5
            )
            assert first.status_code == 200
            assert first.headers["Content-Length"] == str(len(first.content))
            assert first.headers["X-RateLimit-Remaining"] == "1199"
            body = first.json()
            assert len(body["data"]) == 5 and all(
                set(item) == {"data", "uri"} for item in body["data"]
            )
            assert (
                body["data"] == get(day1, "/v3.0/users", role="student", limit="5").json()["data"]
            )
            following = session.get(base + link(body, "next"), timeout=5).json()
            assert following["data"][0]["data"]["id"] > body["data"][-1]["data"]["id"]
            assert session.get(f"{base}/v3.0/nope", timeout=5).status_code == 404
            assert requests.get(f"{base}/v3.0/users", timeout=5).status_code == 401
            tokens = requests.get(
                f"{base}/oauth/tokens?owner_type=district",
                auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
                timeout=5,
            )
            assert tokens.json()["data"][0]["access_token"] == DEMO_DISTRICT_TOKEN
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_serve_prints_one_line_and_exits_cleanly_on_sigterm() -> None:
    code = (
        "from mgi_roster.demo import DemoDistrict, serve; "
        "serve(DemoDistrict(students=100, day=2), port=0)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        match = re.fullmatch(
            rf"Demo Clever district {DEMO_DISTRICT_ID} \(day 2, 100 students\) on "
            rf"http://127\.0\.0\.1:(\d+) — token: {DEMO_DISTRICT_TOKEN}\n",
            line,
        )
        assert match, line
        port = match.group(1)
        ok = requests.get(f"http://127.0.0.1:{port}/v3.0/districts", headers=BEARER, timeout=5)
        assert ok.status_code == 200
        process.terminate()
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None and process.stderr.read() == ""
    finally:
        if process.poll() is None:
            process.kill()

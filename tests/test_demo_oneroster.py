"""The demo district as a OneRoster provider: the CSV package, the REST API (OAuth 2.0 for 1.2,
OAuth 1.0a for 1.1) and the loopback server, and that all of them carry the same people with the
same ids as the Clever demo."""

from __future__ import annotations

import csv
import io
import json
import socket
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from requests_oauthlib import OAuth1

from mgi_roster import cli
from mgi_roster.demo import DEMO_DISTRICT_ID, DEMO_DISTRICT_TOKEN, DemoDistrict, mount_demo
from mgi_roster.demo.oneroster_api import (
    DEMO_ONEROSTER_CLIENT_ID,
    DEMO_ONEROSTER_CLIENT_SECRET,
    DEMO_ONEROSTER_TOKEN,
    MAX_LIMIT,
)
from mgi_roster.demo.oneroster_transport import (
    DEMO_ONEROSTER_ENDPOINT,
    DEMO_ONEROSTER_TOKEN_URL,
    DEMO_ONEROSTER_V1P1_ENDPOINT,
    make_oneroster_server,
    mount_oneroster_demo,
)
from mgi_roster.demo.oneroster_wire import COLLECTIONS, OneRosterDemo
from mgi_roster.demo.oneroster_zip import write_package
from mgi_roster.sources.oneroster import files
from tests.support import running

SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/"
BEARER = {"Authorization": f"Bearer {DEMO_ONEROSTER_TOKEN}"}
STUDENTS = 200  # small: the planted situations still fit (DemoDistrict.MIN_STUDENTS is 100)


def read_package(path: Path) -> dict[str, list[list[str]]]:
    """Every member of the ZIP as CSV rows (header first), read as the spec says to."""
    with zipfile.ZipFile(path) as archive:
        out = {}
        for name in archive.namelist():
            raw = archive.read(name)
            assert not raw.startswith(b"\xef\xbb\xbf")  # UTF-8 without a BOM
            out[name] = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
        return out


def table(package: dict[str, list[list[str]]], name: str) -> list[dict[str, str]]:
    header, *rows = package[f"{name}.csv"]
    return [dict(zip(header, row, strict=True)) for row in rows]


def clever(district: DemoDistrict, role: str) -> list[dict[str, Any]]:
    """Every user of a role as the Clever demo's API serves it (one page of 10,000)."""
    session = requests.Session()
    mount_demo(session, district, rate_limit=None)
    answer = session.get(
        "https://api.clever.com/v3.0/users",
        params={"role": role, "limit": 10_000},
        headers={"Authorization": f"Bearer {DEMO_DISTRICT_TOKEN}"},
        timeout=10,
    )
    return [item["data"] for item in answer.json()["data"]]


# --- the CSV package ------------------------------------------------------------------------


@pytest.mark.parametrize("version", files.VERSIONS)
def test_package_has_the_manifest_and_exact_headers_of_its_version(tmp_path, version):
    path = write_package(DemoDistrict(STUDENTS), tmp_path / "demo.zip", version).path
    package = read_package(path)
    manifest = package["manifest.csv"]
    assert manifest[0] == ["propertyName", "value"]
    properties = dict(manifest[1:])
    assert len(properties) == len(manifest) - 1  # no property twice
    assert properties["manifest.version"] == "1.0"
    assert properties["oneroster.version"] == version
    declared = {k.removeprefix("file."): v for k, v in properties.items() if k.startswith("file.")}
    assert set(declared) == set(files.data_files(version))
    bulk = {name for name, mode in declared.items() if mode == "bulk"}
    assert set(declared.values()) == {"bulk", "absent"}
    assert {f"{name}.csv" for name in bulk} | {"manifest.csv"} == set(package)
    assert set(files.REQUIRED[version]) | {"demographics"} == bulk
    for name in bulk:
        rows = package[f"{name}.csv"]
        assert tuple(rows[0]) == files.file(name).header(version)
        assert len(rows) > 1 and all(len(row) == len(rows[0]) for row in rows)
        # bulk files leave status and dateLastModified blank (oneroster.md §4)
        assert {(row[1], row[2]) for row in rows[1:]} == {("", "")}
        ids = [row[0] for row in rows[1:]]
        assert len(ids) == len(set(ids))  # sourcedIds unique within each file
    assert ("roles.csv" in package) == (version == "1.2")


def test_package_lines_end_in_crlf_and_lists_are_quoted(tmp_path):
    path = write_package(DemoDistrict(STUDENTS), tmp_path / "demo.zip").path
    with zipfile.ZipFile(path) as archive:
        users = archive.read("users.csv").decode()
    assert users.endswith("\r\n") and "\n" not in users.replace("\r\n", "")
    assert '"{state_id:' in users  # a list cell with a comma is one quoted cell


def test_package_carries_the_same_people_with_the_same_ids_as_clever(tmp_path):
    day2 = DemoDistrict(STUDENTS, day=2)
    package = read_package(write_package(day2, tmp_path / "demo.zip").path)
    users = {u["sourcedId"]: u for u in table(package, "users")}
    roles = table(package, "roles")
    by_role = {
        role: {
            r["userSourcedId"] for r in roles if r["role"] == role and r["roleType"] == "primary"
        }
        for role in ("student", "teacher")
    }
    students = clever(day2, "student")
    assert by_role["student"] == {s["id"] for s in students}
    assert by_role["teacher"] == {t["id"] for t in clever(day2, "teacher")}
    for student in students:
        user, facts = users[student["id"]], student["roles"]["student"]
        assert (user["givenName"], user["familyName"]) == (
            student["name"]["first"],
            student["name"]["last"],
        )
        assert user["identifier"] == facts["sis_id"]
        assert user["username"] == facts["credentials"]["district_username"]
        assert user["primaryOrgSourcedId"] == facts["school"]
        assert f"{{student_number:{facts['student_number']}}}" in user["userIds"]

    counts = day2.counts()
    orgs = table(package, "orgs")
    assert [o["sourcedId"] for o in orgs if o["type"] == "district"] == [DEMO_DISTRICT_ID]
    assert sum(o["type"] == "school" for o in orgs) == counts["schools"]
    assert len(table(package, "classes")) == counts["sections"]
    assert len(table(package, "academicSessions")) == counts["terms"]
    assert len(table(package, "courses")) == counts["courses"]
    assert len(table(package, "demographics")) == counts["students"]
    assert {c["sourcedId"] for c in table(package, "classes")} == {
        s["id"] for s in day2.records("sections")
    }


def test_enrollments_are_the_sections_members_but_the_unshared_student(tmp_path):
    district = DemoDistrict(STUDENTS, day=2)
    package = read_package(write_package(district, tmp_path / "demo.zip").path)
    enrollments = table(package, "enrollments")
    planted = district.planted()
    expected = Counter()
    primaries = set()
    for section in district.records("sections"):
        members = section["teachers"] + section["students"]
        expected[section["id"]] = len([m for m in members if m != planted.unshared_student])
        if section.get("teacher"):
            primaries.add((section["id"], section["teacher"]))
    assert Counter(e["classSourcedId"] for e in enrollments) == +expected
    assert {
        (e["classSourcedId"], e["userSourcedId"]) for e in enrollments if e["primary"] == "true"
    } == primaries
    assert planted.unshared_student not in {e["userSourcedId"] for e in enrollments}
    teacherless = planted.teacherless_section.record_id
    assert not [
        e for e in enrollments if e["classSourcedId"] == teacherless and e["role"] == "teacher"
    ]


def test_the_planted_problems_of_day_2_are_carried_and_fixed_on_day_3(tmp_path):
    planted = DemoDistrict(STUDENTS).planted()
    found = {}
    for day in (2, 3):
        package = read_package(
            write_package(DemoDistrict(STUDENTS, day=day), tmp_path / f"d{day}.zip").path
        )
        users = {u["sourcedId"]: u for u in table(package, "users")}
        demographics = {d["sourcedId"]: d for d in table(package, "demographics")}
        identifiers = Counter(u["identifier"] for u in users.values())
        found[day] = (
            demographics[planted.bad_dob.record_id]["birthDate"],
            users[planted.no_grade.record_id]["grades"],
            identifiers[planted.duplicate_sis_value],
        )
    month, day_of_month, year = planted.bad_dob.after.split("/")
    assert found[2] == (f"{year}-{int(month):02d}-{int(day_of_month):02d}", "", 2)
    assert found[3][0] != found[2][0] and found[3][1] and found[3][2] == 1


def test_grades_are_ceds_codes_and_homerooms_are_homeroom_classes(tmp_path):
    package = read_package(write_package(DemoDistrict(STUDENTS), tmp_path / "demo.zip").path)
    grades = {g for u in table(package, "users") for g in u["grades"].split(",") if g}
    assert grades <= {"KG", *(f"{n:02d}" for n in range(1, 13))} and "KG" in grades
    classes = table(package, "classes")
    assert {c["classType"] for c in classes if c["subjects"] == "homeroom/advisory"} == {"homeroom"}
    assert {c["classType"] for c in classes if c["subjects"] != "homeroom/advisory"} == {
        "scheduled"
    }


def test_1_1_users_carry_their_orgs_and_role(tmp_path):
    package = read_package(write_package(DemoDistrict(STUDENTS), tmp_path / "d.zip", "1.1").path)
    users = table(package, "users")
    assert {u["role"] for u in users} == {"student", "teacher"}
    assert all(u["orgSourcedIds"].startswith("5eed01") for u in users)
    assert {d["sex"] for d in table(package, "demographics")} <= {"male", "female", ""}


def test_cli_writes_the_package(tmp_path, capsys):
    out = tmp_path / "or.zip"
    code = cli.main(
        ["demo", "oneroster-zip", "--out", str(out), "--students", "150", "--day", "2", "--json"]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["status"] == "written" and out.exists()
    assert result["rows"]["users"] == len(table(read_package(out), "users"))
    assert cli.main(["demo", "oneroster-zip", "--out", str(out), "--day", "9"]) == 2


def test_a_window_is_the_slice_of_the_whole_collection():
    demo = OneRosterDemo(DemoDistrict(STUDENTS, day=2))  # day 2: withdrawn students leave gaps
    for collection in COLLECTIONS:
        whole = list(demo.records(collection))
        for offset, limit in ((0, 7), (55, 100), (len(whole) - 3, 10), (len(whole) + 5, 10)):
            assert demo.window(collection, offset, limit) == (
                len(whole),
                whole[offset : offset + limit],
            ), (collection, offset)
        for record in (whole[0], whole[-1], whole[len(whole) // 2]):
            assert demo.record(collection, record["sourcedId"]) == record
        assert demo.record(collection, "5eed06ffffffffffffffffff") is None
    students = [u for u in demo.records("users") if u["roles"][0]["role"] == "student"]
    assert demo.window("users", 190, 20, "students") == (len(students), students[190:210])


# --- the REST API ---------------------------------------------------------------------------


@pytest.fixture
def api() -> requests.Session:
    session = requests.Session()
    mount_oneroster_demo(session, DemoDistrict(STUDENTS))
    return session


def token(session: requests.Session, base: str = DEMO_ONEROSTER_TOKEN_URL, scopes: str = "") -> str:
    answer = session.post(
        base,
        auth=(DEMO_ONEROSTER_CLIENT_ID, DEMO_ONEROSTER_CLIENT_SECRET),
        data={"grant_type": "client_credentials", "scope": scopes},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "Bearer"
    return str(answer.json()["access_token"])


def walk(session: requests.Session, url: str, headers: dict[str, str]) -> tuple[list[Any], int]:
    """Follow the Link header's next from the first page; (records, pages)."""
    records, pages, envelope = [], 0, None
    next_url: str | None = url
    while next_url:
        answer = session.get(next_url, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        ((envelope_now, page),) = answer.json().items()
        assert envelope in (None, envelope_now)
        envelope = envelope_now
        records += page
        pages += 1
        total = int(answer.headers["X-Total-Count"])
        next_url = answer.links.get("next", {}).get("url")
    assert len(records) == total
    return records, pages


def test_data_endpoints_need_a_token(api):
    answer = api.get(f"{DEMO_ONEROSTER_ENDPOINT}/users", timeout=10)
    assert answer.status_code == 401
    status = answer.json()
    assert status["imsx_codeMajor"] == "failure"
    minor = status["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
    assert minor == "unauthorisedrequest"
    wrong = api.get(
        f"{DEMO_ONEROSTER_ENDPOINT}/users", headers={"Authorization": "Bearer guessed"}, timeout=10
    )
    assert wrong.status_code == 401


def test_the_token_endpoint_is_oauth2_client_credentials(api):
    form = {"grant_type": "client_credentials"}
    bad_client = api.post(DEMO_ONEROSTER_TOKEN_URL, auth=("x", "y"), data=form, timeout=10)
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"
    credentials = (DEMO_ONEROSTER_CLIENT_ID, DEMO_ONEROSTER_CLIENT_SECRET)
    bad_grant = api.post(
        DEMO_ONEROSTER_TOKEN_URL, auth=credentials, data={"grant_type": "password"}, timeout=10
    )
    assert bad_grant.json()["error"] == "unsupported_grant_type"
    bad_scope = api.post(
        DEMO_ONEROSTER_TOKEN_URL, auth=credentials, data={**form, "scope": "x"}, timeout=10
    )
    assert bad_scope.json()["error"] == "invalid_scope"
    assert token(api) == DEMO_ONEROSTER_TOKEN  # no scope asked: every scope

    core = token(api, scopes=f"{SCOPE}roster-core.readonly")
    headers = {"Authorization": f"Bearer {core}"}
    assert api.get(f"{DEMO_ONEROSTER_ENDPOINT}/users", headers=headers, timeout=10).ok
    denied = api.get(f"{DEMO_ONEROSTER_ENDPOINT}/demographics", headers=headers, timeout=10)
    assert denied.status_code == 403


def test_paging_walks_every_user_by_link_and_total(api):
    district = DemoDistrict(STUDENTS)
    users, pages = walk(api, f"{DEMO_ONEROSTER_ENDPOINT}/users?limit=37", BEARER)
    expected = [u["id"] for u in district.records("users")]
    assert [u["sourcedId"] for u in users] == expected
    assert pages == -(-len(expected) // 37)
    first = api.get(
        f"{DEMO_ONEROSTER_ENDPOINT}/users", params={"limit": 37}, headers=BEARER, timeout=10
    )
    assert set(first.links) == {"first", "next", "last"}
    last = api.get(first.links["last"]["url"], headers=BEARER, timeout=10)
    assert set(last.links) == {"first", "prev", "last"}
    assert 0 < len(last.json()["users"]) <= 37
    default = api.get(f"{DEMO_ONEROSTER_ENDPOINT}/users", headers=BEARER, timeout=10)
    assert len(default.json()["users"]) == 100  # the default page
    big = api.get(
        f"{DEMO_ONEROSTER_ENDPOINT}/users",
        params={"limit": MAX_LIMIT * 10},
        headers=BEARER,
        timeout=10,
    )
    assert len(big.json()["users"]) == len(expected)  # limits above the maximum are capped
    bad = api.get(
        f"{DEMO_ONEROSTER_ENDPOINT}/users", params={"limit": 0}, headers=BEARER, timeout=10
    )
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("path", "envelope", "count"),
    [
        ("orgs", "orgs", lambda c: c["schools"] + 1),
        ("schools", "orgs", lambda c: c["schools"]),
        ("academicSessions", "academicSessions", lambda c: c["terms"]),
        ("terms", "academicSessions", lambda c: c["terms"]),
        ("courses", "courses", lambda c: c["courses"]),
        ("classes", "classes", lambda c: c["sections"]),
        ("users", "users", lambda c: c["students"] + c["teachers"]),
        ("students", "users", lambda c: c["students"]),
        ("teachers", "users", lambda c: c["teachers"]),
        ("demographics", "demographics", lambda c: c["students"]),
    ],
)
def test_each_collection_has_its_envelope_and_count(api, path, envelope, count):
    answer = api.get(
        f"{DEMO_ONEROSTER_ENDPOINT}/{path}", params={"limit": 1}, headers=BEARER, timeout=10
    )
    assert answer.status_code == 200
    assert list(answer.json()) == [envelope]
    assert int(answer.headers["X-Total-Count"]) == count(DemoDistrict(STUDENTS).counts())


def test_a_page_of_a_million_student_district_is_rendered_alone():
    session = requests.Session()
    mount_oneroster_demo(session, DemoDistrict(1_000_000))
    started = time.perf_counter()
    answer = session.get(
        f"{DEMO_ONEROSTER_ENDPOINT}/students",
        params={"offset": 999_950, "limit": 100},
        headers=BEARER,
        timeout=10,
    )
    assert time.perf_counter() - started < 5  # the other 999,950 students are never rendered
    assert answer.headers["X-Total-Count"] == "1000000"
    assert len(answer.json()["users"]) == 50 and "next" not in answer.links


def test_rest_and_csv_carry_the_same_records(api, tmp_path):
    package = read_package(write_package(DemoDistrict(STUDENTS), tmp_path / "d.zip").path)
    enrollments, _ = walk(api, f"{DEMO_ONEROSTER_ENDPOINT}/enrollments?limit={MAX_LIMIT}", BEARER)
    assert [e["sourcedId"] for e in enrollments] == [
        e["sourcedId"] for e in table(package, "enrollments")
    ]
    students, _ = walk(api, f"{DEMO_ONEROSTER_ENDPOINT}/students?limit={MAX_LIMIT}", BEARER)
    student = students[7]
    assert student["roles"][0] == {
        "roleType": "primary",
        "role": "student",
        "org": student["primaryOrg"],
    }
    row = next(u for u in table(package, "users") if u["sourcedId"] == student["sourcedId"])
    assert row["identifier"] == student["identifier"] and row["grades"] == ",".join(
        student["grades"]
    )


def test_single_records_filters_and_unknown_paths(api):
    school = api.get(
        f"{DEMO_ONEROSTER_ENDPOINT}/schools/5eed01000000000000000001", headers=BEARER, timeout=10
    )
    assert school.json()["org"]["type"] == "school"
    district = api.get(
        f"{DEMO_ONEROSTER_ENDPOINT}/orgs/{DEMO_DISTRICT_ID}", headers=BEARER, timeout=10
    )
    assert district.json()["org"]["type"] == "district"
    not_a_school = api.get(
        f"{DEMO_ONEROSTER_ENDPOINT}/schools/{DEMO_DISTRICT_ID}", headers=BEARER, timeout=10
    )
    assert not_a_school.status_code == 404
    for path in ("nothing", "users/5eed06ffffffffffffffffff", "users/x/y/z"):
        answer = api.get(f"{DEMO_ONEROSTER_ENDPOINT}/{path}", headers=BEARER, timeout=10)
        assert answer.status_code == 404
        minor = answer.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]
        assert minor["imsx_codeMinorFieldValue"] == "unknownobject"
    teachers = api.get(
        f"{DEMO_ONEROSTER_ENDPOINT}/users",
        params={"filter": "roles.role='teacher'", "fields": "sourcedId,givenName"},
        headers=BEARER,
        timeout=10,
    )
    assert teachers.headers["X-Total-Count"] == str(DemoDistrict(STUDENTS).counts()["teachers"])
    assert set(teachers.json()["users"][0]) == {"sourcedId", "givenName"}
    bad = api.get(
        f"{DEMO_ONEROSTER_ENDPOINT}/users",
        params={"filter": "nonsense"},
        headers=BEARER,
        timeout=10,
    )
    assert bad.status_code == 400


def test_1_1_takes_oauth1_signatures_and_refuses_bad_or_replayed_ones(api):
    url = f"{DEMO_ONEROSTER_V1P1_ENDPOINT}/students"
    for method in ("HMAC-SHA1", "HMAC-SHA256"):
        auth = OAuth1(
            DEMO_ONEROSTER_CLIENT_ID, DEMO_ONEROSTER_CLIENT_SECRET, signature_method=method
        )
        answer = api.get(url, params={"limit": 3}, auth=auth, timeout=10)
        assert answer.status_code == 200, answer.text
        user = answer.json()["users"][0]
        assert user["role"] == "student" and user["orgs"][0]["href"].startswith(
            "/ims/oneroster/v1p1/"
        )
        assert "roles" not in user
    wrong = OAuth1(DEMO_ONEROSTER_CLIENT_ID, "not-the-secret")
    assert api.get(url, auth=wrong, timeout=10).status_code == 401
    assert api.get(url, timeout=10).status_code == 401
    signed = api.prepare_request(
        requests.Request(
            "GET", url, auth=OAuth1(DEMO_ONEROSTER_CLIENT_ID, DEMO_ONEROSTER_CLIENT_SECRET)
        )
    )
    assert api.send(signed, timeout=10).status_code == 200
    assert api.send(signed, timeout=10).status_code == 401  # the same nonce again


# --- over loopback --------------------------------------------------------------------------


def test_the_loopback_server_answers_plain_requests():
    with running(make_oneroster_server(DemoDistrict(STUDENTS))) as base:
        session = requests.Session()
        bearer = {"Authorization": f"Bearer {token(session, f'{base}/oauth2/token')}"}
        users, pages = walk(
            session, f"{base}/ims/oneroster/rostering/v1p2/students?limit=90", bearer
        )
        assert pages == 3 and len(users) == STUDENTS
        assert (
            session.get(f"{base}/ims/oneroster/rostering/v1p2/users", timeout=10).status_code == 401
        )
        signed = session.get(
            f"{base}/ims/oneroster/v1p1/teachers",
            params={"limit": 2},
            auth=OAuth1(DEMO_ONEROSTER_CLIENT_ID, DEMO_ONEROSTER_CLIENT_SECRET),
            timeout=10,
        )
        assert signed.status_code == 200 and len(signed.json()["users"]) == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_serve_provider_oneroster():
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mgi_roster",
            "demo",
            "serve",
            "--provider",
            "oneroster",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                bearer = {
                    "Authorization": f"Bearer {token(requests.Session(), f'{base}/oauth2/token')}"
                }
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("demo serve --provider oneroster did not start")
        answer = requests.get(
            f"{base}/ims/oneroster/rostering/v1p2/users",
            params={"limit": 5},
            headers=bearer,
            timeout=10,
        )
        assert answer.status_code == 200 and len(answer.json()["users"]) == 5
        assert answer.links["next"]["url"].startswith(f"{base}/ims/oneroster/rostering/v1p2/users?")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_fault_modes_are_refused_for_the_oneroster_server(capsys):
    argv = ["demo", "serve", "--provider", "oneroster", "--port", "0", "--fault", "5xx"]
    assert cli.main(argv) == 2
    assert "Clever's only" in capsys.readouterr().err

"""The OneRoster REST client: signatures and tokens, paging, retries, errors, landing in or_*.

HTTP is `responses`; signatures are checked with oauthlib's own verification; the client's
clock and sleep are a FakeClock, so backoff costs no time.
"""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import parse_qsl, urlsplit

import duckdb
import pytest
import requests
import responses
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from pydantic import SecretStr
from responses import matchers

from mgi_roster.errors import (
    ConfigError,
    OneRosterApiError,
    OneRosterAuthRejected,
    OneRosterRejected,
    OneRosterUnavailable,
    OneRosterUnexpected,
)
from mgi_roster.sources.http import rate_limit_delay
from mgi_roster.sources.oneroster import connection, rest, wire
from mgi_roster.sources.oneroster.files import file
from mgi_roster.sources.oneroster.rest import ApiConfig, OneRosterClient

HOST = "https://or.example.org"
V11 = f"{HOST}/ims/oneroster/v1p1"
V12 = f"{HOST}/ims/oneroster/rostering/v1p2"
TOKEN_URL = f"{HOST}/oauth/token"
SECRET = "s3cr3t-oneroster-secret"
TOKEN = "tok-0123456789abcdef"
CORE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
DEMOGRAPHICS = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly"


def config(version: str = "1.2", **options) -> ApiConfig:
    if version == "1.2":
        options.setdefault("token_url", TOKEN_URL)
    return ApiConfig(
        endpoint=HOST,
        client_id="mgi-client",
        client_secret=SecretStr(SECRET),
        version=version,  # type: ignore[arg-type]
        **options,
    )


def make_client(session, clock, version: str = "1.2", retry=None, **options) -> OneRosterClient:
    return OneRosterClient(
        config(version, **options), session, clock=clock, sleep=clock.sleep, **(retry or {})
    )


def token_answer(token: str = TOKEN, expires_in: int = 3600) -> dict:
    return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}


def add_token(token: str = TOKEN, **kw) -> None:
    responses.post(TOKEN_URL, json=token_answer(token, **kw))


def collection(
    base: str, name: str, records: list[dict], *, total: bool = True, key: str = ""
) -> None:
    """Serve `records` with real limit/offset paging (and X-Total-Count when `total`)."""

    def answer(request):
        query = dict(parse_qsl(urlsplit(request.url).query))
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 100))
        headers = {"X-Total-Count": str(len(records))} if total else {}
        body = {key or name: records[offset : offset + limit]}
        return 200, headers, json.dumps(body)

    responses.add_callback(
        responses.GET, f"{base}/{name}", callback=answer, content_type="application/json"
    )


def refs(*ids: str) -> list[dict]:
    return [{"sourcedId": i, "href": f"/x/{i}", "type": "org"} for i in ids]


# --- settings --------------------------------------------------------------------------------


def test_endpoint_gets_the_versions_base_path_unless_it_has_one():
    assert config("1.1").base_url == V11
    assert config("1.2").base_url == V12
    assert ApiConfig(V11 + "/", "id", SecretStr("s"), version="1.1").base_url == V11


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"version": "1.2", "token_url": None}, "ONEROSTER_TOKEN_URL"),
        ({"version": "2.0"}, "1.1 or 1.2"),
        ({"signature_method": "RSA-SHA1"}, "HMAC-SHA1 or HMAC-SHA256"),
        ({"endpoint": "or.example.org"}, "ONEROSTER_ENDPOINT must be an http"),
        ({"client_secret": SecretStr(" ")}, "ONEROSTER_CLIENT_SECRET"),
    ],
)
def test_bad_settings_are_named(options, said):
    values = {
        "endpoint": HOST,
        "client_id": "id",
        "client_secret": SecretStr(SECRET),
        "version": "1.1",
        **options,
    }
    with pytest.raises(ConfigError, match=said) as err:
        ApiConfig(**values)
    assert SECRET not in str(err.value)


def test_from_env_uses_the_oneroster_names():
    cfg = ApiConfig.from_env(
        {
            "ONEROSTER_ENDPOINT": HOST,
            "ONEROSTER_CLIENT_ID": "id",
            "ONEROSTER_CLIENT_SECRET": SECRET,
            "ONEROSTER_TOKEN_URL": TOKEN_URL,
        }
    )
    assert (cfg.version, cfg.token_url, cfg.oauth2) == ("1.2", TOKEN_URL, True)
    assert SECRET not in repr(cfg)
    signed = ApiConfig.from_env(
        {
            "ONEROSTER_ENDPOINT": HOST,
            "ONEROSTER_CLIENT_ID": "id",
            "ONEROSTER_CLIENT_SECRET": SECRET,
            "ONEROSTER_SIGNATURE_METHOD": "hmac-sha1",
        }
    )
    assert (signed.version, signed.signature_method, signed.oauth2) == ("1.1", "HMAC-SHA1", False)


# --- OAuth 1.0a (1.1) ------------------------------------------------------------------------


def verify_oauth1(request: requests.PreparedRequest, method: str) -> dict[str, str]:
    """Check the request's OAuth 1.0a signature with oauthlib's own verification."""
    header = request.headers["Authorization"]
    header = header.decode() if isinstance(header, bytes) else header
    assert header.startswith("OAuth ")
    params = oauth_signature.collect_parameters(
        uri_query=urlsplit(request.url).query, headers={"Authorization": header}
    )
    oauth = dict(
        oauth_signature.collect_parameters(
            headers={"Authorization": header}, exclude_oauth_signature=False
        )
    )
    checked = OAuthRequest(request.url, http_method=request.method, headers=request.headers)
    checked.params = params
    checked.signature = oauth["oauth_signature"]
    verify = {
        "HMAC-SHA1": oauth_signature.verify_hmac_sha1,
        "HMAC-SHA256": oauth_signature.verify_hmac_sha256,
    }[method]
    assert verify(checked, client_secret=SECRET)
    assert not verify(checked, client_secret="wrong-secret")
    return oauth


@pytest.mark.parametrize("method", ["HMAC-SHA1", "HMAC-SHA256"])
@responses.activate
def test_oauth1_requests_are_signed(session, clock, method):
    collection(V11, "orgs", [{"sourcedId": "d1", "type": "district"}])
    client = make_client(session, clock, "1.1", signature_method=method)
    pages = list(client.pages("orgs"))
    assert [p.count for p in pages] == [1]
    sent = responses.calls[0].request
    oauth = verify_oauth1(sent, method)
    assert oauth["oauth_signature_method"] == method
    assert oauth["oauth_consumer_key"] == "mgi-client"
    assert dict(parse_qsl(urlsplit(sent.url).query)) == {"limit": "1000", "offset": "0"}
    assert SECRET.encode() not in sent.headers["Authorization"]


@responses.activate
def test_oauth1_401_names_the_signature_method(session, clock, caplog):
    responses.get(
        f"{V11}/orgs",
        status=401,
        json={
            "imsx_codeMajor": "failure",
            "imsx_severity": "error",
            "imsx_description": f"bad signature for secret {SECRET}",
            "imsx_CodeMinor": {
                "imsx_codeMinorField": [
                    {
                        "imsx_codeMinorFieldName": "TargetEndSystem",
                        "imsx_codeMinorFieldValue": "unauthorisedrequest",
                    }
                ]
            },
        },
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(OneRosterAuthRejected) as err:
        list(make_client(session, clock, "1.1").pages("orgs"))
    said = str(err.value)
    assert "check the Client ID and Secret" in said.replace("Check", "check")
    assert "HMAC-SHA1" in said and "unauthorisedrequest" in said
    assert SECRET not in said and SECRET not in caplog.text
    assert len(responses.calls) == 1  # a signature is not retried


# --- OAuth 2.0 client credentials (1.2) ------------------------------------------------------


@responses.activate
def test_oauth2_token_request_and_bearer_header(session, clock):
    responses.post(
        TOKEN_URL,
        json=token_answer(),
        match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "client_credentials", "scope": f"{CORE} {DEMOGRAPHICS}"}
            )
        ],
    )
    collection(V12, "orgs", [{"sourcedId": "d1"}])
    collection(V12, "classes", [{"sourcedId": "c1"}])
    client = make_client(session, clock)
    list(client.pages("orgs"))
    list(client.pages("classes"))
    token_call, *api_calls = responses.calls
    basic = token_call.request.headers["Authorization"]
    assert basic == "Basic " + base64.b64encode(f"mgi-client:{SECRET}".encode()).decode()
    assert [c.request.headers["Authorization"] for c in api_calls] == [f"Bearer {TOKEN}"] * 2
    assert len(responses.calls) == 3  # the token is fetched once and cached


@responses.activate
def test_oauth2_token_fetched_again_when_it_expires(session, clock):
    add_token("first", expires_in=600)
    add_token("second")
    collection(V12, "orgs", [{"sourcedId": "d1"}])
    client = make_client(session, clock)
    list(client.pages("orgs"))
    clock.now += 590  # inside the minute before expiry
    list(client.pages("orgs"))
    bearers = [
        c.request.headers["Authorization"] for c in responses.calls if "orgs" in c.request.url
    ]
    assert bearers == ["Bearer first", "Bearer second"]


@responses.activate
def test_oauth2_token_refreshed_once_on_401(session, clock):
    add_token("stale")
    add_token("fresh")
    responses.get(f"{V12}/orgs", status=401, json={"imsx_codeMajor": "failure"})
    collection(V12, "orgs", [{"sourcedId": "d1"}])
    pages = list(make_client(session, clock).pages("orgs"))
    assert pages[0].count == 1
    bearers = [
        c.request.headers["Authorization"] for c in responses.calls if "orgs" in c.request.url
    ]
    assert bearers == ["Bearer stale", "Bearer fresh"]


@responses.activate
def test_oauth2_401_twice_says_check_the_client_id_and_secret(session, clock, caplog):
    add_token()
    responses.get(f"{V12}/orgs", status=401, json={"imsx_description": f"token {TOKEN} rejected"})
    with caplog.at_level(logging.DEBUG), pytest.raises(OneRosterAuthRejected) as err:
        list(make_client(session, clock).pages("orgs"))
    said = str(err.value)
    assert "Check the Client ID and Secret" in said
    assert TOKEN not in said and SECRET not in said and TOKEN not in caplog.text
    assert sum("orgs" in c.request.url for c in responses.calls) == 2


@pytest.mark.parametrize(
    ("status", "body", "error", "said"),
    [
        (
            401,
            {"error": "invalid_client"},
            OneRosterAuthRejected,
            "refused the Client ID and Secret",
        ),
        (400, {"error": "invalid_client"}, OneRosterAuthRejected, "ONEROSTER_CLIENT_SECRET"),
        (404, {}, OneRosterRejected, "no token endpoint"),
        (200, {"token_type": "bearer"}, OneRosterUnexpected, "without an access token"),
    ],
)
@responses.activate
def test_token_endpoint_failures_are_named(session, clock, caplog, status, body, error, said):
    responses.post(TOKEN_URL, status=status, json=body)
    with caplog.at_level(logging.DEBUG), pytest.raises(error, match=said) as err:
        list(make_client(session, clock).pages("orgs"))
    assert SECRET not in str(err.value) and SECRET not in caplog.text


@responses.activate
def test_invalid_scope_asks_again_without_demographics(session, clock):
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_scope"})
    responses.post(
        TOKEN_URL,
        json=token_answer(),
        match=[
            matchers.urlencoded_params_matcher({"grant_type": "client_credentials", "scope": CORE})
        ],
    )
    collection(V12, "orgs", [{"sourcedId": "d1"}])
    assert len(list(make_client(session, clock).pages("orgs"))) == 1


@responses.activate
def test_oauth2_also_serves_a_11_provider_with_a_token_url(session, clock):
    add_token()
    collection(V11, "orgs", [{"sourcedId": "d1"}])
    client = make_client(session, clock, "1.1", token_url=TOKEN_URL)
    list(client.pages("orgs"))
    assert "roster-core.readonly" in responses.calls[0].request.body
    assert "v1p1" in responses.calls[0].request.body
    assert responses.calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"


# --- paging ----------------------------------------------------------------------------------


def orgs(*ids: str) -> dict:
    return {"orgs": [{"sourcedId": i, "name": f"Org {i}", "type": "school"} for i in ids]}


@responses.activate
def test_paging_follows_link_next(session, clock):
    add_token()
    responses.get(
        f"{V12}/orgs",
        json=orgs("a", "b"),
        headers={
            "Link": f'<{V12}/orgs?limit=2&offset=2>; rel="next", <{V12}/orgs?limit=2&offset=4>; rel="last"'
        },
        match=[matchers.query_param_matcher({"limit": "2", "offset": "0"})],
    )
    responses.get(
        f"{V12}/orgs",
        json=orgs("c", "d"),
        headers={"Link": '</ims/oneroster/rostering/v1p2/orgs?limit=2&offset=4>; rel="next"'},
        match=[matchers.query_param_matcher({"limit": "2", "offset": "2"})],
    )
    responses.get(
        f"{V12}/orgs",
        json=orgs("e"),
        match=[matchers.query_param_matcher({"limit": "2", "offset": "4"})],
    )
    pages = list(make_client(session, clock, page_size=2).pages("orgs"))
    assert [p.count for p in pages] == [2, 2, 1]


@responses.activate
def test_paging_by_total_count_advances_by_what_came(session, clock):
    # The provider caps the page at 2 records although 3 were asked for: a short page is not
    # the last one, X-Total-Count says when to stop.
    add_token()
    for offset, ids in ((0, ("a", "b")), (2, ("c", "d")), (4, ("e",))):
        responses.get(
            f"{V12}/orgs",
            json=orgs(*ids),
            headers={"X-Total-Count": "5"},
            match=[matchers.query_param_matcher({"limit": "3", "offset": str(offset)})],
        )
    pages = list(make_client(session, clock, page_size=3).pages("orgs"))
    assert [p.count for p in pages] == [2, 2, 1]
    assert pages[0].total == 5
    assert len(responses.calls) == 4  # token + three pages, no request past the total


@responses.activate
def test_paging_without_hints_stops_on_an_empty_page(session, clock):
    add_token()
    for offset, ids in ((0, ("a", "b")), (2, ("c",)), (3, ())):
        responses.get(
            f"{V12}/orgs",
            json=orgs(*ids),
            match=[matchers.query_param_matcher({"limit": "2", "offset": str(offset)})],
        )
    pages = list(make_client(session, clock, page_size=2).pages("orgs"))
    assert [p.count for p in pages] == [2, 1]


@responses.activate
def test_paging_is_bounded(session, clock):
    add_token()
    served = iter(range(1, 100))

    def endless(request):  # a provider whose next links never end
        link = f'<{V12}/orgs?page={next(served)}>; rel="next"'
        return 200, {"Link": link}, json.dumps(orgs("a"))

    responses.add_callback(
        responses.GET, f"{V12}/orgs", callback=endless, content_type="application/json"
    )
    with pytest.raises(OneRosterUnexpected, match="after 3 pages"):
        list(make_client(session, clock, max_pages=3).pages("orgs"))


@responses.activate
def test_a_next_link_to_the_same_page_is_named(session, clock):
    add_token()
    same = f"{V12}/orgs?limit=1&offset=1"
    responses.get(f"{V12}/orgs", json=orgs("a"), headers={"Link": f'<{same}>; rel="next"'})
    with pytest.raises(OneRosterUnexpected, match="points to the page it came with"):
        list(make_client(session, clock).pages("orgs"))
    assert len(responses.calls) == 3  # token, the first page, the linked page once


@responses.activate
def test_a_server_ignoring_offset_is_named(session, clock):
    add_token()
    responses.get(f"{V12}/orgs", json=orgs("a", "b"))
    with pytest.raises(OneRosterUnexpected, match="ignores the offset"):
        list(make_client(session, clock, page_size=2).pages("orgs"))


@responses.activate
def test_next_link_to_another_host_is_refused(session, clock):
    add_token()
    responses.get(
        f"{V12}/orgs", json=orgs("a"), headers={"Link": '<https://evil.example/orgs>; rel="next"'}
    )
    with pytest.raises(OneRosterUnexpected, match="another host"):
        list(make_client(session, clock).pages("orgs"))


# --- retries and errors ----------------------------------------------------------------------


@responses.activate
def test_429_honours_retry_after_then_succeeds(session, clock):
    add_token()
    responses.get(f"{V12}/orgs", status=429, headers={"Retry-After": "7"}, json={})
    collection(V12, "orgs", orgs("a")["orgs"])
    assert len(list(make_client(session, clock).pages("orgs"))) == 1
    assert clock.sleeps == [7.5]


@responses.activate
def test_500_three_times_fails_with_a_sentence(session, clock):
    add_token()
    responses.get(f"{V12}/orgs", status=500, json={"imsx_codeMajor": "failure"})
    with pytest.raises(OneRosterUnavailable, match="HTTP 500 .* 3 times in a row. The provider"):
        list(make_client(session, clock, retry={"max_retries": 2}).pages("orgs"))
    assert clock.sleeps == [1.0, 2.0]
    assert sum("orgs" in c.request.url for c in responses.calls) == 3


@responses.activate
def test_403_and_imsx_payload_become_a_message(session, clock):
    add_token()
    responses.get(
        f"{V12}/classes",
        status=403,
        json={
            "imsx_StatusInfo": {
                "imsx_codeMajor": "failure",
                "imsx_severity": "error",
                "imsx_description": "Client may not read classes",
                "imsx_CodeMinor": {
                    "imsx_codeMinorField": [{"imsx_codeMinorFieldValue": "forbidden"}]
                },
            }
        },
    )
    with pytest.raises(OneRosterRejected) as err:
        list(make_client(session, clock).pages("classes"))
    assert err.value.status == 403
    assert str(err.value).startswith(
        "The OneRoster API does not let this Client ID read the classes"
    )
    assert 'failure, forbidden, "Client may not read classes"' in str(err.value)


@responses.activate
def test_404_on_a_collection_asks_about_the_endpoint(session, clock):
    add_token()
    responses.get(f"{V12}/orgs", status=404, body="Not Found", content_type="text/plain")
    with pytest.raises(OneRosterRejected, match="Is the endpoint right"):
        list(make_client(session, clock).pages("orgs"))


@responses.activate
def test_html_instead_of_json(session, clock):
    add_token()
    responses.get(f"{V12}/orgs", body="<html>sign in</html>", content_type="text/html")
    with pytest.raises(OneRosterUnexpected, match="an HTML page instead of JSON"):
        list(make_client(session, clock).pages("orgs"))


@responses.activate
def test_wrong_envelope(session, clock):
    add_token()
    responses.get(f"{V12}/orgs", json={"data": [{"id": "x"}]})
    with pytest.raises(
        OneRosterUnexpected, match=r'expected \{"orgs": \[...\]\}, found an object with data'
    ):
        list(make_client(session, clock).pages("orgs"))


@responses.activate
def test_status_in_a_200_body(session, clock):
    add_token()
    responses.get(
        f"{V12}/orgs", json={"imsx_codeMajor": "failure", "imsx_description": "server_busy"}
    )
    with pytest.raises(OneRosterUnexpected, match="a status instead of the orgs"):
        list(make_client(session, clock).pages("orgs"))


@responses.activate
def test_truncated_json_is_retried(session, clock):
    add_token()
    responses.get(f"{V12}/orgs", body='{"orgs": [{"sourc', content_type="application/json")
    collection(V12, "orgs", orgs("a")["orgs"])
    assert len(list(make_client(session, clock).pages("orgs"))) == 1


# --- landing ---------------------------------------------------------------------------------

# fmt: off
# One small district in REST shapes; `refs` makes the GUIDRef objects ({sourcedId, href, type}).
ORG_12 = [
    {"sourcedId": "d1", "status": "active", "dateLastModified": "2024-08-01T00:00:00Z",
     "name": "Maple USD", "type": "district", "identifier": "0601"},
    {"sourcedId": "s1", "status": "active", "dateLastModified": "2024-08-01T00:00:00Z",
     "name": "Maple Elementary", "type": "school", "identifier": "", "parent": refs("d1")[0]},
]
SESSIONS = [
    {"sourcedId": "y1", "status": "active", "dateLastModified": "2024-08-01", "title": "2024-25",
     "type": "schoolYear", "startDate": "2024-08-15", "endDate": "2025-06-10", "schoolYear": 2025},
    {"sourcedId": "t1", "status": "active", "dateLastModified": "2024-08-01", "title": "Fall",
     "type": "term", "startDate": "2024-08-15", "endDate": "2024-12-20",
     "parent": refs("y1")[0], "schoolYear": "2025"},
]
COURSES = [
    {"sourcedId": "co1", "status": "active", "dateLastModified": "2024-08-01", "title": "Grade 3",
     "courseCode": "G3", "grades": ["03"], "org": refs("s1")[0], "schoolYear": refs("y1")[0],
     "subjects": ["homeroom"], "subjectCodes": []},
]
CLASSES = [
    {"sourcedId": "c1", "status": "active", "dateLastModified": "2024-08-01", "title": "3A",
     "classType": "homeroom", "course": refs("co1")[0], "school": refs("s1")[0],
     "terms": refs("y1", "t1"), "grades": ["03", "04"], "periods": ["1", "3"],
     "subjects": "math,reading", "metadata": {"ext": 1}},
]
ENROLLMENTS = [
    {"sourcedId": "e1", "status": "active", "dateLastModified": "2024-08-01", "role": "student",
     "primary": False, "user": refs("u1")[0], "class": refs("c1")[0], "school": refs("s1")[0],
     "beginDate": "2024-08-15"},
    {"sourcedId": "e2", "status": "active", "dateLastModified": "2024-08-01", "role": "teacher",
     "primary": "TRUE", "user": refs("u2")[0], "class": refs("c1")[0], "school": refs("s1")[0]},
]
USERS_12 = [
    {"sourcedId": "u1", "status": "active", "dateLastModified": "2024-08-01", "enabledUser": True,
     "username": "ada",
     "userIds": [{"type": "sis", "identifier": "1001"}, {"type": "state", "identifier": "CA9"}],
     "givenName": "Ada", "familyName": "Lovelace", "middleName": "",
     "preferredFirstName": "Addie", "preferredLastName": "L", "identifier": "1001",
     "grades": ["03"], "primaryOrg": refs("s1")[0], "agents": [],
     "roles": [
         {"roleType": "primary", "role": "student", "org": refs("s1")[0], "beginDate": "2024-08-15"},
         {"roleType": "secondary", "role": "student", "org": refs("d1")[0]},
     ]},
    {"sourcedId": "u2", "status": "active", "dateLastModified": "2024-08-01",
     "enabledUser": "true", "username": "tess", "givenName": "Tess", "familyName": "Teacher",
     "email": "t@maple.org", "roles": [{"roleType": "primary", "role": "teacher", "org": refs("s1")[0]}]},
]
USERS_11 = [
    {"sourcedId": "u1", "status": "active", "dateLastModified": "2024-08-01",
     "enabledUser": "true", "orgs": refs("s1", "d1"), "role": "student", "username": "ada",
     "userIds": [{"type": "sis", "identifier": "1001"}], "givenName": "Ada",
     "familyName": "Lovelace", "grades": ["03"], "agents": refs("p1")},
]
DEMOGRAPHICS_ROWS = [
    {"sourcedId": "u1", "status": "active", "dateLastModified": "2024-08-01",
     "birthDate": "2016-02-03", "sex": "female", "asian": True, "white": "false",
     "hispanicOrLatinoEthnicity": False},
]
# fmt: on


def serve(
    base: str, users: list[dict], *, demographics: int = 200, org_records: list[dict] = ORG_12
) -> None:
    answers = {
        "orgs": org_records,
        "academicSessions": SESSIONS,
        "courses": COURSES,
        "classes": CLASSES,
        "users": users,
        "enrollments": ENROLLMENTS,
    }
    for name, records in answers.items():
        collection(base, name, records)
    if demographics == 200:
        collection(base, "demographics", DEMOGRAPHICS_ROWS)
    else:
        responses.get(
            f"{base}/demographics", status=demographics, json={"imsx_codeMajor": "failure"}
        )


def rows(con, name: str) -> list[dict]:
    raw = file(name)
    cursor = con.execute(f"SELECT * FROM {raw.table} ORDER BY sourcedId")
    names = [d[0] for d in cursor.description]
    return [
        {k: v for k, v in zip(names, row, strict=True) if v is not None}
        for row in cursor.fetchall()
    ]


@responses.activate
def test_land_12_fills_the_raw_tables_with_csv_columns(session, clock):
    add_token()
    serve(V12, USERS_12)
    con = duckdb.connect()
    seen = []
    assert rest.land(con, make_client(session, clock), seen.append) == "1.2"

    assert rows(con, "orgs")[1] == {
        "sourcedId": "s1",
        "status": "active",
        "dateLastModified": "2024-08-01T00:00:00Z",
        "name": "Maple Elementary",
        "type": "school",
        "parentSourcedId": "d1",
    }
    assert rows(con, "academicSessions")[0]["parentSourcedId"] == "y1"
    assert rows(con, "academicSessions")[1]["schoolYear"] == "2025"
    assert rows(con, "courses")[0] == {
        "sourcedId": "co1",
        "status": "active",
        "dateLastModified": "2024-08-01",
        "schoolYearSourcedId": "y1",
        "title": "Grade 3",
        "courseCode": "G3",
        "grades": "03",
        "orgSourcedId": "s1",
        "subjects": "homeroom",
    }
    assert rows(con, "classes")[0] == {
        "sourcedId": "c1",
        "status": "active",
        "dateLastModified": "2024-08-01",
        "title": "3A",
        "grades": "03,04",
        "courseSourcedId": "co1",
        "classType": "homeroom",
        "schoolSourcedId": "s1",
        "termSourcedIds": "y1,t1",
        "subjects": "math,reading",
        "periods": "1,3",
    }
    ada, tess = rows(con, "users")
    assert ada == {
        "sourcedId": "u1",
        "status": "active",
        "dateLastModified": "2024-08-01",
        "enabledUser": "true",
        "username": "ada",
        "userIds": "{sis:1001},{state:CA9}",
        "givenName": "Ada",
        "familyName": "Lovelace",
        "identifier": "1001",
        "grades": "03",
        "preferredGivenName": "Addie",
        "preferredFamilyName": "L",
        "primaryOrgSourcedId": "s1",
    }
    assert tess["enabledUser"] == "true" and "role" not in tess and "orgSourcedIds" not in tess
    assert [
        (r["userSourcedId"], r["roleType"], r["role"], r["orgSourcedId"], r.get("beginDate"))
        for r in rows(con, "roles")
    ] == [
        ("u1", "secondary", "student", "d1", None),
        ("u1", "primary", "student", "s1", "2024-08-15"),
        ("u2", "primary", "teacher", "s1", None),
    ]
    assert {r["sourcedId"] for r in rows(con, "roles")} == {
        "u1.d1.student",
        "u1.s1.student",
        "u2.s1.teacher",
    }
    e1, e2 = rows(con, "enrollments")
    assert (
        e1["classSourcedId"],
        e1["schoolSourcedId"],
        e1["userSourcedId"],
        e1["role"],
        e1["primary"],
    ) == (
        "c1",
        "s1",
        "u1",
        "student",
        "false",
    )
    assert e2["primary"] == "true"
    (demo,) = rows(con, "demographics")
    assert (demo["asian"], demo["white"], demo["hispanicOrLatinoEthnicity"], demo["sex"]) == (
        "true",
        "false",
        "false",
        "female",
    )
    done = [p.collection for p in seen if p.done]
    assert done == list(wire.FETCHED)
    # every raw table has exactly the columns the CSV reader's tables have
    for raw in wire.ALL_TABLES:
        columns = [r[0] for r in con.execute(f"DESCRIBE {raw.table}").fetchall()]
        assert tuple(columns) == raw.raw_columns


@responses.activate
def test_land_11_user_role_and_orgs(session, clock):
    serve(V11, USERS_11, demographics=404)
    con = duckdb.connect()
    seen = []
    assert rest.land(con, make_client(session, clock, "1.1"), seen.append) == "1.1"
    (ada,) = rows(con, "users")
    assert (ada["role"], ada["orgSourcedIds"], ada["agentSourcedIds"], ada["userIds"]) == (
        "student",
        "s1,d1",
        "p1",
        "{sis:1001}",
    )
    assert "primaryOrgSourcedId" not in ada
    assert rows(con, "roles") == [] and rows(con, "demographics") == []
    skipped = [p for p in seen if p.skipped]
    assert [p.collection for p in skipped] == ["demographics"]
    assert "HTTP 404" in (skipped[0].skipped or "")


@responses.activate
def test_land_fails_when_a_required_collection_is_forbidden(session, clock):
    add_token()
    responses.get(f"{V12}/orgs", status=403, json={})
    with pytest.raises(OneRosterRejected, match="read the orgs"):
        rest.land(duckdb.connect(), make_client(session, clock))


@responses.activate
def test_land_keeps_a_record_seen_twice_once(session, clock):
    add_token()
    serve(V12, USERS_12, org_records=[*ORG_12, ORG_12[0]])
    con = duckdb.connect()
    con.execute(file("orgs").create_sql())
    con.execute("INSERT INTO or_orgs (sourcedId) VALUES ('left over')")
    rest.land(con, make_client(session, clock))
    assert [r["sourcedId"] for r in rows(con, "orgs")] == ["d1", "s1"]


@responses.activate
def test_land_pages_through_and_reports_progress(session, clock):
    # One record a page; the provider's data shifted under the offset, so s1 comes twice.
    add_token()
    serve(V12, USERS_12, org_records=[ORG_12[0], ORG_12[1], ORG_12[1]])
    con = duckdb.connect()
    seen: list[rest.LandProgress] = []
    rest.land(con, make_client(session, clock, page_size=1), seen.append)
    assert [r["sourcedId"] for r in rows(con, "orgs")] == ["d1", "s1"]
    orgs_seen = [(p.pages, p.records, p.total, p.done) for p in seen if p.collection == "orgs"]
    assert orgs_seen == [(1, 1, 3, False), (2, 2, 3, False), (3, 3, 3, False), (3, 3, 3, True)]
    assert len(rows(con, "roles")) == 3


# --- Test Connection -------------------------------------------------------------------------


@responses.activate
def test_check_connection_reports_district_counts_and_version(session, clock):
    add_token()
    serve(V12, USERS_12, demographics=403)
    for name in ("students", "teachers"):
        collection(V12, name, USERS_12[:1], key="users")
    found = connection.check_connection(make_client(session, clock))
    assert [d.sourced_id for d in found.districts] == ["d1"]
    assert found.districts[0].name == "Maple USD"
    assert [s.sourced_id for s in found.schools] == ["s1"]
    assert found.counts["classes"] == 1 and found.counts["users"] == 2
    assert found.counts["students"] == 1 and found.counts["demographics"] is None
    assert (found.version, found.version_served, found.version_note) == ("1.2", "1.2", None)
    assert json.loads(json.dumps(found.as_dict()))["districts"][0]["sourced_id"] == "d1"
    assert found.auth == "OAuth 2.0 client credentials"
    counted = [c.request for c in responses.calls if "limit=1&" in (c.request.url or "")]
    assert len(counted) == len(connection.COUNTED)


@responses.activate
def test_check_connection_notices_a_11_shape_on_a_12_setting(session, clock):
    add_token()
    serve(V12, USERS_11)
    for name in ("students", "teachers"):
        collection(V12, name, [], key="users", total=False)
    found = connection.check_connection(make_client(session, clock))
    assert found.version_served == "1.1"
    assert "ONEROSTER_VERSION=1.1" in (found.version_note or "")
    assert found.counts["students"] is None  # no X-Total-Count: not said


@pytest.mark.parametrize("scenario", ["token-echo", "api-echo", "busy", "html", "signed-echo"])
@responses.activate
def test_secret_and_token_never_reach_a_message_or_a_log(session, clock, caplog, scenario):
    echo = {"imsx_codeMajor": "failure", "imsx_description": f"got {SECRET} and {TOKEN}"}
    if scenario == "token-echo":
        responses.post(
            TOKEN_URL, status=401, json={"error": "invalid_client", "error_description": SECRET}
        )
    else:
        add_token()
    if scenario == "api-echo":
        responses.get(f"{V12}/orgs", status=403, json=echo)
    if scenario == "busy":
        responses.get(f"{V12}/orgs", status=503, json=echo)
    if scenario == "html":
        responses.get(f"{V12}/orgs", body=f"<html>{SECRET}</html>", content_type="text/html")
    if scenario == "signed-echo":
        responses.get(f"{V11}/orgs", status=401, json=echo)
    version = "1.1" if scenario == "signed-echo" else "1.2"
    with caplog.at_level(logging.DEBUG), pytest.raises(Exception) as err:
        list(make_client(session, clock, version, retry={"max_retries": 1}).pages("orgs"))
    shown = f"{err.value} {err.value!r} {err.value.args} {caplog.text}"
    assert SECRET not in shown
    if version == "1.2":  # a signed request has no token: the echo is just text
        assert TOKEN not in shown
    assert isinstance(err.value, OneRosterApiError)


def test_retry_after_as_an_http_date():
    response = requests.Response()
    response.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:30 GMT"
    now = 1445412480.0  # 07:28:00
    assert rate_limit_delay(response, now) == 30.5


def test_secret_not_in_reprs(session, clock):
    client = make_client(session, clock)
    signed = make_client(session, clock, "1.1")
    for shown in (
        repr(client),
        repr(client.config),
        repr(signed),
        repr(signed._credentials),
        repr(client._credentials),
    ):
        assert SECRET not in shown


def test_every_csv_column_has_a_rest_reading():
    # A REST_FIELDS entry must name a column of the file (a typo would silently read nothing).
    for name, reads in wire.REST_FIELDS.items():
        assert set(reads) <= set(file(name).raw_columns), name

"""The Clever client against `responses`-mocked HTTP and real recorded Clever answers."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from responses import matchers

from mgi_roster.errors import (
    BadAppCredentials,
    CleverUnavailable,
    ConfigError,
    DistrictIdError,
    DistrictNotFound,
    RequestRejected,
    RosteringNotAccepted,
    TokenRevoked,
    UnexpectedResponse,
)
from mgi_roster.settings import CleverSettings
from mgi_roster.sources import clever
from mgi_roster.sources.clever import CleverClient, Http
from tests.support import API, OAUTH, recorded_body, recorded_interactions

DISTRICT = "58da8a43cc70ab00017a1a87"  # the recorded demo district
SECRET = "s3cr3t-client-secret"
TOKEN = "tok-abcdef0123456789"
APP = CleverSettings(client_id="app-id", client_secret=SECRET)


def make_client(session, clock, **options) -> CleverClient:
    http = Http(session, clock=clock, sleep=clock.sleep, **options)
    return CleverClient(http, TOKEN, api_base=API)


def envelope(path: str, records: list[dict], next_uri: str | None = None) -> dict:
    links = [{"rel": "self", "uri": path}]
    if next_uri:
        links.append({"rel": "next", "uri": next_uri})
    return {"data": [{"data": r, "uri": f"{path}/{r['id']}"} for r in records], "links": links}


def ids(n: int, start: int = 0) -> list[dict]:
    return [{"id": f"{i:024x}"} for i in range(start, start + n)]


# --- District ID ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [DISTRICT, DISTRICT.upper(), f"  {DISTRICT}\n"])
def test_district_id_accepts_24_hex(value):
    assert clever.check_district_id(value) == DISTRICT


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("", "Enter the Clever District ID"),
        ("58da8a43cc70ab00017a1a8", "23 characters"),
        ("58da8a43cc70ab00017a1a87a", "25 characters"),
        ("58da8a43cc70ab00017a1a8z", "'z'"),
        ("Maple Valley Unified", "not its name or URL"),
    ],
)
def test_district_id_rejected_before_any_call(value, said):
    # An active mock with nothing registered: any HTTP call would fail the test.
    with responses.RequestsMock(), pytest.raises(DistrictIdError, match=said):
        clever.check_connection(value, APP, session=requests.Session())


# --- settings -------------------------------------------------------------------------------


def test_settings_from_env_and_secrets_hidden_in_repr(monkeypatch):
    for name, value in {
        "CLEVER_CLIENT_ID": "app-id",
        "CLEVER_CLIENT_SECRET": SECRET,
        "CLEVER_API_BASE": "http://127.0.0.1:8765/",
        "CLEVER_DISTRICT_TOKEN": TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    settings = CleverSettings.from_env()
    assert settings.api_base == "http://127.0.0.1:8765"
    assert settings.oauth_base == "https://clever.com"
    assert not settings.is_demo
    assert SECRET not in repr(settings) and TOKEN not in repr(settings)


def test_no_configuration_means_demo(monkeypatch):
    assert CleverSettings.from_env().is_demo
    monkeypatch.setenv("CLEVER_CLIENT_ID", " ")
    assert CleverSettings.from_env().is_demo


def test_half_configured_credentials_are_a_clear_error(monkeypatch):
    monkeypatch.setenv("CLEVER_CLIENT_ID", "app-id")
    with pytest.raises(ConfigError, match="CLEVER_CLIENT_SECRET is not set"):
        CleverSettings.from_env()


# --- token lookup ---------------------------------------------------------------------------


@responses.activate
def test_token_found_with_basic_auth_and_district_filter(session, clock):
    body = recorded_body("authentication__tokens")
    body["data"][0]["access_token"] = TOKEN
    responses.get(
        f"{OAUTH}/oauth/tokens",
        json=body,
        match=[matchers.query_param_matcher({"owner_type": "district", "district": DISTRICT})],
    )
    token = clever.find_district_token(Http(session, clock=clock, sleep=clock.sleep), APP, DISTRICT)
    assert token.token == TOKEN
    assert token.source == "app credentials"
    assert "read:students_basic" in token.scopes
    sent = responses.calls[0].request.headers["Authorization"]
    assert sent.startswith("Basic ")
    assert TOKEN not in repr(token)


@responses.activate
def test_no_token_means_rostering_request_not_accepted(session, clock):
    responses.get(f"{OAUTH}/oauth/tokens", json={"data": [], "links": []})
    with pytest.raises(
        RosteringNotAccepted, match="has not accepted the MGI's rostering request"
    ) as err:
        clever.find_district_token(Http(session, clock=clock, sleep=clock.sleep), APP, DISTRICT)
    assert DISTRICT in str(err.value)


@responses.activate
def test_token_of_another_district_is_not_taken(session, clock):
    body = recorded_body("authentication__tokens")  # three districts; none is ours
    responses.get(f"{OAUTH}/oauth/tokens", json=body)
    with pytest.raises(RosteringNotAccepted):
        clever.find_district_token(Http(session, clock=clock, sleep=clock.sleep), APP, "0" * 24)


@responses.activate
def test_bad_app_credentials(session, clock):
    responses.get(f"{OAUTH}/oauth/tokens", status=401, json={"error": "invalid_client"})
    with pytest.raises(BadAppCredentials, match="CLEVER_CLIENT_ID and CLEVER_CLIENT_SECRET") as err:
        clever.find_district_token(Http(session, clock=clock, sleep=clock.sleep), APP, DISTRICT)
    assert SECRET not in str(err.value)
    assert len(responses.calls) == 1  # 401 is never retried


def test_district_token_from_settings_needs_no_lookup(session, clock):
    settings = CleverSettings(district_token=TOKEN)
    with responses.RequestsMock():
        token = clever.find_district_token(Http(session), settings, DISTRICT)
    assert token.token == TOKEN and token.source == "CLEVER_DISTRICT_TOKEN"


# --- Test Connection ------------------------------------------------------------------------


@responses.activate
def test_check_connection_returns_the_recorded_district(session, clock):
    responses.get(
        f"{OAUTH}/oauth/tokens",
        json={
            "data": [
                {"owner": {"type": "district", "id": DISTRICT}, "access_token": TOKEN, "scopes": []}
            ]
        },
    )
    responses.get(f"{API}/v3.0/districts", json=recorded_body("client__districts"))
    connection = clever.check_connection(
        DISTRICT, APP, session=session, clock=clock, sleep=clock.sleep
    )
    district = connection.district
    assert district.id == DISTRICT
    assert district.name == "#DEMO Certification ISD - Events"
    assert district.sis_type == "sftp"
    assert district.state == "running"
    assert district.last_sync == "2023-04-23T16:08:05.652Z"
    assert district.error is None  # "" means missing
    assert connection.token_source == "app credentials"
    assert responses.calls[1].request.headers["Authorization"] == f"Bearer {TOKEN}"


@responses.activate
def test_check_connection_with_a_token_of_another_district(session, clock):
    responses.get(f"{API}/v3.0/districts", json=recorded_body("client__districts"))
    with pytest.raises(DistrictNotFound, match="belongs to district"):
        clever.check_connection("a" * 24, CleverSettings(district_token=TOKEN), session=session)


@responses.activate
def test_revoked_token(session, clock):
    responses.get(f"{API}/v3.0/districts", status=401, json={"error": "Unauthorized"})
    with pytest.raises(TokenRevoked, match="reconnect") as err:
        make_client(session, clock).district()
    assert TOKEN not in str(err.value)
    assert len(responses.calls) == 1


# --- paging ---------------------------------------------------------------------------------


@responses.activate
def test_pages_follow_relative_next_links_and_stop_at_empty_page(session, clock):
    first, second = ids(3), ids(3, start=3)
    responses.get(
        f"{API}/v3.0/users",
        json=envelope(
            "/v3.0/users",
            second,
            "/v3.0/users?role=student&limit=3&starting_after=" + second[-1]["id"],
        ),
        match=[
            matchers.query_param_matcher(
                {"role": "student", "limit": "3", "starting_after": first[-1]["id"]}
            )
        ],
    )
    # A last page that still carries a next link, to an empty page (Clever does this).
    responses.get(
        f"{API}/v3.0/users",
        json={"data": [], "links": [{"rel": "self", "uri": "/v3.0/users"}]},
        match=[
            matchers.query_param_matcher(
                {"role": "student", "limit": "3", "starting_after": second[-1]["id"]}
            )
        ],
    )
    page_one = envelope("/v3.0/users", first)
    page_one["links"] += [
        {"rel": "prev", "uri": "/v3.0/users?ending_before=" + first[0]["id"]},  # never followed
        {
            "rel": "next",
            "uri": "/v3.0/users?role=student&limit=3&starting_after=" + first[-1]["id"],
        },
        {"rel": "myContacts", "uri": "/v3.0/users/x/mycontacts"},  # rel is not an enum
    ]
    responses.get(
        f"{API}/v3.0/users",
        json=page_one,
        match=[matchers.query_param_matcher({"role": "student", "limit": "3"})],
    )
    pages = list(make_client(session, clock).pages("/users", {"role": "student"}, page_size=3))
    assert [p.number for p in pages] == [1, 2]
    assert [r["id"] for p in pages for r in p.records] == [r["id"] for r in first + second]
    assert len(responses.calls) == 3
    assert all("ending_before" not in c.request.url for c in responses.calls)  # prev never followed


@responses.activate
def test_pages_stop_when_next_is_absent(session, clock):
    responses.get(f"{API}/v3.0/terms", json=recorded_body("client__terms"))
    pages = list(make_client(session, clock).pages("/terms"))
    assert len(pages) == 1 and len(pages[0].records) == 5
    assert "limit=10000" in responses.calls[0].request.url


@responses.activate
def test_recorded_users_pages_parse_with_extra_keys(session, clock):
    first, second = recorded_interactions("client__users_next")
    after = second["request"]["query"]
    responses.get(f"{API}/v3.0/users?{after}", json=second["response"]["body"])
    responses.get(
        f"{API}/v3.0/users?starting_after=58da8c63d7dc0ca068000503", json={"data": [], "links": []}
    )
    responses.get(f"{API}/v3.0/users", json=first["response"]["body"])
    pages = list(make_client(session, clock).pages("/users", {"role": "student"}))
    students = [r for p in pages for r in p.records]
    assert len(students) == 200
    assert len({s["id"] for s in students}) == 200
    steve = students[0]
    assert steve["roles"]["student"]["dob"] == "2/11/2007"  # not zero padded
    assert "email" in steve["roles"]["student"]  # a key the spec does not list
    assert json.loads(pages[0].body)["data"][0]["data"]["id"] == steve["id"]


@responses.activate
def test_next_link_to_another_host_is_refused(session, clock):
    responses.get(
        f"{API}/v3.0/schools",
        json=envelope(
            "/v3.0/schools", ids(1), "https://evil.example/v3.0/schools?starting_after=x"
        ),
    )
    with pytest.raises(UnexpectedResponse, match="another host"):
        list(make_client(session, clock).pages("/schools"))


def test_page_size_above_clever_maximum_is_refused_locally(session, clock):
    with pytest.raises(ValueError):
        next(make_client(session, clock).pages("/users", page_size=10_001))


# --- rate limits and retries ----------------------------------------------------------------


@responses.activate
def test_429_waits_until_rate_limit_reset_then_retries(session, clock):
    reset = int(clock.now) + 37
    responses.get(
        f"{API}/v3.0/schools", status=429, body=b"", headers={"X-RateLimit-Reset": str(reset)}
    )
    responses.get(f"{API}/v3.0/schools", json=envelope("/v3.0/schools", ids(2)))
    pages = list(make_client(session, clock).pages("/schools"))
    assert len(pages[0].records) == 2
    assert len(clock.sleeps) == 1
    assert 37 <= clock.sleeps[0] <= 38.5  # until the reset, plus a small margin


@responses.activate
def test_429_without_reset_header_still_backs_off(session, clock):
    responses.get(f"{API}/v3.0/schools", status=429, body=b"")
    responses.get(f"{API}/v3.0/schools", json=envelope("/v3.0/schools", ids(1)))
    list(make_client(session, clock).pages("/schools"))
    assert clock.sleeps and clock.sleeps[0] > 0


@pytest.mark.parametrize("status", [500, 502, 503])
@responses.activate
def test_5xx_retried_then_succeeds(session, clock, status):
    responses.get(f"{API}/v3.0/schools", status=status, json={"message": "oops"})
    responses.get(f"{API}/v3.0/schools", json=envelope("/v3.0/schools", ids(1)))
    assert len(list(make_client(session, clock).pages("/schools"))) == 1
    assert clock.sleeps == [1.0]


@responses.activate
def test_5xx_retries_exhausted(session, clock):
    responses.get(f"{API}/v3.0/schools", status=503, json={"message": "down"})
    with pytest.raises(CleverUnavailable, match="try again later"):
        list(make_client(session, clock, max_retries=3).pages("/schools"))
    assert len(responses.calls) == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]  # exponential backoff, bounded


@responses.activate
def test_connection_errors_retried_then_unavailable(session, clock):
    responses.get(f"{API}/v3.0/schools", body=requests.ConnectionError("refused"))
    with pytest.raises(CleverUnavailable, match="Could not reach Clever"):
        list(make_client(session, clock, max_retries=2).pages("/schools"))
    assert len(responses.calls) == 3


@pytest.mark.parametrize(
    ("status", "error"), [(400, RequestRejected), (413, RequestRejected), (404, RequestRejected)]
)
@responses.activate
def test_client_errors_never_retried(session, clock, status, error):
    responses.get(f"{API}/v3.0/users", status=status, json={"message": "no"})
    with pytest.raises(error):
        list(make_client(session, clock).pages("/users"))
    assert len(responses.calls) == 1
    assert clock.sleeps == []


@responses.activate
def test_413_names_the_page_limit(session, clock):
    responses.get(f"{API}/v3.0/users", status=413, body="Request entity too large")
    with pytest.raises(RequestRejected, match="10,000 records a page"):
        list(make_client(session, clock).pages("/users"))


@responses.activate
def test_recorded_html_404_is_unexpected_response(session, clock):
    recorded_404 = recorded_interactions("client__resources_student")[0]["response"]
    responses.get(
        f"{API}/v3.0/resources",
        status=404,
        body=recorded_404["body"],
        content_type=recorded_404["headers"]["content-type"],
    )
    with pytest.raises(UnexpectedResponse, match="HTML page") as err:
        list(make_client(session, clock).pages("/resources"))
    assert "CLEVER_API_BASE" in str(err.value)
    assert len(responses.calls) == 1


@responses.activate
def test_html_with_200_is_unexpected_response(session, clock):
    responses.get(f"{API}/v3.0/users", body="<html>login</html>", content_type="text/html")
    with pytest.raises(UnexpectedResponse, match="instead of JSON"):
        list(make_client(session, clock).pages("/users"))


@responses.activate
def test_truncated_json_is_retried_then_unexpected_response(session, clock):
    responses.get(
        f"{API}/v3.0/users", body='{"data": [{"data": {"id": "a"', content_type="application/json"
    )
    with pytest.raises(UnexpectedResponse, match="not valid JSON 3 times in a row"):
        list(make_client(session, clock, max_retries=2).pages("/users"))
    assert len(responses.calls) == 3


@responses.activate
def test_truncated_json_then_a_whole_page_succeeds(session, clock):
    responses.get(f"{API}/v3.0/users", body='{"data": [{"da', content_type="application/json")
    responses.get(f"{API}/v3.0/users", json=envelope("/v3.0/users", ids(2)))
    assert len(list(make_client(session, clock).pages("/users"))[0].records) == 2


@responses.activate
def test_a_connection_dropped_mid_body_is_retried(session, clock):
    responses.get(f"{API}/v3.0/users", body=requests.exceptions.ChunkedEncodingError("cut"))
    responses.get(f"{API}/v3.0/users", json=envelope("/v3.0/users", ids(1)))
    assert len(list(make_client(session, clock).pages("/users"))) == 1


def test_client_repr_hides_token(session, clock):
    client = make_client(session, clock)
    assert TOKEN not in repr(client) and TOKEN not in repr(client._auth)


# --- the demo district through the same client ----------------------------------------------


def demo_client(clock, day: int = 1) -> CleverClient:
    from mgi_roster import demo, districts

    session, settings = districts.demo_session(day)
    client, token = clever.connect(
        demo.DEMO_DISTRICT_ID, settings, session=session, clock=clock, sleep=clock.sleep
    )
    assert token.source == "app credentials"  # the demo's tokens endpoint, as with real Clever
    return client


@pytest.mark.parametrize("page_size", [100, 7, 10_000])
def test_demo_district_pages_like_clever(clock, page_size):
    from mgi_roster import demo

    client = demo_client(clock)
    pages = list(client.pages("/users", {"role": "student"}, page_size=page_size))
    ids = [r["id"] for p in pages for r in p.records]
    assert len(ids) == demo.DemoDistrict().counts()["students"]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)  # Clever returns ascending ids
    assert all(len(p.records) <= page_size for p in pages)


def test_demo_check_connection_through_the_tokens_endpoint():
    from mgi_roster import demo, districts

    session, settings = districts.demo_session()
    connection = clever.check_connection(demo.DEMO_DISTRICT_ID, settings, session=session)
    assert connection.district.id == demo.DEMO_DISTRICT_ID
    assert connection.token_source == "app credentials"
    assert connection.district.name


def test_demo_knows_no_other_district():
    from mgi_roster import districts

    session, settings = districts.demo_session()
    with pytest.raises(RosteringNotAccepted):
        clever.check_connection("0" * 24, settings, session=session)

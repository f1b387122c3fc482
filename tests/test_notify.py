"""Notifications, delivered for real on loopback: an SMTP server (aiosmtpd) and an HTTP
receiver (http.server). Held, failed, merged and expiring; secrets never in a mail or a log."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses
from aiosmtpd.controller import Controller

from mgi_roster import demo, notify, schedule, store
from mgi_roster.schedule import Schedule
from mgi_roster.settings import NotifySettings
from tests.support import DISTRICT_ID, SETTINGS, serve, small_district
from tests.test_schedule import DAILY, FRIDAY, NOW, first_synced, missing_four, store_raw

PASSWORD = "smtp-password-never-shown"
DEMO = demo.DEMO_DISTRICT_ID


class Inbox:
    """aiosmtpd's handler: keeps every message it is sent."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.content)
        self.messages.append((envelope.rcpt_tos, message, envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    with socket.socket() as probe:  # aiosmtpd's controller needs a port it can name
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def receiver() -> Iterator[tuple[list[dict], str]]:
    posted: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield posted, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def mail_settings(port: int, **over) -> NotifySettings:
    return NotifySettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,  # aiosmtpd's plain controller; STARTTLS is the default
        mail_from="mgi@example.org",
        dashboard_url="https://mgi.example.org",
        **over,
    )


@pytest.fixture
def con():
    con = store.connect(":memory:")
    yield con
    con.close()


def with_contacts(con, district_id: str) -> None:
    schedule.save_contacts(con, district_id, ["it@district.org, lead@district.org"])


def test_held_and_merged_runs_are_mailed_and_posted(con, inbox, receiver):
    handler, port = inbox
    posted, url = receiver
    with responses.RequestsMock() as rsps:
        serve(small_district(10), rsps)
        first_synced(con, DISTRICT_ID)
    first_synced(con, DEMO)
    for district in (DISTRICT_ID, DEMO):
        schedule.save(con, district, DAILY, now=NOW - timedelta(days=2))
        with_contacts(con, district)
    settings = mail_settings(port, webhook_url=url)
    with responses.RequestsMock(passthru_prefixes=("http://127.0.0.1",)) as rsps:
        serve(missing_four(), rsps)
        outcomes = {o.district_id: o for o in schedule.run_due(con, NOW, SETTINGS, settings)}
    assert {d: o.outcome for d, o in outcomes.items()} == {
        DISTRICT_ID: "held for review",
        DEMO: "merged",
    }
    subjects = sorted(" ".join(m["Subject"].split()) for _to, m, _raw in handler.messages)
    assert len(subjects) == 2
    assert any("waiting for review" in s for s in subjects)
    assert any("merged on its own" in s for s in subjects)
    for to, message, raw in handler.messages:
        assert to == ["it@district.org", "lead@district.org"]
        body = message.get_payload()
        assert "Open it in the dashboard: https://mgi.example.org/history?run=" in body
        assert "errors: 0" in body
        assert "In short: " in body  # the run's digest (review/digest.py)
        assert "Student" not in raw  # counts only: no student's name (support's students)
    assert sorted(p["event"] for p in posted) == ["held", "merged"]
    assert all(p["digest"] for p in posted)
    assert all(p["link"].startswith("https://mgi.example.org/") for p in posted)


def test_a_failed_run_is_mailed_without_its_message(con, inbox):
    handler, port = inbox
    with responses.RequestsMock() as rsps:
        serve(small_district(3), rsps)
        first_synced(con, DISTRICT_ID)
    schedule.save(con, DISTRICT_ID, DAILY, now=NOW - timedelta(days=2))
    with_contacts(con, DISTRICT_ID)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve(small_district(3), rsps, fail=("schools", 1, 401))
        [outcome] = schedule.run_due(con, NOW, SETTINGS, mail_settings(port))
    assert outcome.outcome == "failed"
    [(_to, message, _raw)] = handler.messages
    assert "failed" in message["Subject"]
    assert "the reason is on the run in the dashboard" in message.get_payload()


def test_a_schedule_expiring_within_7_days_is_mailed_once(con, inbox):
    handler, port = inbox
    first_synced(con, DEMO)
    soon = Schedule(days=DAILY.days, at="22:00", until=NOW.date() + timedelta(days=3))
    schedule.save(con, DEMO, soon, now=NOW)
    with_contacts(con, DEMO)
    settings = mail_settings(port)
    sent = notify.expiring(store.Store(con), NOW, settings)
    assert [n.event for n in sent] == ["expiring"]
    assert notify.expiring(store.Store(con), NOW, settings) == []  # once per expiry date
    [(_to, message, _raw)] = handler.messages
    assert f"expires on {soon.until}" in message["Subject"]
    later = Schedule(days=DAILY.days, at="22:00", until=date(2026, 12, 31))
    schedule.save(con, DEMO, later, now=NOW)
    assert notify.expiring(store.Store(con), NOW, settings) == []  # more than 7 days away


def test_a_failed_delivery_is_recorded_on_the_run_and_never_fatal(con, caplog):
    first_synced(con, DEMO)
    schedule.save(con, DEMO, DAILY, now=NOW - timedelta(days=2))
    with_contacts(con, DEMO)
    closed = mail_settings(1, smtp_user="mgi", smtp_password=PASSWORD, timeout=2)
    with caplog.at_level(logging.DEBUG):
        [outcome] = schedule.run_due(con, NOW, None, closed)
    assert outcome.outcome == "merged"  # the sync's fate does not depend on the mail
    [(notice,)] = con.execute(
        "SELECT notice FROM runs WHERE run_id = ?", [outcome.run_id]
    ).fetchall()
    assert notice.startswith("Notification not delivered: The email to 2 contact(s)")
    assert schedule.recent_runs(con, DEMO)[0]["notice"] == notice
    assert PASSWORD not in caplog.text and PASSWORD not in notice


def test_the_login_password_is_used_but_never_mailed(con, inbox):
    handler, port = inbox
    first_synced(con, DEMO)
    with_contacts(con, DEMO)
    settings = mail_settings(port, smtp_password=PASSWORD)  # no user: no login attempted
    assert notify.send_test(con, DEMO, settings) == "Sent a test email to 2 contact(s)."
    [(_to, message, raw)] = handler.messages
    assert "test of MGI Roster Review's notifications" in message.get_payload()
    assert PASSWORD not in raw
    assert PASSWORD not in repr(settings)


def test_contacts_must_be_addresses(con):
    first_synced(con, DEMO)
    with pytest.raises(Exception, match="not an email address"):
        schedule.save_contacts(con, DEMO, ["it@district.org, nobody"])


def test_an_invalid_schedule_is_skipped_and_not_mailed(con, inbox):
    handler, port = inbox
    first_synced(con, DEMO)
    with_contacts(con, DEMO)
    store_raw(con, DEMO, {"kind": "daily", "at": "06:00", "tz": "UTC"}, FRIDAY)
    [outcome] = schedule.run_due(con, NOW, None, mail_settings(port))
    assert outcome.outcome == "skipped" and handler.messages == []

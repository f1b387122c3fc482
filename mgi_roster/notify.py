"""Notifications: a district's contacts hear about its scheduled syncs without opening the
dashboard.

A held, failed or merged scheduled run, and a schedule that expires within a week, send an email
to the district's contacts through the SMTP server in the settings (NOTIFY_SMTP_*), and, when
NOTIFY_WEBHOOK_URL is set, POST the same summary as JSON. A notice says what happened, the
counts and a link to the run in the dashboard; never a student's data, never a secret.

Delivery never decides a sync's fate: a failure is recorded on the run (`runs.notice`) and
logged, and the scheduler carries on.
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import ssl
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import requests

from mgi_roster.errors import InputError, RosterError
from mgi_roster.settings import NotifySettings

if TYPE_CHECKING:
    import duckdb

    from mgi_roster.schedule import Outcome
    from mgi_roster.store import Store

log = logging.getLogger(__name__)

NOTIFIED = ("held for review", "failed", "merged")  # the outcomes contacts hear about
_ADDRESS = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


class DeliveryError(RosterError):
    """A notice could not be delivered (the SMTP server or the webhook refused or is down)."""


def check_addresses(emails: list[str]) -> list[str]:
    """Contacts as typed (one a line, or separated by commas): trimmed, each an address."""
    found = [e.strip() for text in emails for e in re.split(r"[,;\s]+", text) if e.strip()]
    for address in found:
        if not _ADDRESS.fullmatch(address):
            raise InputError(f"{address!r} is not an email address, such as name@district.org.")
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Notice:
    """What a notification says: numbers and names of things, no student's data."""

    event: str  # held, failed, merged, expiring, test
    district_id: str
    district: str
    summary: str  # one sentence
    run_id: int | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    link: str = ""
    digest: str = ""  # the run in plain words (review/digest.py): counts and school names

    @property
    def subject(self) -> str:
        return f"MGI Roster Review: {self.district}: {self.summary.partition('. ')[0].rstrip('.')}"

    def body(self) -> str:
        lines = [self.summary, ""]
        if self.digest:
            lines += [f"In short: {self.digest}", ""]
        if self.run_id is not None:
            lines.append(f"Run: {self.run_id}")
        for name, value in self.counts.items():
            if isinstance(value, dict):  # changes per entity: {"students": {"added": 3, ...}}
                for entity, kinds in value.items():
                    shown = ", ".join(f"{k} {n}" for k, n in kinds.items() if n)
                    lines.append(f"{name} in {entity}: {shown or 'none'}")
            else:
                lines.append(f"{name}: {value}")
        if self.link:
            lines += ["", f"Open it in the dashboard: {self.link}"]
        lines += ["", "This message was sent by MGI Roster Review's scheduler."]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The webhook's JSON summary."""
        return {**asdict(self), "subject": self.subject}


def run_link(settings: NotifySettings, run_id: int | None) -> str:
    base = f"{settings.dashboard_url}/history"
    return f"{base}?run={run_id}" if run_id is not None else base


def for_outcome(
    outcome: Outcome, district: str, settings: NotifySettings, digest: str = ""
) -> Notice | None:
    """The notice of a scheduled run (None for outcomes contacts do not hear about). A failure's
    own message stays in the dashboard: it may name a record."""
    if outcome.outcome not in NOTIFIED:
        return None
    summary = {
        "merged": f"the scheduled sync merged on its own. {outcome.message}",
        "held for review": f"the scheduled sync is waiting for review. {outcome.message}",
        "failed": "the scheduled sync failed; the reason is on the run in the dashboard.",
    }[outcome.outcome]
    event = {"merged": "merged", "held for review": "held", "failed": "failed"}[outcome.outcome]
    return Notice(
        event,
        outcome.district_id,
        district,
        summary[0].upper() + summary[1:],
        outcome.run_id,
        dict(outcome.counts),
        run_link(settings, outcome.run_id),
        digest if outcome.outcome != "failed" else "",
    )


def for_expiry(district_id: str, district: str, until: date, settings: NotifySettings) -> Notice:
    return Notice(
        "expiring",
        district_id,
        district,
        f"The automatic sync schedule expires on {until}. Set it again on the Schedule page "
        "(valid until) to keep syncing.",
        link=f"{settings.dashboard_url}/schedule",
    )


def _clean(text: str, settings: NotifySettings) -> str:
    """An error's text fit to store and log: the password replaced."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
    return text.replace(password, "•••") if password else text


def send_email(notice: Notice, recipients: list[str], settings: NotifySettings) -> None:
    """Mail the notice through the configured SMTP server; DeliveryError when it cannot."""
    if not settings.smtp_host:
        raise DeliveryError("No SMTP server is configured: set NOTIFY_SMTP_HOST.")
    message = EmailMessage()
    message["Subject"] = notice.subject
    message["From"] = settings.mail_from or settings.smtp_user or "mgi-roster@localhost"
    message["To"] = ", ".join(recipients)
    message.set_content(notice.body())
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            f"The email to {len(recipients)} contact(s) could not be sent through "
            f"{settings.smtp_host}:{settings.smtp_port} ({type(exc).__name__}: "
            f"{_clean(str(exc), settings)[:200]})."
        ) from None


def post_webhook(notice: Notice, settings: NotifySettings) -> None:
    if not settings.webhook_url:
        return
    try:
        response = requests.post(
            settings.webhook_url, json=notice.to_dict(), timeout=settings.timeout
        )
        response.raise_for_status()
    except requests.RequestException as exc:
        status = getattr(exc.response, "status_code", None)
        raise DeliveryError(
            f"The webhook could not be called ({type(exc).__name__}"
            + (f", HTTP {status}" if status else "")
            + ")."
        ) from None


def deliver(notice: Notice, recipients: list[str], settings: NotifySettings) -> list[str]:
    """Send the notice every configured way; return what failed, as sentences (empty: all
    delivered, or nothing configured)."""
    failed = []
    if settings.mail_configured and recipients:
        try:
            send_email(notice, recipients, settings)
        except DeliveryError as exc:
            failed.append(exc.message)
    try:
        post_webhook(notice, settings)
    except DeliveryError as exc:
        failed.append(exc.message)
    for problem in failed:
        log.warning("notification for %s: %s", notice.district_id, problem)
    return failed


def _district(con: duckdb.DuckDBPyConnection, district_id: str) -> tuple[str, list[str]]:
    row = con.execute(
        "SELECT name, contacts FROM districts WHERE district_id = ?", [district_id]
    ).fetchone()
    if row is None:
        return district_id, []
    return str(row[0]), list(json.loads(row[1])) if row[1] else []


def after_run(store: Store, outcome: Outcome, settings: NotifySettings | None) -> None:
    """Tell the contacts about a scheduled run; a failed delivery is recorded on the run."""
    settings = settings if settings is not None else _settings()
    if settings is None:
        return
    with store.session() as con:
        name, recipients = _district(con, outcome.district_id)
        summary = _digest(con, outcome.run_id)
    notice = for_outcome(outcome, name, settings, summary)
    if notice is None:
        return
    failed = deliver(notice, recipients, settings)
    if failed and outcome.run_id is not None:
        with store.session() as con:
            con.execute(
                "UPDATE runs SET notice = ? WHERE run_id = ?",
                ["Notification not delivered: " + " ".join(failed), outcome.run_id],
            )


def _digest(con: duckdb.DuckDBPyConnection, run_id: int | None) -> str:
    """The run's digest; a notice goes out without it rather than not at all."""
    if run_id is None:
        return ""
    from mgi_roster.review import digest

    try:
        return digest.of_run(con, run_id).text
    except Exception as exc:  # a notice must never fail for its summary
        log.warning("no digest for run %s: %s", run_id, type(exc).__name__)
        return ""


def expiring(store: Store, now: datetime, settings: NotifySettings | None) -> list[Notice]:
    """Tell the contacts of each schedule that expires within a week, once per expiry date."""
    from mgi_roster import schedule

    settings = settings if settings is not None else _settings()
    if settings is None:
        return []
    today = now.astimezone(UTC).date()
    sent = []
    with store.session() as con:
        rows = con.execute(
            "SELECT district_id, expiry_notice FROM schedules ORDER BY district_id"
        ).fetchall()
        candidates = []
        for district_id, noticed in rows:
            plan = schedule.load(con, district_id)
            if plan.until is None or noticed == plan.until:
                continue
            if not plan.enabled or not today <= plan.until <= today + schedule.EXPIRY_NOTICE:
                continue
            name, recipients = _district(con, district_id)
            candidates.append((district_id, name, recipients, plan.until))
    for district_id, name, recipients, until in candidates:
        notice = for_expiry(district_id, name, until, settings)
        if deliver(notice, recipients, settings):
            continue  # not recorded: tried again on the next pass
        with store.session() as con:
            con.execute(
                "UPDATE schedules SET expiry_notice = ? WHERE district_id = ?", [until, district_id]
            )
        sent.append(notice)
    return sent


def send_test(con: duckdb.DuckDBPyConnection, district_id: str, settings: NotifySettings) -> str:
    """The Schedule page's "Send test email": raises DeliveryError with the reason."""
    name, recipients = _district(con, district_id)
    if not recipients:
        raise InputError("The district has no contacts yet: add at least one email address.")
    notice = Notice(
        "test",
        district_id,
        name,
        "A test email. This is a test of MGI Roster Review's notifications: the SMTP settings "
        "work.",
        link=f"{settings.dashboard_url}/schedule",
    )
    send_email(notice, recipients, settings)
    return f"Sent a test email to {len(recipients)} contact(s)."


def _settings() -> NotifySettings | None:
    """This process's settings; a broken configuration is logged, never fatal to a sync."""
    try:
        return NotifySettings.from_env()
    except RosterError as exc:
        log.warning("notifications are off: %s", exc.message)
        return None

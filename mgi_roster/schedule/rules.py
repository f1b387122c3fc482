"""The MGI's automatic sync rules (help.mhs.com/?p=6098), and when a district is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from mgi_roster.errors import InputError
from mgi_roster.kinds import MergeKind, RunStatus
from mgi_roster.schedule.model import (
    _CLOCK,
    _WEEKDAY,
    MAX_VALID_DAYS,
    SCHEDULER,
    WINDOW,
    Schedule,
)

if TYPE_CHECKING:
    import duckdb


# --- the MGI's rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the MGI's rules need to know about a district, from its runs and merges."""

    approved: bool  # a person (not the scheduler) has merged a sync of the district
    first_sync: datetime | None  # when the district's first run started
    last_successful_sync: datetime | None  # when its latest run that did not fail finished

    @property
    def latest_until(self) -> date | None:
        """The last date a schedule may be valid until."""
        if self.first_sync is None:
            return None
        return self.first_sync.astimezone(UTC).date() + timedelta(days=MAX_VALID_DAYS)


def facts(con: duckdb.DuckDBPyConnection, district_id: str) -> Facts:
    row = con.execute(
        f"""SELECT
              (SELECT count(*) FROM merges WHERE district_id = $d AND kind = '{MergeKind.MERGE}'
                 AND NOT undone AND actor IS DISTINCT FROM '{SCHEDULER}'),
              (SELECT min(started_at) FROM runs WHERE district_id = $d),
              (SELECT max(finished_at) FROM runs WHERE district_id = $d
                 AND status NOT IN ('{RunStatus.FAILED}', '{RunStatus.FETCHING}'))""",
        {"d": district_id},
    ).fetchone()
    assert row is not None
    return Facts(bool(row[0]), row[1], row[2])


def in_window(at: str) -> bool:
    """Whether HH:MM lies in the MGI's start window, 20:00 to 05:00 UTC (both included)."""
    return at >= WINDOW[0] or at <= WINDOW[1]


def in_local_zone(at: str, zone: ZoneInfo, on: date | None = None) -> str:
    """A UTC start time as it reads in another zone (the Schedule page shows both), with the
    day it falls on when that differs: "17:00", "19:00 the day before"."""
    if not _CLOCK.fullmatch(at.strip()):
        raise InputError(
            f"The time {at.strip()!r} must be HH:MM on a 24-hour clock in UTC, e.g. 22:30."
        )
    on = on or datetime.now(UTC).date()
    hour, minute = (int(p) for p in at.strip().split(":"))
    start = datetime.combine(on, time(hour, minute), tzinfo=UTC)
    local = start.astimezone(zone)
    shift = (local.date() - on).days
    return f"{local:%H:%M}" + {-1: " the day before", 1: " the day after"}.get(shift, "")


def check(schedule: Schedule, known: Facts, today: date) -> str | None:
    """Why this schedule may not run, naming the MGI's rule; None when it may (or is off)."""
    if not schedule.enabled:
        return None
    if schedule.legacy:
        return schedule.legacy + " Set it again with days, a UTC start time and a valid until date."
    if not known.approved:
        return (
            "Automatic sync can be set only once a person has approved the district's initial "
            "sync (the MGI's rule): run a test sync, review it and Approve it first."
        )
    if "sat" in schedule.days:
        return "Saturday is not allowed: the MGI runs automatic syncs Sunday to Friday only."
    if not in_window(schedule.at):
        return (
            f"The start time {schedule.at} UTC is outside the MGI's window: a sync must start "
            f"between {WINDOW[0]} and {WINDOW[1]} UTC, to avoid peak hours."
        )
    latest = known.latest_until
    assert latest is not None  # an approved district has run
    if schedule.until is None:
        return (
            "The schedule has no valid until date: the MGI's schedules expire at most "
            f"{MAX_VALID_DAYS} days after the district's first sync ({latest} at the latest)."
        )
    if schedule.until > latest:
        return (
            f"Valid until {schedule.until} is more than {MAX_VALID_DAYS} days after the "
            f"district's first sync: the MGI allows {latest} at the latest."
        )
    if schedule.until < today:
        return f"The schedule expired on {schedule.until} (valid until): set it again."
    return None


# --- when is a district due -----------------------------------------------------------------


def _slot(schedule: Schedule, day: date) -> datetime | None:
    """The day's slot in UTC, when the schedule syncs that day."""
    if _WEEKDAY[day.weekday()] not in schedule.days:
        return None
    if schedule.until is not None and day > schedule.until:
        return None
    text = day.isoformat()
    if any(start <= text <= end for start, end in schedule.pauses):
        return None
    hour, minute = (int(p) for p in schedule.at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def next_due(schedule: Schedule, after: datetime) -> datetime | None:
    """The first slot strictly after `after` (None when off or expired)."""
    if not schedule.enabled:
        return None
    day = after.astimezone(UTC).date()
    for offset in range(0, 400):  # pause windows may cover a whole summer
        slot = _slot(schedule, day + timedelta(days=offset))
        if slot is not None and slot > after:
            return slot
    return None


def latest_due(schedule: Schedule, now: datetime) -> datetime | None:
    """The latest slot at or before `now`."""
    if not schedule.enabled:
        return None
    day = now.astimezone(UTC).date()
    for offset in range(0, 400):
        slot = _slot(schedule, day - timedelta(days=offset))
        if slot is not None and slot <= now:
            return slot
    return None

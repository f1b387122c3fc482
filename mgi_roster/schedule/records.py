"""Schedules, their status and each district's contacts, in the store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from mgi_roster.errors import InputError
from mgi_roster.schedule.model import (
    Schedule,
    format_pause,
)
from mgi_roster.schedule.rules import (
    Facts,
    check,
    facts,
    next_due,
)

if TYPE_CHECKING:
    import duckdb


# --- persistence ----------------------------------------------------------------------------


def save(
    con: duckdb.DuckDBPyConnection,
    district_id: str,
    schedule: Schedule,
    *,
    now: datetime,
    by: str | None = None,
) -> None:
    """Save a schedule, refused (InputError naming the rule) when it breaks one of the MGI's
    rules. Slots before now are not owed: the first run is the next slot."""
    reason = check(schedule, facts(con, district_id), now.astimezone(UTC).date())
    if reason is not None:
        raise InputError(reason, title="Not allowed by the MGI's automatic sync rules")
    con.execute(
        """INSERT INTO schedules (district_id, body, last_slot, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (district_id) DO UPDATE SET body = excluded.body, last_slot = excluded.last_slot,
           updated_at = excluded.updated_at, updated_by = excluded.updated_by""",
        [district_id, schedule.to_json(), now, now, by],
    )


def load(con: duckdb.DuckDBPyConnection, district_id: str) -> Schedule:
    row = con.execute("SELECT body FROM schedules WHERE district_id = ?", [district_id]).fetchone()
    return Schedule.from_dict(json.loads(row[0])) if row else Schedule()


def all_schedules(con: duckdb.DuckDBPyConnection) -> list[tuple[str, Schedule, datetime | None]]:
    rows = con.execute(
        "SELECT district_id, body, last_slot FROM schedules ORDER BY district_id"
    ).fetchall()
    return [(d, Schedule.from_dict(json.loads(body)), last) for d, body, last in rows]


@dataclass(frozen=True)
class Status:
    """A district's schedule as the page and `schedule show` present it."""

    district_id: str
    schedule: Schedule
    facts: Facts
    reason: str | None  # why it may not run (None: valid, or off)
    next_run: datetime | None

    @property
    def valid(self) -> bool:
        return self.reason is None

    def to_dict(self) -> dict[str, Any]:
        """The `schedule show --json` contract."""
        s = self.schedule
        data: dict[str, Any] = {
            "district_id": self.district_id,
            "enabled": s.enabled,
            "days": list(s.days),
            "at": s.at,
            "timezone": "UTC",
            "valid_until": s.until.isoformat() if s.until else None,
            "latest_valid_until": _iso(self.facts.latest_until),
            "last_successful_sync": _iso(self.facts.last_successful_sync),
            "policy": s.policy,
            "pauses": [format_pause(p) for p in s.pauses],
            "valid": self.valid,
            "next_run": _iso(self.next_run),
        }
        if self.reason is not None:
            data["reason"] = self.reason
        return data


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def status(con: duckdb.DuckDBPyConnection, district_id: str, now: datetime) -> Status:
    plan = load(con, district_id)
    known = facts(con, district_id)
    reason = check(plan, known, now.astimezone(UTC).date())
    return Status(district_id, plan, known, reason, None if reason else next_due(plan, now))


def save_contacts(con: duckdb.DuckDBPyConnection, district_id: str, emails: list[str]) -> None:
    """The people told about the district's scheduled syncs (notify.py)."""
    from mgi_roster.notify import check_addresses

    con.execute(
        "UPDATE districts SET contacts = ? WHERE district_id = ?",
        [json.dumps(check_addresses(emails)), district_id],
    )


def contacts(con: duckdb.DuckDBPyConnection, district_id: str) -> list[str]:
    row = con.execute(
        "SELECT contacts FROM districts WHERE district_id = ?", [district_id]
    ).fetchone()
    return list(json.loads(row[0])) if row and row[0] else []

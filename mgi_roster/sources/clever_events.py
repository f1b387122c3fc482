"""Clever's Events API: where a district's roster stands in Clever's feed, and whether a sync
may read only the events since then.

Clever's recommended flow (clever-api.md §6; dev.clever.com/docs/build-district-roster-sync-events):
record the latest event id *before* a full sync, later page
`GET /v3.0/events?starting_after=<cursor>`, and resync in full when the feed has a gap (Clever
keeps events 30 days) or events are not enabled for the district.

**The cursor.** Every run records `runs.events_cursor`, the feed position its staging reflects:
for a full run, the latest event id read before anything was fetched (events during the pull
are read again next time, which changes nothing: an event carries the whole record); for an
events run, the last event it read. A district's cursor is the `events_cursor` of the run its
latest merge in force came from. So the cursor advances only when a run merges: a rejected (or
held, never approved) events run's events are read again by the next run and applied to the
roster they were never merged into; an undo takes the cursor back with the roster. Nothing
else stores it, so it cannot disagree with the roster.

**When a run pulls in full** (`ModeReason`): `--full` was asked for; no merged run holds a
cursor (the district's first sync, or events were refused last time); the district's full-sync
interval has passed since the latest merged full sync (a district setting, `districts.
full_sync_days`, weekly by default: a full pull is what finds what events cannot say, such as
records Clever stopped sharing without an event, so each district decides how often it pays
for one); the cursor is older than Clever keeps events; Clever no longer has the cursor's event
(`GET /v3.0/events/<id>` answers 404: a gap), or rejects paging from it; the events
endpoint refuses (403, 404, an HTML page: events not enabled for the district); or the latest
merge withheld records (a partial approval): the roster then holds their older state, or
nothing, where the events since assume what Clever sent, and only a full pull says what they
are now.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import duckdb

from mgi_roster.errors import CleverError, CleverUnavailable, RequestRejected, UnexpectedResponse
from mgi_roster.kinds import MergeKind, ModeReason, SyncMode
from mgi_roster.sources.clever import (
    MAX_PAGE_SIZE,
    CleverClient,
    EnvelopeReader,
    Page,
    read_envelope,
)

EVENTS_PATH = "/events"
RETENTION = timedelta(days=30)  # Clever keeps events 30 days (clever-api.md §6)
DEFAULT_FULL_SYNC_DAYS = 7
FEED_START = ""  # the cursor of a feed that was empty: every event in it is new


@dataclass(frozen=True)
class Cursor:
    """What the store knows of a district's place in Clever's feed."""

    event_id: str | None  # None: no merged run holds one
    recorded_at: datetime | None  # when the run holding it started
    last_full_at: datetime | None  # when the latest merged full run started
    full_sync_days: int = DEFAULT_FULL_SYNC_DAYS
    withheld: bool = False  # the latest merge withheld records of its run


def cursor_of(con: duckdb.DuckDBPyConnection, district_id: str) -> Cursor:
    """The district's cursor: the position of the run its latest merge in force came from."""
    latest = con.execute(
        """SELECT r.events_cursor, r.started_at,
                  EXISTS (SELECT 1 FROM run_withheld w WHERE w.run_id = m.run_id)
           FROM merges m JOIN runs r USING (run_id)
           WHERE m.district_id = ? AND m.kind = ? AND NOT m.undone
           ORDER BY m.version DESC LIMIT 1""",
        [district_id, MergeKind.MERGE],
    ).fetchone()
    full = con.execute(
        """SELECT max(r.started_at) FROM merges m JOIN runs r USING (run_id)
           WHERE m.district_id = ? AND m.kind = ? AND NOT m.undone
             AND coalesce(r.mode, ?) = ?""",
        [district_id, MergeKind.MERGE, SyncMode.FULL, SyncMode.FULL],
    ).fetchone()
    days = con.execute(
        "SELECT full_sync_days FROM districts WHERE district_id = ?", [district_id]
    ).fetchone()
    return Cursor(
        event_id=latest[0] if latest else None,
        recorded_at=latest[1] if latest else None,
        last_full_at=full[0] if full else None,
        full_sync_days=days[0] if days and days[0] else DEFAULT_FULL_SYNC_DAYS,
        withheld=bool(latest[2]) if latest else False,
    )


def set_full_sync_days(con: duckdb.DuckDBPyConnection, district_id: str, days: int | None) -> None:
    """The district's full-sync interval in days (None: back to weekly)."""
    if days is not None and days < 1:
        raise ValueError("the full-sync interval is at least one day")
    con.execute(
        "UPDATE districts SET full_sync_days = ? WHERE district_id = ?", [days, district_id]
    )


@dataclass(frozen=True)
class Plan:
    """How a run learns the roster, and why."""

    mode: SyncMode
    reason: ModeReason
    start: str | None = None  # events: the cursor read from
    position: str | None = None  # the feed position the staging reflects (runs.events_cursor)
    applied: int = 0  # events applied to the staging
    detail: str = ""  # Clever's answer, for a refusal

    def sentence(self) -> str:
        """The reason, as a specialist reads it on the run."""
        if self.mode is SyncMode.EVENTS:
            return (
                f"Incremental sync: {self.applied:,} Clever event"
                f"{'' if self.applied == 1 else 's'} applied to the roster of the latest merge."
            )
        why = {
            ModeReason.REQUESTED: "a full sync was asked for",
            ModeReason.NO_CURSOR: "no merged sync holds a position in Clever's events feed "
            "(a first sync, or events were not available before)",
            ModeReason.INTERVAL: "the district's full-sync interval has passed since its latest "
            "merged full sync",
            ModeReason.CURSOR_EXPIRED: "the latest merge's position in Clever's events feed is "
            "older than the 30 days Clever keeps events",
            ModeReason.CURSOR_GONE: "Clever no longer has the events since the latest merge "
            "(a gap in the feed)",
            ModeReason.EVENTS_REFUSED: "Clever's events endpoint refused this district (events "
            "may not be enabled: Clever dashboard → Settings → Integrations → Enable events)",
            ModeReason.EVENTS_UNAVAILABLE: "Clever's events endpoint did not answer",
            ModeReason.WITHHELD: "the latest merge withheld records (a partial approval), so "
            "the roster does not hold what Clever sent for them; every record is pulled again",
        }[self.reason]
        detail = f" ({self.detail})" if self.detail else ""
        return f"Full sync: {why}{detail}."


def latest_event(client: CleverClient) -> str:
    """The id of the newest event in the district's feed (FEED_START when it is empty).

    `ending_before=last&limit=1` is the one-request way to it (Clever's guide; the exact value
    is not in the spec, clever-api.md §6 "UNCONFIRMED"). The page's newest event is its last."""
    page = next(client.pages(EVENTS_PATH, {"ending_before": "last"}, page_size=1), None)
    if page is None:
        return FEED_START
    ids = [str(r.get("id") or "") for r in page.records]
    return max((i for i in ids if i), default=FEED_START)


def _full(client: CleverClient, reason: ModeReason, detail: str = "") -> Plan:
    """A full plan, its position read before anything is fetched. A feed that refuses leaves no
    position: the next sync is full again, and says why."""
    try:
        return Plan(SyncMode.FULL, reason, position=latest_event(client), detail=detail)
    except (RequestRejected, UnexpectedResponse) as exc:
        if reason is ModeReason.REQUESTED:
            return Plan(SyncMode.FULL, reason, detail=detail)
        return Plan(SyncMode.FULL, ModeReason.EVENTS_REFUSED, detail=_said(exc))
    except CleverUnavailable as exc:
        return Plan(SyncMode.FULL, ModeReason.EVENTS_UNAVAILABLE, detail=_said(exc))


def decide(
    client: CleverClient, cursor: Cursor, *, full: bool = False, now: datetime | None = None
) -> Plan:
    """Events when the cursor allows it, else a full plan with its reason (see the module)."""
    now = now or datetime.now(UTC)
    if full:
        return _full(client, ModeReason.REQUESTED)
    if cursor.event_id is None or cursor.recorded_at is None:
        return _full(client, ModeReason.NO_CURSOR)
    if cursor.withheld:
        return _full(client, ModeReason.WITHHELD)
    if cursor.last_full_at is None or now - cursor.last_full_at >= timedelta(
        days=cursor.full_sync_days
    ):
        return _full(client, ModeReason.INTERVAL)
    if now - cursor.recorded_at >= RETENTION:
        return _full(client, ModeReason.CURSOR_EXPIRED)
    if cursor.event_id != FEED_START:
        try:
            client.get(f"{EVENTS_PATH}/{cursor.event_id}")
        except (RequestRejected, UnexpectedResponse) as exc:
            return fallback(client, exc)
        except CleverUnavailable as exc:
            return _full(client, ModeReason.EVENTS_UNAVAILABLE, _said(exc))
    return Plan(SyncMode.EVENTS, ModeReason.EVENTS, start=cursor.event_id)


def fallback(client: CleverClient, exc: CleverError) -> Plan:
    """The full plan after Clever refused the cursor or the feed. A 404 or 400 about the cursor
    is a gap when the feed itself still answers; when it does not, events are refused."""
    if isinstance(exc, CleverUnavailable):
        return _full(client, ModeReason.EVENTS_UNAVAILABLE, _said(exc))
    reason = ModeReason.CURSOR_GONE if exc.status in (400, 404) else ModeReason.EVENTS_REFUSED
    return _full(client, reason, _said(exc))


def since(
    client: CleverClient,
    cursor: str,
    *,
    page_size: int = MAX_PAGE_SIZE,
    envelope: EnvelopeReader = read_envelope,
) -> Iterator[Page]:
    """The pages of events after `cursor`, oldest first (the whole feed after FEED_START)."""
    params = {"starting_after": cursor} if cursor else {}
    return client.pages(EVENTS_PATH, params, page_size=page_size, envelope=envelope)


def applied(plan: Plan, count: int, last: str | None) -> Plan:
    """The plan of an events run once its events are staged."""
    return replace(plan, applied=count, position=last if last else plan.start)


def record(con: duckdb.DuckDBPyConnection, run_id: int, plan: Plan) -> None:
    """Keep the run's mode, its reason and its feed position on its row."""
    con.execute(
        """UPDATE runs SET mode = ?, mode_reason = ?, events_applied = ?, events_from = ?,
           events_cursor = ? WHERE run_id = ?""",
        [plan.mode, plan.reason, plan.applied, plan.start, plan.position, run_id],
    )


def _said(exc: CleverError) -> str:
    return exc.message.rstrip(".")

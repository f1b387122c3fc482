"""Names for kinds: the small closed vocabularies that cross modules and reach the database.

Each is a `StrEnum`, so a member *is* its string: it goes into SQL parameters, JSON and the
database as the plain word, and a value read back compares equal to the member.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    FETCHING = "fetching"  # the run is fetching, staging, validating or diffing
    STAGED = "staged"  # ready for review
    HELD = "held"  # ready for review, but a safeguard tripped: approve needs confirmation
    FAILED = "failed"
    MERGED = "merged"
    REJECTED = "rejected"

    @property
    def reviewable(self) -> bool:
        return self in (RunStatus.STAGED, RunStatus.HELD)


class ChangeKind(StrEnum):
    """How a record of a sync compares with the roster (roster.sql.classify)."""

    ADDED = "added"  # in the sync, never in the roster
    UPDATED = "updated"  # in both, some field differs
    ARCHIVED = "archived"  # in the roster, absent from the sync, All Records Processing on
    ABSENT = "absent"  # the same with it off: reported, never applied
    RESTORED = "restored"  # in the sync, archived in the roster
    UNCHANGED = "unchanged"  # counted, never listed


# The kinds listed as changes (one row per record, or per field for updates).
LISTED_CHANGES: tuple[ChangeKind, ...] = tuple(
    k for k in ChangeKind if k is not ChangeKind.UNCHANGED
)
# The kinds counted per entity in a run's summary.
COUNTED_CHANGES: tuple[ChangeKind, ...] = (
    ChangeKind.ADDED,
    ChangeKind.UPDATED,
    ChangeKind.ARCHIVED,
    ChangeKind.RESTORED,
    ChangeKind.UNCHANGED,
)


class Severity(StrEnum):
    ERROR = "error"  # blocks Approve
    WARNING = "warning"  # informs


class StepState(StrEnum):
    """A connection checklist step (checklist.py)."""

    OK = "ok"
    WARNING = "warning"  # works, but something needs a look before a sync
    FAILED = "failed"
    UNKNOWN = "unknown"  # not judged: an earlier step failed


class MergeKind(StrEnum):
    MERGE = "merge"
    UNDO = "undo"


def sql_list(kinds: tuple[StrEnum, ...] | type[StrEnum]) -> str:
    """('a', 'b', ...) for a CHECK constraint or an IN clause: the values are constants."""
    return "(" + ", ".join(f"'{k.value}'" for k in kinds) + ")"


class SyncMode(StrEnum):
    """How a run learned the district's roster (sources/clever_events.py)."""

    FULL = "full"  # every record pulled from Clever's list endpoints
    EVENTS = "events"  # the roster the latest merge holds, plus Clever's events since then


class ModeReason(StrEnum):
    """Why a run pulled in full, or that it could use events (rendered by clever_events.py)."""

    EVENTS = "events"  # a cursor from the latest merge, still in Clever's feed
    REQUESTED = "requested"  # `sync --full`, or the caller asked for it
    NO_CURSOR = "no_cursor"  # no merged sync holds a position in the feed (a first sync)
    INTERVAL = "interval"  # the district's full-sync interval has passed
    CURSOR_EXPIRED = "cursor_expired"  # older than Clever keeps events (30 days)
    CURSOR_GONE = "cursor_gone"  # Clever no longer has the cursor's event (a gap)
    EVENTS_REFUSED = "events_refused"  # the events endpoint refused (not enabled, 403/404)
    EVENTS_UNAVAILABLE = "events_unavailable"  # the events endpoint did not answer usably

"""Names for kinds: the small closed vocabularies that cross modules and reach the database.

Each is a `StrEnum`, so a member *is* its string: it goes into SQL parameters, JSON and the
database as the plain word, and a value read back compares equal to the member.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    REKEYED = "rekeyed"  # the same person under a new source id (roster/rekey.py)
    LINKED = "linked"  # a student added by hand, linked to its synced record (roster/rekey.py)
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
)  # absent, rekeyed and linked are counted only when a run has them


class Severity(StrEnum):
    ERROR = "error"  # blocks Approve
    WARNING = "warning"  # informs


class StepState(StrEnum):
    """A connection checklist step (checklist.py)."""

    OK = "ok"
    WARNING = "warning"  # works, but something needs a look before a sync
    FAILED = "failed"
    UNKNOWN = "unknown"  # not judged: an earlier step failed


class ProviderKind(StrEnum):
    """Where a district's roster comes from: the MGI's three upload methods (sources/provider.py)."""

    CLEVER = "clever"  # Clever Secure Sync (API v3.0)
    ONEROSTER_API = "oneroster-api"  # OneRoster REST 1.1 / 1.2
    ONEROSTER_CSV = "oneroster-csv"  # a OneRoster CSV ZIP: uploaded, given on the CLI or dropped

    @property
    def label(self) -> str:
        """As the MGI's provider dropdown names it."""
        return {"clever": "Clever", "oneroster-api": "OneRoster API"}.get(
            self.value, "OneRoster CSV"
        )

    @property
    def is_oneroster(self) -> bool:
        return self is not ProviderKind.CLEVER


class MergeKind(StrEnum):
    MERGE = "merge"
    UNDO = "undo"
    MANUAL = "manual"  # a person's edit outside any sync: a student added by hand


class MatchKind(StrEnum):
    """Two records that may be one person (roster/rekey.py)."""

    REKEY = "rekey"  # absent under an old source id, present under a new one
    LINK = "link"  # a student added by hand, and a synced student new to the roster

    @property
    def change(self) -> ChangeKind:
        return ChangeKind.REKEYED if self is MatchKind.REKEY else ChangeKind.LINKED


class MatchStatus(StrEnum):
    AUTO = "auto"  # an unambiguous re-key: applied unless a person declines it
    PROPOSED = "proposed"  # a person must choose (a link, or a re-key with several candidates)
    ACCEPTED = "accepted"  # a person said: the same person
    DECLINED = "declined"  # a person said: different people (keep both)

    @property
    def applied(self) -> bool:
        return self in (MatchStatus.AUTO, MatchStatus.ACCEPTED)


APPLIED_MATCHES: tuple[MatchStatus, ...] = tuple(s for s in MatchStatus if s.applied)


class Withheld(StrEnum):
    """Why a partial approval left a record of the run as it is in the roster (roster/partial.py)."""

    ERROR = "error"  # the record has an error issue that was not waived (--exclude-errors)
    EXCLUDED = "excluded"  # chosen by the reviewer (--exclude)
    NO_ARCHIVE = "no_archive"  # an archive, and the approval archives nothing (--no-archive)
    DEPENDANT = "dependant"  # depends on a withheld record (a student's enrollments, ...)


class Impact(StrEnum):
    """A change that moves a student between test plans (review/impact.py)."""

    SCHOOL = "school"
    GRADE = "grade"
    SCREENING_CLASS = "screening_class"


class Cause(StrEnum):
    """What most likely made a change, where the data shows it (review/impact.py)."""

    SIS_EDIT = "sis_edit"  # the default: someone changed the record in the SIS
    SHARING = "sharing"  # a whole school (or its sections) appeared in or left the share
    ROLLOVER = "rollover"  # most of a school moved up one grade: the school-year rollover
    TERM = "term"  # sections followed a new term (a term change)
    REKEY = "rekey"  # the same person under a new id (ChangeKind "rekeyed")


class Unusual(StrEnum):
    """A change worth a second look, although nothing is wrong with the data."""

    MID_YEAR_GRADE = "mid_year_grade"  # a grade change in the middle of a school year


def sql_list(values: Iterable[str]) -> str:
    """('a', 'b', ...) for a CHECK constraint or an IN clause: the values are constants (names of
    kinds, checks, entities, roles), never data."""
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


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
    WITHHELD = "withheld"  # the latest merge withheld records: the roster is not what Clever sent

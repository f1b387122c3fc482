"""One error tree for everything a specialist can act on.

    RosterError                      root: pages and the command line catch only this
    ├── ConfigError                  the product's own settings are unusable
    ├── InputError                   a value the user typed or passed is malformed
    │   └── DistrictIdError          a Clever District ID that is not 24 hex characters
    ├── CleverError                  talking to Clever failed
    │   ├── DistrictNotFound         Clever does not know this District ID
    │   ├── RosteringNotAccepted     no token: the district has not accepted the request
    │   ├── BadAppCredentials        401 from the tokens endpoint
    │   ├── TokenRevoked             401 from the Data API
    │   ├── CleverUnavailable        5xx or no connection, after retries
    │   ├── UnexpectedResponse       HTML (or anything not JSON) where JSON was expected
    │   └── RequestRejected          400, 404, 413: the request itself is wrong
    ├── OneRosterApiError            talking to a OneRoster REST API failed
    │   ├── OneRosterAuthRejected    the token endpoint or the API refused the credentials
    │   ├── OneRosterUnavailable     5xx, 429 or no connection, after retries
    │   ├── OneRosterUnexpected      not JSON, or not the envelope the spec names
    │   └── OneRosterRejected        400, 403, 404, 422: the request itself is refused
    ├── ParametersError              District Parameters missing or invalid
    ├── SyncRefused                  a sync cannot start (another one runs, ...)
    ├── PackageError                 a OneRoster CSV package cannot be read: every Problem listed
    └── MergeRefused                 Approve / Undo refused; nothing was written

Every message is a whole sentence that says what failed and what to do, in the words of the
MGI's Clever Secure Sync guide where it has some. Secrets are never part of a message: the
client builds messages from status codes and District IDs only, never from headers or URLs
carrying credentials.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mgi_roster.kinds import Severity


class RosterError(Exception):
    """Root of the project's errors. `title` is a short heading for pages."""

    title = "Something went wrong"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class ConfigError(RosterError):
    title = "Configuration problem"


class InputError(RosterError):
    title = "Check what was entered"


class DistrictIdError(InputError):
    title = "District ID is malformed"


class CleverError(RosterError):
    title = "Clever connection failed"
    status: int | None = None  # Clever's HTTP status, when it answered with one


class DistrictNotFound(CleverError):
    title = "District ID unknown"


class RosteringNotAccepted(CleverError):
    title = "Rostering request not accepted"


class BadAppCredentials(CleverError):
    title = "App credentials rejected"


class TokenRevoked(CleverError):
    title = "District token rejected"


class CleverUnavailable(CleverError):
    title = "Clever unavailable"


class UnexpectedResponse(CleverError):
    title = "Unexpected answer from Clever"


class RequestRejected(CleverError):
    title = "Clever rejected the request"


class OneRosterApiError(RosterError):
    """`status` is the HTTP status that ended the call, when there was one (a 403 on an optional
    collection is not fatal to its caller)."""

    title = "OneRoster API connection failed"

    def __init__(self, message: str, *, status: int | None = None, title: str | None = None):
        super().__init__(message, title=title)
        self.status = status


class OneRosterAuthRejected(OneRosterApiError):
    title = "OneRoster credentials rejected"


class OneRosterUnavailable(OneRosterApiError):
    title = "OneRoster API unavailable"


class OneRosterUnexpected(OneRosterApiError):
    title = "Unexpected answer from the OneRoster API"


class OneRosterRejected(OneRosterApiError):
    title = "The OneRoster API refused the request"


class ParametersError(RosterError):
    title = "District Parameters"


class SyncRefused(RosterError):
    title = "Sync refused"


class MergeRefused(RosterError):
    title = "Approve refused"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, as data: where (file, line, column, record), what
    (`code`, a stable name such as "header.missing_column"; `value`), how bad, and the sentence
    a specialist reads. `line` is the CSV record's line (1 = the header)."""

    file: str | None
    line: int | None
    column: str | None
    message: str
    code: str = "package"
    severity: Severity = Severity.ERROR
    record: str | None = None  # the row's sourcedId, when the problem is a row's
    value: str | None = None

    @property
    def where(self) -> str:
        parts = [
            self.file or "",
            f"line {self.line:,}" if self.line is not None else "",
            f"column {self.column}" if self.column else "",
            f"record {self.record}" if self.record else "",
        ]
        return ", ".join(p for p in parts if p)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class PackageError(RosterError):
    """A OneRoster CSV package that cannot be read. `problems` holds every problem found (the
    errors and the warnings met on the way); the message lists them, errors first."""

    title = "OneRoster package rejected"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity is Severity.ERROR]
        warnings = [p for p in self.problems if p.severity is not Severity.ERROR]
        lines = [
            f"The OneRoster package cannot be read: {len(errors):,} problem"
            f"{'' if len(errors) == 1 else 's'} must be fixed in the file before it is synced."
        ]
        lines += [f"- {p}" for p in errors]
        if warnings:
            lines.append("Also noted (these alone would not stop the package):")
            lines += [f"- {p}" for p in warnings]
        super().__init__("\n".join(lines))

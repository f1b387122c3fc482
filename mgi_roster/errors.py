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
    ├── ParametersError              District Parameters missing or invalid
    ├── SyncRefused                  a sync cannot start (another one runs, ...)
    └── MergeRefused                 Approve / Undo refused; nothing was written

Every message is a whole sentence that says what failed and what to do, in the words of the
MGI's Clever Secure Sync guide where it has some. Secrets are never part of a message: the
client builds messages from status codes and District IDs only, never from headers or URLs
carrying credentials.
"""

from __future__ import annotations


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


class ParametersError(RosterError):
    title = "District Parameters"


class SyncRefused(RosterError):
    title = "Sync refused"


class MergeRefused(RosterError):
    title = "Approve refused"

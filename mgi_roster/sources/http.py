"""Retries the API clients share (Clever, the OneRoster API): timeouts, waits on 429, bounded
exponential backoff on 5xx answers and dropped connections.

Each client keeps its own reading of an answer (envelopes, 401s, error bodies); what is shared is
the loop that decides whether to ask again, and how long to wait. A `Voice` says how one service's
failures read to a specialist and which error they raise, so the sentences stay the service's
own ("Clever is having trouble ...", "The OneRoster API ...").

Nothing here logs a header, a body or a URL's query: only the host and path (`where`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from mgi_roster.errors import RosterError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (10.0, 120.0)  # (connect, read) seconds: a 10,000-record page can be slow
DEFAULT_BACKOFF = 1.0  # seconds before the first retry; doubled each time
MAX_WAIT = 120.0  # never wait longer than this for a rate limit, whatever the server says
# No answer, or an answer cut off on the way (a connection dropped mid-body): worth retrying.
TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@dataclass(frozen=True)
class Voice:
    """How a service's transient failures are said, and the error they end in."""

    name: str  # as a sentence's subject: "Clever", "The OneRoster API"
    unavailable: Callable[[str], RosterError]
    retry_statuses: frozenset[int]
    unreachable_advice: str  # after "Could not reach X at host/path after N attempts (Error)."
    busy_advice: str  # after "X kept answering 'too many requests' ..."
    failing_advice: str  # after "X answered HTTP 503 for host/path N times in a row."

    @property
    def object(self) -> str:
        """The name inside a sentence: "Clever", "the OneRoster API"."""
        return self.name[0].lower() + self.name[1:] if self.name.startswith("The ") else self.name


@dataclass
class Attempts:
    """Failures and rate-limit waits so far for one request; a caller that retries for reasons
    of its own (a body cut off on the way) counts them here too, against the same bound."""

    failures: int = 0
    waits: int = 0


def where(url: str) -> str:
    """Host and path of a URL, for messages and logs: never its query or credentials."""
    parts = urlsplit(url)
    return f"{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


@dataclass
class Retrying:
    """requests with the retry rules: every request has a timeout; 429 waits (Retry-After or
    X-RateLimit-Reset honoured, bounded); retried statuses and dropped connections back off
    exponentially, at most `max_retries` times; anything else is the caller's to read."""

    session: requests.Session
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    max_retries: int = 5  # 5xx and connection errors, per request
    max_rate_limit_waits: int = 20  # consecutive 429s for one request
    backoff: float = DEFAULT_BACKOFF  # seconds, doubled each retry
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def send(
        self,
        voice: Voice,
        method: str,
        url: str,
        *,
        attempts: Attempts | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send until an answer that is neither a 429 nor a retried status; raise
        `voice.unavailable(...)` when the bounds are reached."""
        attempts = attempts if attempts is not None else Attempts()
        place = where(url)
        while True:
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except TRANSIENT_ERRORS as exc:
                self.failed(
                    voice,
                    attempts,
                    f"{type(exc).__name__} from {place}",
                    f"Could not reach {voice.object} at {place} after {attempts.failures + 1} "
                    f"attempts ({type(exc).__name__}). {voice.unreachable_advice}",
                )
                continue
            status = response.status_code
            if status == 429:
                attempts.waits += 1
                if attempts.waits > self.max_rate_limit_waits:
                    raise voice.unavailable(
                        f"{voice.name} kept answering 'too many requests' for {place} after "
                        f"{attempts.waits - 1} waits. {voice.busy_advice}"
                    )
                self.wait_for_rate_limit(voice, response)
                continue
            if status in voice.retry_statuses:
                self.failed(
                    voice,
                    attempts,
                    f"HTTP {status} from {place}",
                    f"{voice.name} answered HTTP {status} for {place} {attempts.failures + 1} "
                    f"times in a row. {voice.failing_advice}",
                )
                continue
            return response

    def failed(
        self,
        voice: Voice,
        attempts: Attempts,
        reason: str,
        message: str,
        error: Callable[[str], RosterError] | None = None,
    ) -> None:
        """Count a failure: back off before the next attempt, or raise `message` (as `error`,
        else the voice's `unavailable`) when the retries are spent."""
        attempts.failures += 1
        if attempts.failures > self.max_retries:
            raise (error or voice.unavailable)(message) from None
        delay = self.backoff * 2 ** (attempts.failures - 1)
        log.warning(
            "%s; retrying in %.1f s (attempt %d of %d)",
            reason,
            delay,
            attempts.failures + 1,
            self.max_retries + 1,
        )
        self.sleep(delay)

    def wait_for_rate_limit(self, voice: Voice, response: requests.Response) -> None:
        delay = rate_limit_delay(response, self.clock())
        log.info("%s rate limit reached; waiting %.1f s for the window to reset", voice.name, delay)
        self.sleep(delay)


class Bearer(requests.auth.AuthBase):
    """Bearer auth that never shows the token in a repr or a log line."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "Bearer(<hidden>)"


def rate_limit_delay(response: requests.Response, now: float) -> float:
    """Seconds to wait after a 429: until X-RateLimit-Reset (unix seconds; Clever's, which may
    repeat once per bucket, "a, b": the latest is the safe one) or for Retry-After (seconds or an
    HTTP date), whichever is longer; a little past it, and never more than MAX_WAIT."""
    delay = 0.0
    reset = response.headers.get("X-RateLimit-Reset")
    if reset:
        try:
            delay = max(float(part) for part in reset.split(",")) - now
        except ValueError:
            delay = 0.0
    retry_after = (response.headers.get("Retry-After") or "").strip()
    if retry_after.isdigit():
        delay = max(delay, float(retry_after))
    elif retry_after:
        try:
            when = parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            delay = max(delay, when.timestamp() - now)
    return min(max(delay, 0.0) + 0.5, MAX_WAIT)

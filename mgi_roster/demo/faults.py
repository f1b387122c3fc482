"""Fault modes: a bad day on the network and at Clever, on request.

``faults=`` on either transport (``demo serve --fault MODE`` on the command line): 429 bursts,
5xx answers, answers slower than the client's read timeout, JSON cut in half, a connection
dropped mid-body, an HTML page with status 200, a token revoked mid-sync (``FAULT_MODES``).
``Faults.answer`` applies them around ``handle()`` and returns a ``Faulted`` answer; each
transport then fails the way its clients would see it. With no faults the answers are byte for
byte the same as without the feature.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from mgi_roster.demo.clever_wire import (
    RATE_LIMIT,
    DemoResponse,
    RateLimiter,
    _json,
    _self_uri,
    handle,
)
from mgi_roster.demo.district import DemoDistrict
from mgi_roster.errors import InputError

# mode -> (what its number means, default number or None when one must be given)
FAULT_MODES: dict[str, tuple[str, float | None]] = {
    "429-burst": ("the first N data requests of each minute answer 429", 5),
    "5xx": ("every k-th data request answers 500, 502, 503 in turn", 4),
    "slow": ("every 5th data request is answered after SECONDS", 130),
    "truncated-json": ("each page URL's first answer is half its JSON body", None),
    "disconnect": ("each page URL's first answer drops the connection halfway", None),
    "html": ("every k-th data request answers an HTML page with status 200", 3),
    "revoke-after": ("the token is revoked after N data requests: 401 from then on", None),
}
_NUMBERLESS = ("truncated-json", "disconnect")
SLOW_EVERY = 5  # `slow` delays every 5th data request: its retry (the next one) is fast
BURST_RESET_SECONDS = 2  # `429-burst` sets X-RateLimit-Reset this far ahead

_BAD_GATEWAY = (  # what a load balancer in front of an API sends, not Clever's own JSON
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
_PORTAL_PAGE = (  # a proxy's or captive portal's page, served with 200 where JSON belongs
    b'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    b"<title>Network access</title>\n</head>\n<body>\n<h1>Sign in to continue</h1>\n"
    b"<p>This network requires you to accept its terms before you can browse.</p>\n"
    b"</body>\n</html>\n"
)


@dataclass(frozen=True)
class Fault:
    """One fault mode and its number (see ``FAULT_MODES``)."""

    mode: str
    number: float | None = None

    def __str__(self) -> str:
        if self.number is None:
            return self.mode
        return f"{self.mode}={self.number:g}"


def parse_fault(spec: str | Fault) -> Fault:
    """``"429-burst"``, ``"5xx=3"``, ``"slow=0.5"``, ``"revoke-after=40"`` → a Fault."""
    if isinstance(spec, Fault):
        spec = str(spec)
    mode, sep, raw = spec.strip().partition("=")
    mode = mode.strip().lower()
    if mode not in FAULT_MODES:
        raise InputError(
            f"Unknown fault mode {mode!r}: use one of {', '.join(FAULT_MODES)} "
            "(with =NUMBER where it takes one)."
        )
    meaning, default = FAULT_MODES[mode]
    if mode in _NUMBERLESS:
        if sep:
            raise InputError(f"The fault mode {mode} takes no number ({meaning}).")
        return Fault(mode)
    if not sep:
        if default is None:
            raise InputError(f"The fault mode {mode} needs a number: {mode}=N ({meaning}).")
        return Fault(mode, float(default))
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    whole = mode != "slow"
    if not math.isfinite(number) or number < (1 if whole else 0) or (whole and number % 1):
        kind = "a whole number of at least 1" if whole else "a number of seconds"
        raise InputError(f"The fault mode {mode} needs {kind} after '=' (not {raw!r}): {meaning}.")
    return Fault(mode, number)


@dataclass(frozen=True)
class Faulted:
    """An answer with a fault applied: sent after ``delay`` seconds; with ``drop_after`` set,
    only that many body bytes are sent (under the full Content-Length) and the connection closes."""

    response: DemoResponse
    delay: float = 0.0
    drop_after: int | None = None


class Faults:
    """The faults a transport runs with, their state, and what they did (``fired``, per mode).

    Only data requests (``/v3.0/...``) count and fail; the OAuth endpoints always answer.
    With several modes the first that applies wins, in this order: revoke-after, 429-burst,
    5xx, html; then slow, truncated-json and disconnect shape the answer.
    """

    def __init__(
        self, specs: Iterable[str | Fault] = (), clock: Callable[[], float] = time.time
    ) -> None:
        self.faults = {fault.mode: fault for fault in map(parse_fault, specs)}
        self.clock = clock
        self.fired: collections.Counter[str] = collections.Counter()
        self.data_requests = 0
        self._lock = threading.Lock()
        self._window: int | None = None
        self._in_window = 0
        self._cut: dict[str, set[str]] = {"truncated-json": set(), "disconnect": set()}

    def __bool__(self) -> bool:
        return bool(self.faults)

    def __str__(self) -> str:
        return ", ".join(str(f) for f in self.faults.values())

    def _number(self, mode: str) -> float | None:
        fault = self.faults.get(mode)
        return None if fault is None else fault.number

    def answer(
        self,
        district: DemoDistrict,
        method: str,
        path: str,
        query: Mapping[str, Sequence[str]],
        headers: Mapping[str, str],
        *,
        limiter: RateLimiter | None = None,
    ) -> Faulted:
        """``handle()``'s answer, with this request's faults applied."""
        if not path.startswith("/v3.0/"):
            return Faulted(handle(district, method, path, query, headers, limiter=limiter))
        url = _self_uri(path, {k: query[k] for k in sorted(query)})
        with self._lock:
            self.data_requests += 1
            n = self.data_requests
            mode = self._failure(n)
            cut = self._first_cut(url) if mode is None else None
            if mode is not None:
                self.fired[mode] += 1
            occurrence = self.fired[mode] if mode is not None else 0
        if mode == "revoke-after":
            # The bearer the district revoked: handle() answers its own 401, rate headers and all.
            revoked = {**headers, "Authorization": "Bearer revoked-by-the-district"}
            return Faulted(handle(district, method, path, query, revoked, limiter=limiter))
        if mode == "429-burst":
            return Faulted(self._too_many(limiter))
        if mode == "5xx":
            return Faulted(_server_error((500, 502, 503)[(occurrence - 1) % 3]))
        if mode == "html":
            return Faulted(
                DemoResponse(200, {"Content-Type": "text/html; charset=utf-8"}, _PORTAL_PAGE)
            )
        response = handle(district, method, path, query, headers, limiter=limiter)
        delay = 0.0
        slow = self._number("slow")
        if slow and n % SLOW_EVERY == 0:  # slow=0: never
            delay = slow
            self._count("slow")
        if cut is not None and response.status == 200 and response.body:
            self._count(cut)
            half = len(response.body) // 2
            if cut == "truncated-json":  # a complete HTTP answer whose JSON stops halfway
                return Faulted(replace(response, body=response.body[:half]), delay)
            return Faulted(response, delay, drop_after=half)
        return Faulted(response, delay)

    def _failure(self, n: int) -> str | None:
        """The mode that fails data request ``n`` outright, if any (called under the lock)."""
        revoke = self._number("revoke-after")
        if revoke is not None and n > revoke:
            return "revoke-after"
        burst = self._number("429-burst")
        if burst is not None:
            window = int(self.clock() // 60)
            if window != self._window:
                self._window, self._in_window = window, 0
            self._in_window += 1
            if self._in_window <= burst:
                return "429-burst"
        for mode in ("5xx", "html"):
            every = self._number(mode)
            if every is not None and n % every == 0:
                return mode
        return None

    def _first_cut(self, url: str) -> str | None:
        """truncated-json or disconnect, the first time this page URL is asked for."""
        for mode, seen in self._cut.items():
            if mode in self.faults and url not in seen:
                seen.add(url)
                return mode
        return None

    def _count(self, mode: str) -> None:
        with self._lock:
            self.fired[mode] += 1

    def _too_many(self, limiter: RateLimiter | None) -> DemoResponse:
        limit = limiter.limit if limiter is not None and limiter.limit is not None else RATE_LIMIT
        reset = math.ceil(self.clock()) + BURST_RESET_SECONDS
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Bucket": "bearer",
        }
        return DemoResponse(429, headers, b"")  # Clever's 429: empty body, no Retry-After


def _server_error(status: int) -> DemoResponse:
    if status == 502:
        return DemoResponse(502, {"Content-Type": "text/html"}, _BAD_GATEWAY)
    if status == 503:
        return DemoResponse(
            503, {"Content-Type": "text/plain; charset=utf-8"}, b"Service Unavailable"
        )
    return _json(500, {"message": "Internal Server Error"})

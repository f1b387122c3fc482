"""The in-process transport: ``DemoAdapter``, a ``requests`` adapter answering through ``handle()``.

``mount_demo(session, district)`` mounts it on a session for Clever's API and OAuth hosts, so
the Clever client runs unchanged and no request leaves the process. The caller decides whether
to mount it (``mgi_roster.districts``); the Clever client does not know the demo.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from mgi_roster.demo.clever_wire import RATE_LIMIT, DemoResponse, RateLimiter, handle
from mgi_roster.demo.district import DemoDistrict
from mgi_roster.demo.faults import Fault, Faults


def _read_timeout(timeout: Any) -> float | None:
    """The read part of a requests timeout (a number, or a (connect, read) pair)."""
    if isinstance(timeout, tuple):
        timeout = timeout[1] if len(timeout) > 1 else None
    return None if timeout is None else float(timeout)


class DemoAdapter(BaseAdapter):
    """A ``requests`` transport answering from the demo district through ``handle``."""

    def __init__(
        self,
        district: DemoDistrict,
        *,
        clock: Callable[[], float] = time.time,
        rate_limit: int | None = RATE_LIMIT,
        faults: Iterable[str | Fault] = (),
    ) -> None:
        super().__init__()
        self.district = district
        self.limiter = RateLimiter(rate_limit, clock)
        self.faults = Faults(faults, clock)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        parts = urlsplit(request.url or "")
        query = parse_qs(parts.query, keep_blank_values=True)
        if self.faults:
            result = self._faulted(request, parts.path or "/", query, timeout)
        else:
            result = handle(
                self.district,
                request.method or "GET",
                parts.path or "/",
                query,
                request.headers,
                limiter=self.limiter,
            )
        return as_response(request, result, self)

    def _faulted(
        self,
        request: requests.PreparedRequest,
        path: str,
        query: Mapping[str, Sequence[str]],
        timeout: Any,
    ) -> DemoResponse:
        """The answer with its faults, as requests would surface them: an answer slower than the
        read timeout is a ReadTimeout, a dropped connection a ChunkedEncodingError."""
        faulted = self.faults.answer(
            self.district,
            request.method or "GET",
            path,
            query,
            request.headers,
            limiter=self.limiter,
        )
        if faulted.delay:
            read = _read_timeout(timeout)
            if read is not None and faulted.delay > read:
                time.sleep(read)
                raise requests.ReadTimeout(
                    f"Read timed out. (read timeout={read:g})", request=request
                )
            time.sleep(faulted.delay)
        if faulted.drop_after is not None:
            missing = len(faulted.response.body) - faulted.drop_after
            raise requests.exceptions.ChunkedEncodingError(
                f"('Connection broken: IncompleteRead({faulted.drop_after} bytes read, "
                f"{missing} more expected)', IncompleteRead({faulted.drop_after} bytes read, "
                f"{missing} more expected))",
                request=request,
            )
        return faulted.response

    def close(self) -> None:
        """Nothing to release: there is no connection."""


def mount_demo(
    session: requests.Session,
    district: DemoDistrict,
    api_base: str = "https://api.clever.com",
    oauth_base: str = "https://clever.com",
    **kw: Any,
) -> DemoAdapter:
    """Route the session's Clever traffic (API and OAuth hosts) to one in-process demo adapter."""
    adapter = DemoAdapter(district, **kw)
    for base in (api_base, oauth_base):
        session.mount(base.rstrip("/") + "/", adapter)  # the slash keeps clever.com.evil out
    return adapter


def as_response(
    request: requests.PreparedRequest, result: DemoResponse, adapter: BaseAdapter
) -> requests.Response:
    """A demo's answer as the requests.Response a real server's would be (the Clever and the
    OneRoster demo transports both answer through this)."""
    response = requests.Response()
    response.status_code = result.status
    response.headers = CaseInsensitiveDict(
        {**result.headers, "Content-Length": str(len(result.body))}
    )
    response._content = result.body
    response._content_consumed = True  # type: ignore[attr-defined]  # requests' private flag: the body is read
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response.reason = HTTPStatus(result.status).phrase
    response.url = request.url or ""
    response.request = request
    response.connection = adapter  # type: ignore[assignment]  # an adapter, as requests' own
    return response

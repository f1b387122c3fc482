"""The demo's OneRoster API on two transports: in process (a ``requests`` adapter) and on
loopback (``python -m mgi_roster demo serve --provider oneroster``).

``mount_oneroster_demo(session, district)`` routes the session's requests for the demo's
OneRoster host (``DEMO_ONEROSTER_HOST``, a reserved ``.invalid`` name, so nothing can leave the
process) to a ``OneRosterAdapter``; ``make_oneroster_server()`` serves the same API over real
sockets. Both answer through one ``OneRosterApi``, so they agree byte for byte.
"""

from __future__ import annotations

import http.server
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import BaseAdapter

from mgi_roster.demo.district import DemoDistrict
from mgi_roster.demo.ids import DEMO_DISTRICT_ID
from mgi_roster.demo.oneroster_api import (
    DEMO_ONEROSTER_CLIENT_ID,
    DEMO_ONEROSTER_CLIENT_SECRET,
    TOKEN_PATH,
    OneRosterApi,
)
from mgi_roster.demo.oneroster_wire import BASE_V1P1, BASE_V1P2
from mgi_roster.demo.server import _interrupt
from mgi_roster.demo.transport import as_response

DEMO_ONEROSTER_HOST = "https://oneroster.demo.invalid"  # RFC 2606: never resolves
DEMO_ONEROSTER_ENDPOINT = DEMO_ONEROSTER_HOST + BASE_V1P2
DEMO_ONEROSTER_V1P1_ENDPOINT = DEMO_ONEROSTER_HOST + BASE_V1P1
DEMO_ONEROSTER_TOKEN_URL = DEMO_ONEROSTER_HOST + TOKEN_PATH


class OneRosterAdapter(BaseAdapter):
    """A ``requests`` transport answering from the demo district's OneRoster API."""

    def __init__(self, district: DemoDistrict, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.api = OneRosterApi(district, clock)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        body = request.body
        result = self.api.answer(
            request.method or "GET",
            request.url or "",
            dict(request.headers),
            body.encode() if isinstance(body, str) else body,
        )
        return as_response(request, result, self)

    def close(self) -> None:
        """Nothing to release: there is no connection."""


def mount_oneroster_demo(
    session: requests.Session, district: DemoDistrict, host: str = DEMO_ONEROSTER_HOST, **kw: Any
) -> OneRosterAdapter:
    """Route the session's traffic for `host` (API and token URL) to the in-process demo."""
    adapter = OneRosterAdapter(district, **kw)
    session.mount(host.rstrip("/") + "/", adapter)  # the slash keeps look-alike hosts out
    return adapter


# -- loopback ------------------------------------------------------------------------------------


class _OneRosterServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: OneRosterApi) -> None:
        self.api = api
        super().__init__(address, _OneRosterHandler)


class _OneRosterHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a requests.Session reuses its connection
    server: _OneRosterServer

    def _answer(self, send_body: bool = True) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        method = "GET" if self.command == "HEAD" else self.command
        # The URL as the client wrote it: OAuth 1.0a signatures cover it, Link headers use it.
        result = self.server.api.answer(
            method, f"http://{host}{self.path}", dict(self.headers.items()), body
        )
        self.send_response(result.status)
        for name, value in result.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(result.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(result.body)

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet, like the Clever demo server."""


def make_oneroster_server(
    district: DemoDistrict,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Callable[[], float] = time.time,
) -> http.server.ThreadingHTTPServer:
    """A loopback server answering like a OneRoster provider (port 0: a free port)."""
    return _OneRosterServer((host, port), OneRosterApi(district, clock))


def serve_oneroster(district: DemoDistrict, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve the demo district's OneRoster API until Ctrl-C or SIGTERM."""
    server = make_oneroster_server(district, host, port)
    bound_host, bound_port = server.server_address[:2]
    if isinstance(bound_host, bytes):
        bound_host = bound_host.decode()
    root = f"http://{bound_host}:{bound_port}"
    print(
        f"Demo OneRoster district {DEMO_DISTRICT_ID} (day {district.day}, "
        f"{district.counts()['students']:,} students): endpoint {root}{BASE_V1P2} "
        f"(1.1: {root}{BASE_V1P1}), token URL {root}{TOKEN_PATH} — client id "
        f"{DEMO_ONEROSTER_CLIENT_ID}, secret {DEMO_ONEROSTER_CLIENT_SECRET} (published demo values)",
        flush=True,
    )
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops it like Ctrl-C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

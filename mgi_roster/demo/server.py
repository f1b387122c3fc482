"""The loopback HTTP server: the demo district over real sockets, for benchmarks and wire tests.

``make_server()`` builds it (port 0: a free port); ``serve()`` runs it until Ctrl-C or SIGTERM
(``python -m mgi_roster demo serve``). It answers through ``handle()`` like the in-process
transport, keeps connections alive, and applies fault modes by really stalling, cutting or
dropping the connection.
"""

from __future__ import annotations

import http.server
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mgi_roster.demo import events
from mgi_roster.demo.clever_wire import DEMO_DISTRICT_TOKEN, RATE_LIMIT, RateLimiter, handle
from mgi_roster.demo.district import DemoDistrict
from mgi_roster.demo.faults import Fault, Faults
from mgi_roster.demo.ids import DEMO_DISTRICT_ID


class _DemoServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        district: DemoDistrict,
        limiter: RateLimiter,
        faults: Faults | None = None,
    ) -> None:
        self.district = district
        self.limiter = limiter
        self.faults = faults if faults is not None else Faults()
        super().__init__(address, _DemoRequestHandler)


class _DemoRequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a requests.Session reuses its connection
    server: _DemoServer

    def _answer(self, send_body: bool = True) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)  # drain it, or the next keep-alive request is corrupted
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        method = "GET" if self.command == "HEAD" else self.command
        if self.server.faults:
            self._answer_with_faults(method, parts.path or "/", query, send_body)
            return
        result = handle(
            self.server.district,
            method,
            parts.path or "/",
            query,
            dict(self.headers.items()),
            limiter=self.server.limiter,
        )
        self.send_response(result.status)
        for name, value in result.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(result.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(result.body)

    def _answer_with_faults(
        self, method: str, path: str, query: Mapping[str, Sequence[str]], send_body: bool
    ) -> None:
        faulted = self.server.faults.answer(
            self.server.district,
            method,
            path,
            query,
            dict(self.headers.items()),
            limiter=self.server.limiter,
        )
        result = faulted.response
        if faulted.delay:
            time.sleep(faulted.delay)
        body = result.body if faulted.drop_after is None else result.body[: faulted.drop_after]
        try:
            self.send_response(result.status)
            for name, value in result.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(result.body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:  # the client gave up on a slow answer and closed the connection
            self.close_connection = True
        if faulted.drop_after is not None:
            self.close_connection = True  # the rest of the body never comes

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a demo server should not flood the terminal with one line per page."""


def make_server(
    district: DemoDistrict,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Callable[[], float] = time.time,
    rate_limit: int | None = RATE_LIMIT,
    faults: Iterable[str | Fault] = (),
) -> http.server.ThreadingHTTPServer:
    """A loopback server answering like api.clever.com and clever.com (port 0: a free port).

    ``faults`` (see ``FAULT_MODES``) make it fail the way networks and Clever do; the server's
    ``faults.fired`` counts what they did.
    """
    return _DemoServer(
        (host, port), district, RateLimiter(rate_limit, clock), Faults(faults, clock)
    )


def serve(district: DemoDistrict, host: str = "127.0.0.1", port: int = 0, **kw: Any) -> None:
    """Serve the demo district until Ctrl-C or SIGTERM, then close the socket and return.

    The events feed is derived before the socket opens (seconds at a million students), so the
    first events request is answered as fast as Clever would."""
    events.feed(district)
    server = make_server(district, host, port, **kw)
    bound_host, bound_port = server.server_address[:2]
    if isinstance(bound_host, bytes):
        bound_host = bound_host.decode()
    faults = getattr(server, "faults", None)
    print(
        f"Demo Clever district {DEMO_DISTRICT_ID} (day {district.day}, "
        f"{district.counts()['students']:,} students) on http://{bound_host}:{bound_port} "
        f"— token: {DEMO_DISTRICT_TOKEN}" + (f" — faults: {faults}" if faults else ""),
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


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt

"""/metrics, /healthz and /readyz on one small threaded HTTP server.

Slow or idle clients cannot starve the probes: every connection has a socket
timeout, at most `max_connections` are open at once, and when a new one
arrives at the cap the oldest connection still sending its request is closed
to make room. IPv4 and IPv6 listen addresses both work (`[::]:9102` accepts
IPv4 too where the system allows dual-stack sockets).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

__all__ = ["CONNECTION_TIMEOUT_SECONDS", "MAX_CONNECTIONS", "HealthServer", "Reply", "Route"]

CONNECTION_TIMEOUT_SECONDS = 5.0
MAX_CONNECTIONS = 32
_TEXT = "text/plain; charset=utf-8"

# A route answers (status, body, content type); it gets the request's Accept header.
Reply = tuple[int, bytes, str]
Route = Callable[[str], Reply]


class _Server(ThreadingHTTPServer):
    """Tracks open connections: (opened at, still reading its request)."""

    daemon_threads = True
    # socketserver's default backlog is 5: a burst of connections beyond it (scrapers,
    # probes, slow clients) waits out TCP's one-second SYN retransmits before the cap and
    # the eviction above ever see it.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], cap: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._cap = cap
        self._open: dict[socket.socket, list[Any]] = {}
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        """Dual-stack for `::` where the system allows it."""
        if self.address_family == socket.AF_INET6:
            with contextlib.suppress(OSError, AttributeError):
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Admit the connection, making room at the cap by closing the oldest one still reading."""
        with self._open_lock:
            if len(self._open) >= self._cap:
                reading = [(opened, sock) for sock, (opened, busy) in self._open.items() if busy]
                if not reading:
                    self.shutdown_request(request)
                    return
                _, oldest = min(reading, key=lambda item: item[0])
                self._open.pop(oldest, None)
                with contextlib.suppress(OSError):
                    oldest.shutdown(socket.SHUT_RDWR)
            self._open[request] = [time.monotonic(), True]
        super().process_request(request, client_address)

    def request_read(self, request: socket.socket) -> None:
        """The request line and headers arrived: no longer a candidate for eviction."""
        with self._open_lock:
            entry = self._open.get(request)
            if entry is not None:
                entry[1] = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that left (a scrape timeout) is routine; anything else is logged as one JSON line.

        socketserver's default prints a traceback to stderr as plain text.
        """
        error = sys.exc_info()[1]
        log = structlog.get_logger("watcher.http")
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("client went away", client=str(client_address), error=type(error).__name__)
            return
        log.exception("request failed", client=str(client_address))

    def close_request(self, request: Any) -> None:
        """Forget the connection as it closes."""
        with self._open_lock:
            self._open.pop(request, None)
        super().close_request(request)


class HealthServer:
    """Serves the registry and the probes; `live()` and `unready_reason()` are asked per request.

    Routes are a table (`add_route` adds one), so more endpoints stay a line each.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        registry: CollectorRegistry,
        live: Callable[[], bool],
        unready_reason: Callable[[], str | None],
        max_connections: int = MAX_CONNECTIONS,
        connection_timeout: float = CONNECTION_TIMEOUT_SECONDS,
    ) -> None:
        def metrics(accept: str) -> Reply:
            encoder, content_type = choose_encoder(accept)
            return 200, encoder(registry), content_type

        def healthz(_accept: str) -> Reply:
            ok = live()
            return (200, b"ok\n", _TEXT) if ok else (503, b"main loop stalled\n", _TEXT)

        def readyz(_accept: str) -> Reply:
            reason = unready_reason()
            if reason is None:
                return 200, b"ready\n", _TEXT
            return 503, (reason.splitlines()[0] + "\n").encode(), _TEXT

        self._routes: dict[str, Route] = {"/metrics": metrics, "/healthz": healthz, "/readyz": readyz}
        routes = self._routes

        class Handler(BaseHTTPRequestHandler):
            server_version = "cloudfront-watcher"
            timeout = connection_timeout  # a socket timeout per connection: no client holds a thread

            def do_GET(self) -> None:
                server = self.server
                if isinstance(server, _Server):
                    server.request_read(self.connection)
                route = routes.get(self.path.split("?", 1)[0])
                if route is None:
                    names = ", ".join(sorted(routes))
                    self._reply(404, f"not found: try {names}\n".encode(), _TEXT)
                    return
                self._reply(*route(self.headers.get("Accept", "")))

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Probes every few seconds would drown the log."""

        self._server = _Server((host, port), Handler, max_connections)
        # A short poll interval: stop() returns within 0.1 s, inside the shutdown timeout.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="http", daemon=True
        )

    def add_route(self, path: str, route: Route) -> None:
        """Serve GET `path` with `route` (before `start`)."""
        self._routes[path] = route

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (port 0 resolved)."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """Base URL for humans and tests (all-interfaces shown as loopback)."""
        host, port = self.address
        if host in ("0.0.0.0", ""):  # noqa: S104 - display only
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()
        structlog.get_logger("watcher.http").info("http server listening", url=self.url, address=self.address)

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

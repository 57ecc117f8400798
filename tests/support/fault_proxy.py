"""A loopback HTTP proxy in front of moto that injects AWS-shaped faults.

Tests point boto3 at it (``AWS_ENDPOINT_URL_SQS=proxy.url`` ...). Each request
is forwarded as it came (method, path, query, headers, body) unless a fault
says otherwise. Faults are decided in arrival order from one seeded random
generator under a lock, so a run with the same requests is the same run.

Fault kinds:
    "503", "500", "throttle"  an AWS error response in the service's own protocol,
    "denied"                  not forwarded (botocore sees the real error code;
                              "denied" is IAM's 403 AccessDenied)
    "lost_response"           forwarded (the request IS applied), then the
                              connection is closed without an answer
    "slow"                    held for ``slow_seconds`` (beyond the client's read
                              timeout), then forwarded and answered; ``set_slow(N)``
                              makes every request slow: an endpoint answering after N s
    "hang"                    accepted and never answered nor forwarded: held until
                              ``release_hung()`` (or stop), then closed without an answer
                              (a brownout, a black-holed VPC endpoint); ``set_hanging(True)``
                              hangs every request until ``set_hanging(False)``
    "reset"                   connection reset without forwarding
    "down"                    via ``set_down(True)``: every request is reset
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from tests.support.aws_wire import ERROR_FAULT_KINDS, FAULT_KINDS, Request, Response, fault_error, identify

__all__ = ["FAULT_KINDS", "FaultProxy", "Matcher", "RecordedRequest", "Request", "Response"]

Matcher = Callable[[Request], bool]

# Hop-by-hop headers belong to one connection, never relayed.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "content-length",
    }
)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """What the proxy saw and did: fault is None when the request went through."""

    method: str
    path: str
    service: str
    action: str
    fault: str | None
    status: int | None


@dataclass(slots=True)
class _Script:
    kind: str
    remaining: int
    match: Matcher | None


class _Dropped(Exception):
    """Raised inside a handler to end the connection without an answer."""


class FaultProxy:
    """Forwards to `upstream` on 127.0.0.1:0, injecting faults; see the module docstring."""

    def __init__(self, upstream: str, *, seed: int = 0, slow_seconds: float = 2.0) -> None:
        parts = urlsplit(upstream)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"upstream must be http://HOST:PORT, got {upstream!r}")
        self.upstream = upstream
        self._upstream_addr = (parts.hostname, parts.port)
        self.slow_seconds = slow_seconds
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._rate = 0.0
        self._rate_kinds: tuple[str, ...] = ()
        self._rate_match: Matcher | None = None
        self._scripts: list[_Script] = []
        self._down = False
        self._serialized: Matcher | None = None
        self._one_at_a_time = threading.Lock()
        self._hanging = False
        self._release_hung = threading.Event()
        self._log: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The proxy's base URL (after start())."""
        if self._server is None:
            raise RuntimeError("proxy not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Listen on 127.0.0.1 (random port) and return the proxy's URL."""
        handler = type("_BoundHandler", (_Handler,), {"proxy": self})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fault-proxy", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop listening; requests held by "slow" are released at once."""
        self._stopping.set()
        self.release_hung()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- faults --------------------------------------------------------------------

    def set_fault_rate(
        self, rate: float, kinds: Sequence[str] = ("503",), match: Matcher | None = None
    ) -> None:
        """Fault a fraction `rate` of the matching requests, kind drawn from `kinds`."""
        _check_kinds(kinds)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within 0..1, got {rate}")
        if rate > 0 and not kinds:
            raise ValueError("a fault rate needs at least one kind")
        with self._lock:
            self._rate, self._rate_kinds, self._rate_match = rate, tuple(kinds), match

    def inject(self, kind: str, count: int = 1, match: Matcher | None = None) -> None:
        """Fault the next `count` matching requests with `kind` (after earlier scripts)."""
        _check_kinds([kind])
        with self._lock:
            self._scripts.append(_Script(kind, count, match))

    def set_down(self, down: bool) -> None:
        """Simulate an outage: while down, every connection is reset, nothing forwarded."""
        with self._lock:
            self._down = down

    def serialize(self, match: Matcher | None) -> None:
        """Forward matching requests one at a time (None: all in parallel again).

        moto's SQS is not safe for concurrent receives and deletes of one queue (two
        receives can take the same message; two deletes rebuild the message list from
        one snapshot, so one deletion is lost and the message comes back): AWS is.
        Tests with several consumers of one queue put its SQS traffic through here.
        """
        with self._lock:
            self._serialized = match

    def set_hanging(self, hanging: bool) -> None:
        """A hung endpoint: while on, every request is accepted and never answered.

        Turning it off releases the held requests (closed without an answer).
        """
        with self._lock:
            self._hanging = hanging
        if not hanging:
            self.release_hung()

    def release_hung(self) -> None:
        """Close every request held by "hang" (without an answer)."""
        with self._lock:
            released, self._release_hung = self._release_hung, threading.Event()
        released.set()

    def set_slow(self, seconds: float | None) -> None:
        """A slow endpoint: every request answered after `seconds` (None: back to normal)."""
        if seconds is None:
            self.set_fault_rate(0.0, ())
            return
        self.slow_seconds = seconds
        self.set_fault_rate(1.0, ("slow",))

    def clear_faults(self) -> None:
        """No more faults: rate 0, scripts dropped, up, not hanging (held requests released)."""
        with self._lock:
            self._rate, self._rate_kinds, self._rate_match = 0.0, (), None
            self._scripts.clear()
            self._down = False
        self.set_hanging(False)

    def _choose_fault(self, request: Request) -> str | None:
        with self._lock:
            if self._down:
                return "down"
            if self._hanging:
                return "hang"
            for script in self._scripts:
                if script.match is None or script.match(request):
                    script.remaining -= 1
                    if script.remaining <= 0:
                        self._scripts.remove(script)
                    return script.kind
            matched = self._rate > 0 and (self._rate_match is None or self._rate_match(request))
            # Draw only for matching requests: other traffic cannot shift the sequence.
            if matched and self._random.random() < self._rate:
                return self._random.choice(self._rate_kinds)
            return None

    # -- request log ---------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the request log, in arrival order."""
        with self._lock:
            return list(self._log)

    def count(self, action: str, *, fault: str | None = "*") -> int:
        """Requests for `action` ("ReceiveMessage" or "AmazonSQS.ReceiveMessage").

        `fault="*"` counts all of them, None only the unfaulted, a kind only that kind.
        """
        return sum(
            1
            for r in self.requests
            if action in (r.action, r.action.rpartition(".")[2]) and fault in ("*", r.fault)
        )

    def _record(self, request: Request, fault: str | None) -> int:
        entry = RecordedRequest(request.method, request.path, request.service, request.action, fault, None)
        with self._lock:
            self._log.append(entry)
            return len(self._log) - 1

    def _record_status(self, index: int, status: int) -> None:
        with self._lock:
            entry = self._log[index]
            self._log[index] = RecordedRequest(
                entry.method, entry.path, entry.service, entry.action, entry.fault, status
            )

    # -- serving -------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        """Answer one request that no fault stopped: by default, ask upstream."""
        return self.forward(request)

    def forward(self, request: Request) -> Response:
        """Send `request` to upstream as it is and return upstream's answer."""
        connection = http.client.HTTPConnection(*self._upstream_addr, timeout=30)
        try:
            headers = {k: v for k, v in request.headers if k.lower() not in _HOP_BY_HOP}
            if request.body or request.method in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(request.body))
            connection.request(request.method, request.target, body=request.body or None, headers=headers)
            upstream = connection.getresponse()
            body = upstream.read()
            kept = tuple(
                (k, v)
                for k, v in upstream.getheaders()
                if k.lower() not in _HOP_BY_HOP or (k.lower() == "content-length" and not body)
            )
            return Response(upstream.status, kept, body)
        finally:
            connection.close()

    def _serve(self, request: Request) -> Response:
        """The fault decision and the answer (raises _Dropped for no answer)."""
        fault = self._choose_fault(request)
        # Recorded on arrival, so a held ("slow") request is already in the log.
        index = self._record(request, fault)
        if fault in ("reset", "down"):
            raise _Dropped
        if fault == "hang":
            with self._lock:
                release = self._release_hung
            release.wait()
            raise _Dropped
        if fault in ERROR_FAULT_KINDS:
            response = fault_error(fault, request)
        else:
            if fault == "slow":
                self._stopping.wait(self.slow_seconds)
            with self._lock:
                serialized = self._serialized is not None and self._serialized(request)
            if serialized:
                with self._one_at_a_time:
                    response = self.dispatch(request)
            else:
                response = self.dispatch(request)
        self._record_status(index, response.status)
        if fault == "lost_response":
            raise _Dropped
        return response


def _check_kinds(kinds: Sequence[str]) -> None:
    unknown = [k for k in kinds if k not in FAULT_KINDS or k == "down"]
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}; known: {FAULT_KINDS[:-1]}")


class _QuietServer(ThreadingHTTPServer):
    """Clients that gave up (timeouts, "slow") are expected; keep stderr for real errors."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore the connection errors that faults provoke on purpose."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    """One connection: parse, ask the proxy, relay or drop."""

    proxy: FaultProxy
    protocol_version = "HTTP/1.1"
    # The head and the body go out in two writes: with Nagle on, the body waits for the
    # client's delayed ACK of the head, 40 ms on every kept-alive request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the proxy keeps its own log."""

    def _handle_any(self) -> None:
        parts = urlsplit(self.path)
        request = identify(
            Request(
                method=self.command,
                path=parts.path,
                query=parts.query,
                headers=tuple(self.headers.items()),
                body=self._read_body(),
            )
        )
        try:
            response = self.proxy._serve(request)
        except _Dropped:
            self._reset_connection()
            return
        self.send_response(response.status)
        head = self.command == "HEAD"
        for name, value in response.headers:
            if head or name.lower() != "content-length":
                self.send_header(name, value)
        if not head:
            self.send_header("Content-Length", str(len(response.body)))
        elif not any(k.lower() == "content-length" for k, _ in response.headers):
            self.send_header("Content-Length", "0")
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle_any

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reset_connection(self) -> None:
        # SO_LINGER 0 turns close() into a RST: the client sees the peer vanish.
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

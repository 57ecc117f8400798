"""The HTTP server under slow and idle clients, and on IPv6."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from prometheus_client import CollectorRegistry

from watcher.ops.http import MAX_CONNECTIONS, HealthServer


@contextmanager
def _server(host: str = "127.0.0.1", **kwargs: float) -> Iterator[HealthServer]:
    server = HealthServer(
        host=host,
        port=0,
        registry=CollectorRegistry(),
        live=lambda: True,
        unready_reason=lambda: None,
        **kwargs,  # type: ignore[arg-type]
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _get(url: str, timeout: float = 3.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
        return int(response.status), response.read()


def _half_request(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=5)
    sock.sendall(b"GET /heal")  # half a request line, never finished
    return sock


def test_seventy_slow_clients_do_not_starve_the_probes() -> None:
    # GIVEN a server with its default connection cap and timeout
    with _server() as server:
        threads_before = threading.active_count()
        # WHEN 70 clients each send half a request line and stay
        connecting = time.monotonic()
        slow = [_half_request(server.address) for _ in range(70)]
        try:
            # THEN each is accepted at once (none waits out TCP's 1 s SYN retransmit) ...
            assert time.monotonic() - connecting < 3.0
            # ... they hold at most the cap of connections (threads), not one each ...
            time.sleep(0.5)
            assert threading.active_count() - threads_before <= MAX_CONNECTIONS + 1
            # ... and /healthz still answers at once, every time
            for _ in range(5):
                started = time.monotonic()
                assert _get(f"{server.url}/healthz") == (200, b"ok\n")
                assert time.monotonic() - started < 2.0
        finally:
            for sock in slow:
                sock.close()


def test_an_idle_connection_is_closed_after_the_connection_timeout() -> None:
    # GIVEN a server with a short connection timeout
    with _server(connection_timeout=0.5) as server:
        # WHEN a client sends half a request and waits
        sock = _half_request(server.address)
        try:
            sock.settimeout(5)
            started = time.monotonic()
            # THEN the server closes it (EOF) within a few timeouts, not never
            while sock.recv(1024):
                pass
            assert time.monotonic() - started < 4.0
        finally:
            sock.close()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_an_ipv6_listen_address_serves() -> None:
    # GIVEN `listen = "[::]:0"` (all interfaces, IPv6)
    with _server(host="::") as server:
        # THEN the probes answer on IPv6 loopback
        assert server.url.startswith("http://[::1]:")
        assert _get(f"{server.url}/healthz") == (200, b"ok\n")


def test_routes_are_a_table_that_can_grow() -> None:
    with _server() as server:
        # GIVEN one more route
        server.add_route("/extra", lambda _accept: (200, b"more\n", "text/plain"))
        # THEN it answers, and an unknown path names every route
        assert _get(f"{server.url}/extra") == (200, b"more\n")
        with pytest.raises(urllib.error.HTTPError) as missing:
            _get(f"{server.url}/nope")
        assert b"/extra" in missing.value.read()

"""/metrics, /healthz, /readyz and /status on one small threaded HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

__all__ = ["HealthServer"]


class HealthServer:
    """Serves the registry and the probes; `live()` and `unready_reason()` are asked per request."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        registry: CollectorRegistry,
        live: Callable[[], bool],
        unready_reason: Callable[[], str | None],
        status_document: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "cloudfront-watcher"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
                    self._reply(200, encoder(registry), content_type)
                elif path == "/healthz":
                    ok = live()
                    self._reply(200 if ok else 503, b"ok\n" if ok else b"main loop stalled\n")
                elif path == "/readyz":
                    reason = unready_reason()
                    body = b"ready\n" if reason is None else (reason.splitlines()[0] + "\n").encode()
                    self._reply(200 if reason is None else 503, body)
                elif path == "/status" and status_document is not None:
                    body = json.dumps(status_document(), separators=(",", ":")).encode()
                    self._reply(200, body, "application/json")
                else:
                    self._reply(404, b"not found: try /metrics, /healthz, /readyz or /status\n")

            def _reply(
                self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8"
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Probes every few seconds would drown the log."""

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)
        self._owner = owner

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (port 0 resolved)."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """Base URL for humans and tests (0.0.0.0 shown as 127.0.0.1)."""
        host, port = self.address
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - display only
        return f"http://{shown}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()
        structlog.get_logger("watcher.http").info("http server listening", url=self.url, address=self.address)

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

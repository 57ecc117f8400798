"""`watcher healthcheck`: GET the running daemon's /healthz (ECS health checks: the image has no curl)."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from watcher.core.config import Settings

__all__ = ["healthcheck"]


def healthcheck(settings: Settings) -> int:
    """0 when the daemon on `[http] listen` answers /healthz with 200, else 1."""
    host = settings.http.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - bound to all: ask loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{settings.http.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    print("healthy" if ok else "unhealthy")
    return 0 if ok else 1

"""Shared fixtures: AWS is moto's server over real HTTP on loopback."""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from moto.server import ThreadedMotoServer

# Tests never talk to real AWS: fake credentials, one region, no IMDS lookups.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)


@contextmanager
def running_moto() -> Iterator[str]:
    """moto's server on 127.0.0.1 (random port), freshly reset; yields its base URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # moto's backends are process-global: without a reset, one test's queues leak into the next.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()  # noqa: S310
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def moto_server() -> Iterator[str]:
    """A fresh moto server per test."""
    with running_moto() as url:
        yield url


@pytest.fixture(autouse=True)
def _quiet_emulator_access_log() -> None:
    """moto's werkzeug access log would bury the assertion output."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

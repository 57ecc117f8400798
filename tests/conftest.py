"""Shared fixtures: AWS is moto's server over real HTTP on loopback."""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import settings
from moto.server import ThreadedMotoServer

# Tests never talk to real AWS: fake credentials, one region, no IMDS lookups.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

# Property tests (marked `property`) take their example counts from a profile. "fast", the
# default, is the fast suite's: 100 examples, enough for the brute-force optimality proofs to
# meet every small shape, in a fixed order so a failure reproduces on every run. "thorough"
# (HYPOTHESIS_PROFILE=thorough, .ci/run's "properties" stage): 400 fresh random examples each.
settings.register_profile("fast", max_examples=100, deadline=None, derandomize=True)
settings.register_profile("thorough", max_examples=400, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


def reset_moto(url: str) -> None:
    """Empty every backend of the moto server at `url` (moto's reset API)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 - loopback
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


@contextmanager
def running_moto() -> Iterator[str]:
    """moto's server on 127.0.0.1 (random port), freshly reset; yields its base URL.

    moto's backends are process-global: a second server in this process has its own
    port and thread (it can be stopped on its own), but not its own state.
    """
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # Without a reset, an earlier server's queues leak into this one.
    reset_moto(url)
    try:
        yield url
    finally:
        server.stop()  # half a second: werkzeug polls for its shutdown


@pytest.fixture(scope="session")
def moto_session() -> Iterator[str]:
    """One moto server for the whole session (per xdist worker: each is its own process)."""
    with running_moto() as url:
        yield url


@pytest.fixture
def moto_server(moto_session: str) -> str:
    """The session's moto server, emptied for this test (a reset costs milliseconds, a new server 0.5 s)."""
    reset_moto(moto_session)
    return moto_session


@pytest.fixture
def own_moto_server() -> Iterator[str]:
    """A moto server of this test's own (for a test that stops it); backends are shared, see running_moto."""
    with running_moto() as url:
        yield url


@pytest.fixture(autouse=True)
def _quiet_emulator_access_log() -> None:
    """moto's werkzeug access log would bury the assertion output."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

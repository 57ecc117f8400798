"""LocalStack (S3 + SQS) in host mode for integration tests.

The fixture is registered for tests/integration/ by its conftest.py (elsewhere:
``pytest_plugins = ["tests.support.localstack"]`` in tests/conftest.py; do not
import it into several test modules, which would start one LocalStack each)::

    @pytest.mark.localstack
    @pytest.mark.timeout(LOCALSTACK_TIMEOUT)
    def test_something(localstack: str) -> None:
        s3 = localstack_client(localstack, "s3")
        queue_url = wire_bucket_to_queue(localstack, "site", "changes")

The session fixture ``localstack`` runs ``deploy/localstack/run-host.sh`` on a
free loopback port, yields the endpoint URL (``http://127.0.0.1:PORT``) and
stops it at the end of the session. The first run on a machine installs
LocalStack's venv (a few minutes), hence the generous timeout; CI can run
``deploy/localstack/run-host.sh install`` beforehand. The fixture skips only
when the script exits 3 (no Python >= 3.12 on this machine); any other failure
is an error.

For the watcher under test, point the standard AWS chain at it:
``AWS_ENDPOINT_URL_S3`` and ``AWS_ENDPOINT_URL_SQS`` = the endpoint, region
``us-east-1``, any credentials. Queue URLs it returns are path style on
127.0.0.1 (``http://127.0.0.1:PORT/queue/us-east-1/000000000000/NAME``).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
import pytest

from tests.support.waiting import free_port
from watcher.commands.demo.emulator import wire_bucket_to_queue as wire_with_notification

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import EventType
    from mypy_boto3_sqs import SQSClient

ROOT = Path(__file__).resolve().parents[2]
RUN_HOST = ROOT / "deploy" / "localstack" / "run-host.sh"
REGION = "us-east-1"
NO_PYTHON_EXIT_CODE = 3
# Seconds a test that uses the fixture may take, including a cold venv install.
LOCALSTACK_TIMEOUT = 900
_START_TIMEOUT = 840
_DUMMY_CREDENTIAL = "test"  # LocalStack accepts any credentials


def _run_host(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(RUN_HOST), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session", name="localstack")
def localstack_fixture() -> Iterator[str]:
    """LocalStack's S3 and SQS on a free loopback port; yields the endpoint URL."""
    port = str(free_port())
    started = _run_host("start", "--port", port, timeout=_START_TIMEOUT)
    if started.returncode == NO_PYTHON_EXIT_CODE:
        pytest.skip(f"LocalStack needs Python >= 3.12: {started.stderr.strip()}")
    if started.returncode != 0:
        _run_host("stop", "--port", port, timeout=60)
        pytest.fail(
            f"run-host.sh start exited {started.returncode}:\n{started.stderr}{started.stdout}",
            pytrace=False,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        yield endpoint
    finally:
        _run_host("stop", "--port", port, timeout=60)


@overload
def localstack_client(endpoint: str, service: Literal["s3"]) -> S3Client: ...
@overload
def localstack_client(endpoint: str, service: Literal["sqs"]) -> SQSClient: ...
def localstack_client(endpoint: str, service: Literal["s3", "sqs"]) -> Any:
    """A boto3 client for LocalStack (dummy credentials, us-east-1)."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=_DUMMY_CREDENTIAL,
        aws_secret_access_key=_DUMMY_CREDENTIAL,
    )


def wire_bucket_to_queue(
    endpoint: str,
    bucket: str,
    queue: str,
    events: tuple[EventType, ...] = ("s3:ObjectCreated:*", "s3:ObjectRemoved:*"),
    *,
    drain_test_event: bool = True,
) -> str:
    """Create ``bucket`` and standard queue ``queue``, allow S3 to send to it and
    configure the bucket's notification; return the queue URL.

    With ``drain_test_event`` the ``s3:TestEvent`` that the configuration
    triggers is received and deleted, so the queue starts empty.
    """
    s3 = localstack_client(endpoint, "s3")
    sqs = localstack_client(endpoint, "sqs")
    queue_url = wire_with_notification(s3, sqs, bucket, queue, events)
    if drain_test_event:
        for body in receive_bodies(endpoint, queue_url, count=1):
            if body.get("Event") != "s3:TestEvent":
                raise AssertionError(f"expected the s3:TestEvent first, got {body!r}")
    return queue_url


def receive_bodies(
    endpoint: str, queue_url: str, count: int, wait_seconds: float = 20.0
) -> list[dict[str, Any]]:
    """Receive (and delete) up to ``count`` messages within ``wait_seconds``;
    return their JSON bodies in arrival order."""
    sqs = localstack_client(endpoint, "sqs")
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait_seconds
    while len(bodies) < count and time.monotonic() < deadline:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=min(10, count - len(bodies)), WaitTimeSeconds=1
        )
        for message in response.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies

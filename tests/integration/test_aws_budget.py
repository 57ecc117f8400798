"""Every AWS call of the daemon has a bounded total time: attempts x (connect + read) within 10 s."""

from __future__ import annotations

from typing import Any

import pytest

from watcher.aws import CALL_BUDGET_SECONDS, ClientFactory
from watcher.core.config import RECEIVE_READ_MARGIN_SECONDS


def _budget(client: Any) -> tuple[int, float, float]:
    config = client.meta.config
    return int(config.retries["total_max_attempts"]), config.connect_timeout, config.read_timeout


@pytest.mark.parametrize(("connect", "read"), [(5, 30), (60, 300), (0.5, 1)])
def test_short_calls_stay_within_the_budget_whatever_the_configured_timeouts(
    connect: float, read: float
) -> None:
    factory = ClientFactory(region="us-east-1", connect_timeout=connect, read_timeout=read)
    for client in (factory.sqs(), factory.s3(), factory.cloudfront(), factory.sts(), factory.events()):
        attempts, connect_timeout, read_timeout = _budget(client)
        assert attempts * (connect_timeout + read_timeout) <= CALL_BUDGET_SECONDS
        assert connect_timeout <= connect
        assert read_timeout <= read


def test_the_long_poll_reads_for_its_wait_time_plus_a_margin_once() -> None:
    attempts, connect_timeout, read_timeout = _budget(
        ClientFactory(region="us-east-1").sqs_receiver(wait_time_seconds=20)
    )
    assert attempts == 1
    assert read_timeout == 20 + RECEIVE_READ_MARGIN_SECONDS
    assert connect_timeout <= 2

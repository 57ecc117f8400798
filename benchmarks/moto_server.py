"""moto's server for the benchmark, with a cheaper clock in its SQS model.

moto's SQS scans every message of a queue several times per call, and each
look at a message builds two naive datetimes to learn the time (about 16 µs),
so the emulator, not the consumers, would dominate every figure. This swaps
that clock for `time.time()` (the same value: seconds since the epoch, UTC)
and changes nothing else; the bare loop and the watcher run against the same
server. Run as `python -m benchmarks.moto_server PORT`.
"""

from __future__ import annotations

import datetime
import sys
import time

import moto.sqs.models as sqs_models
from moto.core import utils
from moto.server import main


def _unix_time(dt: datetime.datetime | None = None) -> float:
    return time.time() if dt is None else utils.unix_time(dt)


def _unix_time_millis(dt: datetime.datetime | None = None) -> float:
    return _unix_time(dt) * 1000.0


if __name__ == "__main__":
    setattr(sqs_models, "unix_time", _unix_time)  # noqa: B010 - moto does not export it
    setattr(sqs_models, "unix_time_millis", _unix_time_millis)  # noqa: B010
    main(["-H", "127.0.0.1", "-p", sys.argv[1]])

"""SIGTERM and SIGINT set the stop event, from a thread of their own.

`threading.Event.set()` must not run inside a signal handler: the handler runs
on the main thread between two bytecodes, and if the main thread holds the
event's internal lock at that moment (inside `stop.wait(...)`, which the main
loop calls ten times a second), `set()` waits for that lock forever. The
daemon then never drains, and the orchestrator has to SIGKILL it. Here the
handler only writes one byte to a pipe (no lock); a small daemon thread reads
it and sets the event like any other thread would. The byte is the signal's number, so
`watcher run` can tell Ctrl-C (SIGINT: exit 130, interrupted) from an orchestrator's stop
(SIGTERM: exit 0).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from types import FrameType

__all__ = ["StopSignal", "stop_on_signals"]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignal:
    """The signal that set the stop event (`signum`), None until one came."""

    signum: int | None = None

    @property
    def interrupted(self) -> bool:
        """Whether it was SIGINT (Ctrl-C)."""
        return self.signum == signal.SIGINT


def stop_on_signals(stop: threading.Event) -> StopSignal:
    """From now on SIGTERM and SIGINT set `stop` (call on the main thread, before anything slow).

    Returns what tells which signal it was, once `stop` is set by one.
    """
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    received = StopSignal()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(OSError):  # a full pipe already carries a byte: enough
            os.write(write_end, bytes([signum]))

    def relay() -> None:
        with contextlib.suppress(OSError):
            first = os.read(read_end, 1)
            received.signum = first[0] if first else None
        stop.set()

    threading.Thread(target=relay, name="signals", daemon=True).start()
    for signum in _SIGNALS:
        signal.signal(signum, on_signal)
    return received

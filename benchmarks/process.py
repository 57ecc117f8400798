"""A measured subprocess: wall time, peak RSS and CPU seconds, from /proc while it runs and wait4 at exit."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    """What one process cost."""

    exit_code: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    rss_samples: list[float] = field(default_factory=list)


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def proc_rss_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a live process in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


class Sampler:
    """Samples a live process's RSS every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.samples: list[float] = []
        self.peak = 0.0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(interval,), daemon=True)
        self._thread.start()

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                rss, hwm = proc_rss_mib(self.pid)
                self.cpu = proc_cpu_seconds(self.pid)
            except (OSError, ValueError, IndexError):
                return  # exited
            self.samples.append(rss)
            self.peak = max(self.peak, hwm)

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()


def run_measured(
    args: list[str], *, env: Mapping[str, str], log: Path, started: threading.Event | None = None
) -> tuple[Measured, str]:
    """Run to completion; returns its cost and its stdout."""
    t0 = time.monotonic()
    with log.open("w") as stderr:
        process = subprocess.Popen(args, env=dict(env), stdout=subprocess.PIPE, stderr=stderr, text=True)
        if started is not None:
            started.set()
        sampler = Sampler(process.pid)
        assert process.stdout is not None
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        sampler.stop()
    # Not ru_maxrss: it counts the forked child's pages from before exec (the parent's size).
    peak = sampler.peak
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(process.returncode, wall, cpu, peak, sampler.samples), out

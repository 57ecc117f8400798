"""The machine the figures come from."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version
from pathlib import Path


def describe() -> list[tuple[str, str]]:
    """(name, value) lines: CPUs, memory, CPU model, kernel, Python and the libraries that matter."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?"
    )
    meminfo = Path("/proc/meminfo").read_text().split()
    memory_gib = int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024 / 1024
    return [
        ("nproc", str(len(os.sched_getaffinity(0)))),
        ("memory", f"{memory_gib:.1f} GiB"),
        ("CPU", model),
        ("kernel", platform.release()),
        ("Python", platform.python_version()),
        ("boto3 / moto", f"{version('boto3')} / {version('moto')}"),
    ]
